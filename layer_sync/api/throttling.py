"""The API's rate limits: per signed-in user, and per address for anonymous callers.

Rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (``API_THROTTLE_USER_RATE``
and ``API_THROTTLE_ANON_RATE`` in the environment), read on every request rather than
once at import as DRF's own classes do, so a test or a settings change takes effect.
The client's address is ``layer_sync.client_address``'s, the same the login lockout uses.

DRF checks a request's throttles only after its permissions, and every endpoint refuses
anonymous callers: a request with no or a wrong token is answered 401 before any throttle
counts it. ``failed_authentication_throttle`` closes that gap: the API's exception handler
counts each refused authentication against the anonymous rate of its address, and once
the rate is spent answers 429 (with ``Retry-After``) instead of 401, so guessing tokens
is throttled like guessing passwords.
"""

from __future__ import annotations

from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from layer_sync.client_address import client_address


class _RatesFromSettings:
    """A throttle whose rate is read from the settings each time it is made."""

    scope: str

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request: Request) -> str:
        return client_address(request) or "unknown"


class AnonymousRateThrottle(_RatesFromSettings, AnonRateThrottle):
    """Requests without a signed-in user, per client address (scope ``anon``)."""


class SignedInUserRateThrottle(_RatesFromSettings, UserRateThrottle):
    """Requests of a signed-in user (token or session), per user (scope ``user``)."""


def failed_authentication_throttle(request: Request, view) -> Throttled | None:
    """Count a refused authentication against its address's anonymous rate; the Throttled
    error to answer instead of 401 once the rate is spent (None while it is not)."""
    throttle = AnonymousRateThrottle()
    if throttle.rate is None or throttle.allow_request(request, view):
        return None
    return Throttled(wait=throttle.wait())
