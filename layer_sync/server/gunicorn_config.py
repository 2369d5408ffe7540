"""gunicorn settings of layer_sync: `-c python:layer_sync.server.gunicorn_config`.

Records the address gunicorn listens on before its workers start (they inherit it), so the
connectors of the embedded mode reach this server's own emulators (``layer_sync.server``).
In the embedded mode (no Celery broker) each worker also runs the sync sweeper, as
``runserver`` does: nothing else would retry a job that failed for a while.

Command-line options (``--bind``, ``--workers``, ``--timeout``, ...) are given as usual
and win over these defaults.
"""

import os

from layer_sync.server import loopback_url, server_url_record

# A worker silent this long is killed (its request answered 502 by the proxy); gunicorn's
# default is 30 s. GUNICORN_TIMEOUT overrides it.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# The request line and each header are bounded (gunicorn's defaults, said here); the
# body's limit is Django's DATA_UPLOAD_MAX_MEMORY_SIZE and the TLS proxy's.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190


def when_ready(server) -> None:
    """In the arbiter, once the sockets are bound and before any worker is forked."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "layer_sync.settings")  # as wsgi.py
    for listener in server.LISTENERS:
        address = listener.sock.getsockname()
        if isinstance(address, tuple):  # TCP; a unix socket cannot be called over HTTP
            scheme = "https" if server.cfg.is_ssl else "http"
            url = loopback_url(address[0], address[1], scheme)
            server_url_record(url)
            server.log.info("This server's own address (its emulators, if served): %s", url)
            return


def post_fork(server, worker) -> None:
    """In each worker, before it loads the application: run the embedded sweeper there."""
    os.environ["LAYER_SYNC_EMBEDDED_SWEEPER"] = "1"
