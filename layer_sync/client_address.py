"""The address a request came from, for the login lockout and the API's rate limits.

Behind a proxy (the TLS proxy in front of gunicorn), ``REMOTE_ADDR`` is the proxy's
address, so every client would share one lockout and one rate. With
``DJANGO_TRUSTED_PROXY_COUNT`` set to the number of proxies in front of the app, the
client's address is taken from ``X-Forwarded-For`` as the proxy nearest the client wrote
it (the entry that many places from the right), the same rule DRF's ``NUM_PROXIES`` uses.
Entries further left are set by the client and never trusted. With 0 (the default, no
proxy), ``X-Forwarded-For`` is ignored: a client could otherwise pick its own address.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's IP address as this deployment can trust it ("" when unknown)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies > 0 and forwarded:
        entries = [entry.strip() for entry in forwarded.split(",")]
        candidate = entries[-min(proxies, len(entries))]
        if _is_address(candidate):
            return candidate
    return remote if _is_address(remote) else ""


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
