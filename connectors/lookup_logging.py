"""An emulator's "not found" answer to a look-up is logged at DEBUG, not as a warning.

Platforms answer a search that finds nothing with a 404 (Abillity even answers an empty
list so: docs/abillity.md), and the sync engine looks a record up before it creates one
(the natural-key look-up). In the embedded mode the emulators are served by this same
server, so Django logged each such answer as a WARNING twice over (``django.request``'s
"Not Found: ..." and the development server's request line), and a good first sync read
like a list of failures. A 404 to a GET under ``/sandbox/<platform>/`` is such a look-up:
it is logged once, at DEBUG, on the ``connectors.sandbox`` logger. Any other 404 (a write
to a missing record, a page that does not exist) stays a warning.
"""

from __future__ import annotations

import logging

SANDBOX_PREFIX = "/sandbox/"
lookup_logger = logging.getLogger("connectors.sandbox")


def _request_line_path(record: logging.LogRecord) -> tuple[str, str]:
    """The method and path of the request a log record is about ("" when unknown)."""
    request = getattr(record, "request", None)
    method = getattr(request, "method", None)
    path = getattr(request, "path", None)
    if isinstance(method, str) and isinstance(path, str):  # django.request: an HttpRequest
        return method, path
    args = record.args if isinstance(record.args, tuple) else ()
    if args and isinstance(args[0], str):  # django.server: '"GET /path HTTP/1.1" 404 22'
        parts = args[0].split(" ")
        if len(parts) >= 2:
            return parts[0], parts[1]
    return "", ""


def is_expected_lookup_miss(record: logging.LogRecord) -> bool:
    """A 404 answered to a GET of a platform emulator's API."""
    if getattr(record, "status_code", None) != 404:
        return False
    method, path = _request_line_path(record)
    return method == "GET" and path.startswith(SANDBOX_PREFIX) and "/_emulator/" not in path


class ExpectedLookupFilter(logging.Filter):
    """On ``django.request`` and ``django.server``: an emulator look-up that found nothing
    is logged again at DEBUG on ``connectors.sandbox`` and dropped here."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not is_expected_lookup_miss(record):
            return True
        if lookup_logger.isEnabledFor(logging.DEBUG):
            lookup_logger.debug("Look-up found nothing (404): %s", record.getMessage())
        return False


def install() -> None:
    """Attach the filter to Django's request loggers (once; logging is configured by then)."""
    for name in ("django.request", "django.server"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, ExpectedLookupFilter) for f in logger.filters):
            logger.addFilter(ExpectedLookupFilter())
