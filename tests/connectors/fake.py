"""A test connector and its emulator: the sync engine's harness, over real HTTP.

The "fake" platform holds accounts (customers), locations (sites, which need
location). It wants an ``X-Api-Key`` header (the key ``FAKE_API_KEY`` held
when the emulator was last reset; a wrong key is a 401 whose message quotes
it back, as careless platforms do), refuses a name over 50 characters (400)
and finds accounts and locations by reference (the natural key). The
connector marks ``reference`` and a customer's ``registered_name`` one-off
and everything else repeated.

Registered by the test settings (``SYNC_CONNECTOR_MODULES``), so a real
Celery worker started with them has it too.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from connectors.base import Connector, register
from connectors.choices import Entity, FieldRule
from connectors.http import PlatformClient
from connectors.sandbox import Emulator, EmulatorRequest, EmulatorResponse, register_emulator
from customers.models import Contact, Customer, Site

PLATFORM = "fake"
NAME_LIMIT = 50
COLLECTIONS = {"accounts": "account", "locations": "location", "people": "person"}


class FakeClient(PlatformClient):
    platform_name = "Fake platform"

    def __init__(self, base_url: str, *, api_key: str, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self.api_key = api_key

    def auth_headers(self) -> dict[str, str]:
        return {"X-Api-Key": self.api_key}


@register
class FakeConnector(Connector):
    identifier = PLATFORM
    name = "Fake platform"
    entities = (Entity.CUSTOMER, Entity.SITE, Entity.CONTACT)
    field_rules = {
        Entity.CUSTOMER: {"reference": FieldRule.ONE_OFF, "registered_name": FieldRule.ONE_OFF},
        Entity.SITE: {"reference": FieldRule.ONE_OFF},
    }
    secrets = ("FAKE_API_KEY",)

    def client(self, observer=None, session=None) -> FakeClient:
        return FakeClient(
            self.api_url(),
            api_key=settings.FAKE_API_KEY,
            timeout=self.timeout(),
            observer=observer,
            session=session,
        )

    def dependencies(self, entity, record):
        if entity == Entity.SITE:
            return [(Entity.CUSTOMER, record.customer)]
        if entity == Entity.CONTACT and record.site_id:
            return [(Entity.SITE, record.site)]
        if entity == Entity.CONTACT:
            return [(Entity.CUSTOMER, record.customer)]
        return []

    def missing_key_fields(self, entity, record):
        if entity == Entity.CONTACT and not record.email:
            return [f"Contact {record} has no email, which the fake platform requires."]
        return []

    def build_payload(self, entity, record) -> dict[str, Any]:
        if entity == Entity.CUSTOMER:
            customer: Customer = record
            return {
                "reference": f"C{customer.pk}",
                "name": customer.name,
                "status": customer.status,
                "email": customer.email,
                "registered_name": customer.registered_company_name,
            }
        if entity == Entity.SITE:
            site: Site = record
            return {
                "reference": f"S{site.pk}",
                "name": site.name,
                "account": self._external_id(Entity.CUSTOMER, site.customer_id),
            }
        contact: Contact = record
        return {
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "email": contact.email,
        }

    def _external_id(self, entity: str, object_id: int) -> str:
        from connectors.selectors import binding_for

        binding = binding_for(PLATFORM, entity, entity, object_id)
        return binding.external_id if binding else ""

    def lookup(self, entity, record, payload, client):
        if entity == Entity.CONTACT:
            return None
        collection = "accounts" if entity == Entity.CUSTOMER else "locations"
        found = client.request("GET", collection, params={"reference": payload["reference"]})
        return str(found[0]["id"]) if found else None

    def create(self, entity, record, payload, client):
        collection = {"customer": "accounts", "site": "locations", "contact": "people"}[entity]
        return str(client.request("POST", collection, json_body=payload)["id"])

    def update(self, entity, record, external_id, payload, client):
        collection = {"customer": "accounts", "site": "locations", "contact": "people"}[entity]
        client.request("PATCH", f"{collection}/{external_id}", json_body=payload)


@register_emulator
class FakeEmulator(Emulator):
    platform = PLATFORM
    routes = [
        ("GET", r"(?P<collection>accounts|locations|people)", "list_records"),
        ("POST", r"(?P<collection>accounts|locations|people)", "create_record"),
        ("GET", r"(?P<collection>accounts|locations|people)/(?P<pk>\d+)", "get_record"),
        ("PATCH", r"(?P<collection>accounts|locations|people)/(?P<pk>\d+)", "update_record"),
    ]

    def initial_state(self) -> dict[str, Any]:
        return {name: {} for name in COLLECTIONS}

    def reset(self) -> None:
        super().reset()
        # The key it accepts, fixed here: a test that changes FAKE_API_KEY afterwards
        # makes the connector send a wrong one.
        self.api_key = settings.FAKE_API_KEY

    def authenticate(self, request: EmulatorRequest) -> EmulatorResponse | None:
        given = request.headers.get("X-Api-Key", "")
        if given != self.api_key:
            return EmulatorResponse(401, {"message": f"Invalid API key {given!r}"})
        return None

    def _invalid(self, body: Any) -> str:
        if not isinstance(body, dict):
            return "Send a JSON object."
        if "name" in body and len(body["name"] or "") > NAME_LIMIT:
            return f"name may be at most {NAME_LIMIT} characters"
        return ""

    def list_records(self, request, collection):
        records = self.state[collection].values()
        if "reference" in request.query:
            records = [r for r in records if r.get("reference") == request.query["reference"]]
        return EmulatorResponse(200, list(records))

    def create_record(self, request, collection):
        problem = self._invalid(request.body)
        if problem:
            return EmulatorResponse(400, {"message": problem})
        if (
            collection == "locations"
            and str(request.body.get("account")) not in self.state["accounts"]
        ):
            return EmulatorResponse(400, {"message": "account does not exist"})
        pk = self.next_id(collection)
        record = {**request.body, "id": pk}
        self.state[collection][str(pk)] = record
        return EmulatorResponse(201, record)

    def get_record(self, request, collection, pk):
        record = self.state[collection].get(pk)
        if record is None:
            return EmulatorResponse(404, {"message": f"No {COLLECTIONS[collection]} {pk}"})
        return EmulatorResponse(200, record)

    def update_record(self, request, collection, pk):
        record = self.state[collection].get(pk)
        if record is None:
            return EmulatorResponse(404, {"message": f"No {COLLECTIONS[collection]} {pk}"})
        problem = self._invalid(request.body)
        if problem:
            return EmulatorResponse(400, {"message": problem})
        record.update(request.body)
        return EmulatorResponse(200, record)
