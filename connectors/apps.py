import logging
import os
import sys
import threading
import time
from importlib import import_module

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate

logger = logging.getLogger(__name__)

# The platform connectors that ship with the product; SYNC_CONNECTOR_MODULES adds others.
BUILT_IN_CONNECTORS = (
    "connectors.abillity.sync",
    "connectors.affinity.sync",
    "connectors.connect.sync",
)


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = "Billing platform sync"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import lookup_logging
        from .receivers import connect_receivers

        lookup_logging.install()

        for module in (*BUILT_IN_CONNECTORS, *settings.SYNC_CONNECTOR_MODULES):
            import_module(module)  # each registers its connector (and emulator)
        connect_receivers()
        import_module("connectors.affinity.background")  # Affinity's file imports
        post_migrate.connect(entity_settings_create, sender=self, dispatch_uid="sync_settings")
        if _serving_embedded():
            _start_embedded_sweeper()


def entity_settings_create(**kwargs) -> None:
    """Give every registered connector's entities a setting row (active, export)."""
    from .engine.entity_settings import entity_settings_ensure

    entity_settings_ensure(using=kwargs.get("using", "default"))


def _serving_embedded() -> bool:
    """A server with eager tasks (runserver, or gunicorn with layer_sync's config): nobody
    runs Celery beat, so we sweep."""
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

    stop = threading.Event()
    pruned_at = time.monotonic()

    def loop() -> None:
        nonlocal pruned_at
        while not stop.wait(settings.SYNC_SWEEP_INTERVAL):
            try:
                sync_sweep()
                jobs_process_due()
                if time.monotonic() - pruned_at >= settings.SYNC_HISTORY_PRUNE_INTERVAL:
                    pruned_at = time.monotonic()
                    sync_history_prune()
            except Exception:
                logger.exception("The embedded sync sweeper failed; it will try again")

    threading.Thread(target=loop, name="sync-sweeper", daemon=True).start()
