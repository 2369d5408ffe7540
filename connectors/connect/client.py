"""A client of the essensys Connect API as this project assumes it (docs/connect.md).

Connect publishes no API documentation, so the contract is the project's own:
REST over HTTPS under ``CONNECT_API_URL`` (``…/api/v1/``), JSON bodies, a
bearer token (``CONNECT_API_TOKEN``). HTTP and payloads only: nothing of
Django models. Errors map to the engine's classes (``PlatformClient``); a
create refused because the Billing Reference is taken is
``BillingReferenceTaken``, carrying the id of the client that has it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

import requests

from ..errors import ConfigurationError, PermanentError
from ..http import PlatformClient
from ..redaction import register_secret

CLIENT_TYPES = ("Residential", "Virtual")
STATUS_AWAITING_PROVISIONING = "Awaiting Provisioning"


class ClientPayload(TypedDict):
    """What ``POST clients`` takes (every field required)."""

    name: str
    type: str  # Residential or Virtual
    start_date: str  # ISO 8601 with offset: the moment of sending
    end_date: str  # one year after start_date
    billing_reference: str


class BillingReferenceTaken(PermanentError):
    """Connect already has a client with this Billing Reference (409)."""

    def __init__(self, message: str, *, client_id: str) -> None:
        super().__init__(message, status_code=409)
        self.client_id = client_id


class ConnectClient(PlatformClient):
    platform_name = "Connect"

    def __init__(self, base_url: str, *, token: str, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self.token = token
        register_secret(token)  # masked in every attempt row, message and log line

    def auth_headers(self) -> dict[str, str]:
        if not self.token:
            raise ConfigurationError("The Connect API token is not set: CONNECT_API_TOKEN.")
        return {"Authorization": f"Bearer {self.token}"}

    def error_message(self, response: requests.Response) -> str:
        """Connect's ``message``, with the per-field ``errors`` when it gives them."""
        try:
            body = response.json()
        except ValueError:
            return super().error_message(response)
        if isinstance(body, Mapping) and isinstance(body.get("errors"), Mapping):
            details = "; ".join(
                f"{name}: {' '.join(map(str, _as_list(messages)))}"
                for name, messages in body["errors"].items()
            )
            return f"{body.get('message', 'Refused')} ({details})"
        return super().error_message(response)

    # --- clients --------------------------------------------------------------------
    def clients_by_billing_reference(self, billing_reference: str) -> list[dict[str, Any]]:
        """Clients whose Billing Reference is exactly ``billing_reference`` (none: [])."""
        result = self.request("GET", "clients", params={"billing_reference": billing_reference})
        return list((result or {}).get("results", []))

    def client_get(self, client_id: str) -> dict[str, Any]:
        return self.request("GET", f"clients/{client_id}")

    def client_create(self, payload: ClientPayload) -> dict[str, Any]:
        """Create a client; its status is Awaiting Provisioning. Answers the new client.

        Raises BillingReferenceTaken when another client has the Billing Reference
        (the create of an earlier attempt whose answer was lost, say).
        """
        try:
            return self.request("POST", "clients", json_body=dict(payload))
        except PermanentError as error:
            if error.status_code != 409:
                raise
            existing = _conflicting_client_id(self._last_conflict)
            if not existing:
                raise
            raise BillingReferenceTaken(error.message, client_id=existing) from None

    # The body of the last 409, for client_create (PlatformClient keeps only the message).
    _last_conflict: Any = None

    def _result(self, response: requests.Response) -> Any:
        if response.status_code == 409:
            try:
                self._last_conflict = response.json()
            except ValueError:
                self._last_conflict = None
        return super()._result(response)


def _conflicting_client_id(body: Any) -> str:
    if isinstance(body, Mapping) and body.get("client_id") not in (None, ""):
        return str(body["client_id"])
    return ""


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
