"""The sync engine's app, and the base of the platform packages' apps.

What the engine and each platform plug into the other apps (connectors, emulators,
direct routes, admin panels, secret settings) is registered here, in ``ready``, into the
project's registry (``layer_sync.registry``): importing a module registers nothing.
"""

import logging
import os
import sys
import threading
import time
from importlib import import_module
from typing import ClassVar

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate
from django.utils.module_loading import import_string

from layer_sync.registry import registry

logger = logging.getLogger(__name__)


class ConnectorsConfig(AppConfig):
    default = True  # the app of "connectors" (PlatformConfig, below, is the platforms')
    name = "connectors"
    verbose_name = "Billing platform sync"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import lookup_logging
        from .admin import admin_panels_register
        from .receivers import connect_receivers

        lookup_logging.install()
        admin_panels_register()
        # Connectors outside the product's platform packages: each module registers its
        # connector (and emulator) as it is imported, here.
        for module in settings.SYNC_CONNECTOR_MODULES:
            import_module(module)
        connect_receivers()
        post_migrate.connect(entity_settings_create, sender=self, dispatch_uid="sync_settings")
        if _serving_embedded():
            _start_embedded_sweeper()


class PlatformConfig(AppConfig):
    """The app of a platform package (``connectors/<platform>/``, in ``INSTALLED_APPS``
    after ``connectors``): ``ready`` registers its connector (``connector``, a dotted
    path) and, where ``SANDBOX_EMULATORS_ENABLED``, its emulator (``emulator``). A
    platform with more to register (a direct route, a panel) extends ``ready``."""

    connector: ClassVar[str] = ""
    emulator: ClassVar[str] = ""

    def ready(self) -> None:
        from .base import register

        register(import_string(self.connector))
        if self.emulator and settings.SANDBOX_EMULATORS_ENABLED:
            # The store itself (what connectors.sandbox.register_emulator writes): this
            # module, loaded in production too, imports no emulator code of its own.
            emulator = import_string(self.emulator)
            registry["emulators"][emulator.platform] = emulator()


def entity_settings_create(**kwargs) -> None:
    """Give every registered connector's entities a setting row (active, export)."""
    from .engine.entity_settings import entity_settings_ensure

    entity_settings_ensure(using=kwargs.get("using", "default"))


def _serving_embedded() -> bool:
    """A server with eager tasks (runserver, or gunicorn with layer_sync's config): nobody
    runs Celery beat, so we sweep (and run the sync schedules that are due)."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        return False
    # A gunicorn worker started with layer_sync.server.gunicorn_config.
    if os.environ.get("LAYER_SYNC_EMBEDDED_SWEEPER") == "1":
        return True
    return (
        len(sys.argv) > 1
        and sys.argv[1] == "runserver"
        # The autoreloader's child, not its parent; or the only process with --noreload.
        and (os.environ.get("RUN_MAIN") == "true" or "--noreload" in sys.argv)
    )


def _start_embedded_sweeper() -> None:
    from .engine.sweep import jobs_process_due, sync_sweep
    from .retention import sync_history_prune
    from .schedules import sync_schedules_run_due

    stop = threading.Event()
    pruned_at = time.monotonic()

    def loop() -> None:
        nonlocal pruned_at
        while not stop.wait(settings.SYNC_SWEEP_INTERVAL):
            try:
                sync_sweep()
                jobs_process_due()
                sync_schedules_run_due()  # no beat here: the staff's sync schedules
                if time.monotonic() - pruned_at >= settings.SYNC_HISTORY_PRUNE_INTERVAL:
                    pruned_at = time.monotonic()
                    sync_history_prune()
            except Exception:
                logger.exception("The embedded sync sweeper failed; it will try again")

    threading.Thread(target=loop, name="sync-sweeper", daemon=True).start()
