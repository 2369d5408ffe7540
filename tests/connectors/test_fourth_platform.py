"""A fourth platform, declared with its emulator in this file (docs/sync-engine.md, "Adding a
platform"): a customer and its site reach it over real HTTP through the engine alone."""

import pytest

from billing.models import BillingPlatform
from connectors import sandbox
from connectors.base import Connector, register, unregister
from connectors.choices import Entity, FieldRule, Operation
from connectors.engine.entity_settings import entity_settings_ensure
from connectors.engine.records import PlatformRecord
from connectors.models import SyncJob
from connectors.selectors import binding_for
from tests.factories import CustomerFactory, SiteFactory

PLATFORM, ONE_OFF = "ledger", FieldRule.ONE_OFF
KINDS, ID = r"(?P<kind>clients|branches)", r"/(?P<pk>\d+)"


class LedgerEmulator(sandbox.Emulator):
    platform = PLATFORM
    routes = [("GET", KINDS, "find"), ("POST", KINDS, "make"), ("PATCH", KINDS + ID, "change")]

    def initial_state(self):
        return {"clients": {}, "branches": {}}

    def find(self, request, kind):
        return sandbox.EmulatorResponse(200, self.where(kind, "ref", request.query.get("ref")))

    def make(self, request, kind):
        pk = self.next_id(kind)
        return sandbox.EmulatorResponse(201, self.add(kind, pk, {**request.body, "id": pk}))

    def change(self, request, kind, pk):
        self.state[kind][pk].update(request.body)
        return sandbox.EmulatorResponse(200, self.state[kind][pk])


def ledger_record(role: str, entity: str, kind: str, payload, **fields) -> PlatformRecord:
    """A Ledger record whose ``ref`` (one-off) is its natural key, looked up before a create."""

    def lookup(context, record, sent):
        found = context.client.request("GET", kind, params={"ref": sent["ref"]})
        return str(found[0]["id"]) if found else None

    def create(context, record, sent):
        return str(context.client.request("POST", kind, json_body=sent)["id"])

    def update(context, record, external_id, body):
        context.client.request("PATCH", f"{kind}/{external_id}", json_body=body)

    def build(context, record):
        return {"ref": f"{role}{record.pk}", **payload(context, record)}

    return PlatformRecord(role, entity, build, create, update, lookup, {"ref": ONE_OFF, **fields})


def branch(context, site) -> dict:
    client = binding_for(PLATFORM, "client", Entity.CUSTOMER, site.customer_id)
    return {"name": site.name, "client": client.external_id}


CLIENT = ledger_record("client", Entity.CUSTOMER, "clients", lambda _, c: {"name": c.name})
BRANCH = ledger_record("branch", Entity.SITE, "branches", branch, client=ONE_OFF)


class LedgerConnector(Connector):
    identifier, name, entities = PLATFORM, "Ledger", (Entity.CUSTOMER, Entity.SITE)
    records = {Entity.CUSTOMER: (CLIENT,), Entity.SITE: (BRANCH,)}

    def dependencies(self, entity, record):
        return [(Entity.CUSTOMER, record.customer)] if entity == Entity.SITE else []


@pytest.fixture
def ledger(transactional_db, live_server, settings):
    settings.SANDBOX_BASE_URL = live_server.url
    register(LedgerConnector)
    sandbox.register_emulator(LedgerEmulator)
    BillingPlatform.objects.create(code=PLATFORM, name="Ledger", integration_enabled=True)
    entity_settings_ensure()
    yield sandbox.emulator_for(PLATFORM)
    unregister(PLATFORM)
    sandbox.unregister_emulator(PLATFORM)


def test_a_declared_fourth_platform_syncs_a_customer_and_its_site(ledger):
    site = SiteFactory(customer=CustomerFactory(name="Fourth Ltd"), name="Head office")
    (client,), (made,) = ledger.state["clients"].values(), ledger.state["branches"].values()
    assert client == {"ref": f"client{site.customer_id}", "name": "Fourth Ltd", "id": 1}
    assert made["client"] == "1"  # its customer's client, synced first
    jobs = SyncJob.objects.filter(platform=PLATFORM, entity=Entity.SITE, object_id=site.pk)
    job = jobs.get()
    assert (job.status, job.operation, job.external_id) == ("succeeded", "inserted", "1")
    site.name = "Main office"
    site.save()
    # docs/sync-engine.md, "Field rules": a change sends the repeated fields, not the one-off.
    assert ledger.calls("PATCH")[-1]["body"] == {"name": "Main office"}
    assert jobs.latest("id").operation == Operation.UPDATED
