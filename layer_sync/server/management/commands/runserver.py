"""``runserver``, recording the address it serves on before it serves.

Django's development server (with the static files app's additions), unchanged except
that the connectors learn where this server's emulators are (``layer_sync.server``).
"""

import signal
import sys
import threading

from django.contrib.staticfiles.management.commands.runserver import Command as StaticRunserver

from layer_sync.server import loopback_url, server_url_record


class Command(StaticRunserver):
    def inner_run(self, *args, **options):
        # Runs in the process that serves (the autoreloader's child, or the only one).
        server_url_record(loopback_url(self.addr, self.port, self.protocol))
        if threading.current_thread() is threading.main_thread():
            # --noreload: stop on SIGTERM as on Ctrl-C, so the published address is
            # removed (the autoreloader's child already does this).
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        return super().inner_run(*args, **options)
