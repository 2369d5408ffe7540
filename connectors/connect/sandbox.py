"""An emulator of the essensys Connect API as docs/connect.md defines it (/sandbox/connect/).

Connect has no public API, so this emulator *is* the contract the connector
assumes, enforced exactly:

- ``Authorization: Bearer <token>`` on every call (401 otherwise);
- ``GET clients?billing_reference=`` lists the clients with exactly that
  Billing Reference (``{"results": [...], "count": n}``);
- ``POST clients`` takes ``name`` (1 to 100 characters), ``type``
  (``Residential`` or ``Virtual``), ``start_date`` and ``end_date`` (ISO 8601
  with an offset, end after start) and ``billing_reference`` (1 to 50
  characters), all required and nothing else; refusals are 400
  ``{"message", "errors": {field: [...]}}``. A Billing Reference already in
  use is a 409 naming the client that has it (``client_id``). A new client's
  status is ``Awaiting Provisioning``;
- ``GET clients/<id>``; ``POST clients/<id>/convert`` (Connect's own
  *convert* button: Awaiting Provisioning → Active);
- ``GET portal/clients/<id>`` stands in for the client's page in Connect's
  web application (the link staff follow), without the token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings

from ..sandbox import Emulator, EmulatorRequest, EmulatorResponse
from .client import CLIENT_TYPES, STATUS_AWAITING_PROVISIONING
from .constants import BILLING_REFERENCE_MAX, NAME_MAX, PLATFORM, SANDBOX_TOKEN

CLIENT_FIELDS = ("name", "type", "start_date", "end_date", "billing_reference")
PORTAL_PREFIX = "portal/"


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


class ConnectEmulator(Emulator):
    platform = PLATFORM
    routes = [
        ("GET", r"clients", "client_list"),
        ("POST", r"clients", "client_create"),
        ("GET", r"clients/(?P<pk>[0-9]+)", "client_get"),
        ("POST", r"clients/(?P<pk>[0-9]+)/convert", "client_convert"),
        ("GET", r"portal/clients/(?P<pk>[0-9]+)", "portal_client"),
    ]

    def initial_state(self) -> dict[str, Any]:
        return {"clients": {}}

    def authenticate(self, request: EmulatorRequest) -> EmulatorResponse | None:
        if request.path.startswith(PORTAL_PREFIX):
            return None  # the web page stand-in: a browser carries no API token
        expected = f"Bearer {settings.CONNECT_API_TOKEN or SANDBOX_TOKEN}"
        headers = {k.lower(): v for k, v in request.headers.items()}
        if headers.get("authorization") != expected:
            return EmulatorResponse(401, {"message": "A valid bearer token is required."})
        return None

    # --- helpers ----------------------------------------------------------------------
    def _client(self, pk: str) -> dict[str, Any] | None:
        return self.state["clients"].get(str(pk))

    @staticmethod
    def _not_found(pk: str) -> EmulatorResponse:
        return EmulatorResponse(404, {"message": f"No client with id {pk}."})

    def _with_url(self, client: dict[str, Any], request: EmulatorRequest) -> dict[str, Any]:
        host = request.headers.get("Host") or request.headers.get("host") or "127.0.0.1"
        return {**client, "url": f"http://{host}/sandbox/connect/portal/clients/{client['id']}"}

    # --- handlers -------------------------------------------------------------------
    def client_list(self, request: EmulatorRequest) -> EmulatorResponse:
        wanted = request.query.get("billing_reference")
        clients = list(self.state["clients"].values())
        if wanted is not None:
            clients = [c for c in clients if c["billing_reference"] == wanted]
        results = [self._with_url(c, request) for c in clients]
        return EmulatorResponse(200, {"results": results, "count": len(results)})

    def client_create(self, request: EmulatorRequest) -> EmulatorResponse:
        body = request.body
        if not isinstance(body, dict):
            return EmulatorResponse(400, {"message": "Send a JSON object.", "errors": {}})
        errors: dict[str, list[str]] = {}
        for name in sorted(set(body) - set(CLIENT_FIELDS)):
            errors.setdefault(name, []).append("Unknown field.")
        for name in CLIENT_FIELDS:
            if body.get(name) in (None, ""):
                errors.setdefault(name, []).append("This field is required.")
        name = body.get("name")
        if name not in (None, "") and (
            not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX
        ):
            errors.setdefault("name", []).append(f"Text of 1 to {NAME_MAX} characters.")
        kind = body.get("type")
        if kind not in (None, "") and kind not in CLIENT_TYPES:
            errors.setdefault("type", []).append(f"One of: {', '.join(CLIENT_TYPES)}.")
        moments = {}
        for field in ("start_date", "end_date"):
            value = body.get(field)
            if value in (None, ""):
                continue
            moments[field] = _moment(value)
            if moments[field] is None:
                errors.setdefault(field, []).append(
                    "An ISO 8601 date and time with an offset (2025-01-31T09:30:00Z)."
                )
        start, end = moments.get("start_date"), moments.get("end_date")
        if start and end and end <= start:
            errors.setdefault("end_date", []).append("Must be after start_date.")
        reference = body.get("billing_reference")
        if reference not in (None, "") and (
            not isinstance(reference, str) or len(reference) > BILLING_REFERENCE_MAX
        ):
            errors.setdefault("billing_reference", []).append(
                f"Text of 1 to {BILLING_REFERENCE_MAX} characters."
            )
        if errors:
            return EmulatorResponse(400, {"message": "The client is not valid.", "errors": errors})
        taken = next(
            (c for c in self.state["clients"].values() if c["billing_reference"] == reference),
            None,
        )
        if taken is not None:
            return EmulatorResponse(
                409,
                {
                    "message": f"Client {taken['id']} already has the billing reference "
                    f"{reference}.",
                    "client_id": taken["id"],
                },
            )
        pk = self.next_id("client")
        client = {
            "id": pk,
            "name": name,
            "type": kind,
            "status": STATUS_AWAITING_PROVISIONING,
            "start_date": body["start_date"],
            "end_date": body["end_date"],
            "billing_reference": reference,
            "created_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        }
        self.state["clients"][str(pk)] = client
        return EmulatorResponse(201, self._with_url(client, request))

    def client_get(self, request: EmulatorRequest, pk: str) -> EmulatorResponse:
        client = self._client(pk)
        if client is None:
            return self._not_found(pk)
        return EmulatorResponse(200, self._with_url(client, request))

    def client_convert(self, request: EmulatorRequest, pk: str) -> EmulatorResponse:
        client = self._client(pk)
        if client is None:
            return self._not_found(pk)
        if client["status"] != STATUS_AWAITING_PROVISIONING:
            return EmulatorResponse(
                409,
                {
                    "message": f"Client {pk} is {client['status']}: only clients awaiting "
                    "provisioning are converted."
                },
            )
        client["status"] = "Active"
        return EmulatorResponse(200, self._with_url(client, request))

    def portal_client(self, request: EmulatorRequest, pk: str) -> EmulatorResponse:
        client = self._client(pk)
        if client is None:
            return self._not_found(pk)
        return EmulatorResponse(200, {"page": "Connect client (sandbox)", **client})
