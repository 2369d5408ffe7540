"""The Connect emulator enforces the documented contract (docs/connect.md), over real HTTP."""

import pytest
import requests

from connectors.connect.client import BillingReferenceTaken, ConnectClient
from connectors.errors import ConfigurationError, PermanentError


@pytest.fixture(autouse=True)
def _database(transactional_db):
    """The live server's database, restored after each test (see tests/conftest.py)."""


VALID = {
    "name": "Acme Ltd",
    "type": "Residential",
    "start_date": "2025-03-04T10:15:30Z",
    "end_date": "2026-03-04T10:15:30Z",
    "billing_reference": "42",
}


def test_a_new_client_is_awaiting_provisioning(connect_client, connect_emulator):
    client = connect_client.client_create(VALID)

    assert client["status"] == "Awaiting Provisioning"
    assert {k: client[k] for k in VALID} == VALID
    assert client["url"].endswith(f"/sandbox/connect/portal/clients/{client['id']}")
    stored = connect_emulator.state["clients"][str(client["id"])]
    assert stored["status"] == "Awaiting Provisioning"


def test_calls_without_the_bearer_token_are_refused(live_server, connect_emulator):
    wrong = ConnectClient(f"{live_server.url}/sandbox/connect/", token="not-the-token")
    with pytest.raises(ConfigurationError, match="401"):
        wrong.clients_by_billing_reference("42")
    answer = requests.get(f"{live_server.url}/sandbox/connect/clients", timeout=5)
    assert answer.status_code == 401


@pytest.mark.parametrize("missing", sorted(VALID))
def test_every_client_field_is_required(connect_client, connect_emulator, missing):
    body = {k: v for k, v in VALID.items() if k != missing}
    with pytest.raises(PermanentError, match=f"{missing}: This field is required"):
        connect_client.client_create(body)
    assert connect_emulator.state["clients"] == {}


def test_unknown_fields_are_refused(connect_client):
    with pytest.raises(PermanentError, match="contacts: Unknown field"):
        connect_client.client_create({**VALID, "contacts": []})


@pytest.mark.parametrize("kind", ["residential", "Custom", "Business"])
def test_only_residential_or_virtual_clients_are_taken(connect_client, kind):
    with pytest.raises(PermanentError, match="type: One of: Residential, Virtual"):
        connect_client.client_create({**VALID, "type": kind})


def test_virtual_clients_are_taken(connect_client):
    assert connect_client.client_create({**VALID, "type": "Virtual"})["type"] == "Virtual"


def test_dates_need_an_offset_and_the_end_after_the_start(connect_client):
    with pytest.raises(PermanentError, match="start_date: An ISO 8601"):
        connect_client.client_create({**VALID, "start_date": "2025-03-04T10:15:30"})
    with pytest.raises(PermanentError, match="end_date: Must be after start_date"):
        connect_client.client_create({**VALID, "end_date": VALID["start_date"]})


def test_a_second_client_with_the_same_billing_reference_is_refused(connect_client):
    first = connect_client.client_create(VALID)

    with pytest.raises(BillingReferenceTaken) as refused:
        connect_client.client_create({**VALID, "name": "Someone else"})

    assert refused.value.client_id == str(first["id"])


def test_clients_are_looked_up_by_their_exact_billing_reference(connect_client):
    connect_client.client_create(VALID)
    connect_client.client_create({**VALID, "billing_reference": "420"})

    found = connect_client.clients_by_billing_reference("42")

    assert [c["billing_reference"] for c in found] == ["42"]
    assert connect_client.clients_by_billing_reference("4") == []


def test_convert_activates_a_client_awaiting_provisioning(connect_client):
    client = connect_client.client_create(VALID)

    converted = connect_client.request("POST", f"clients/{client['id']}/convert")

    assert converted["status"] == "Active"
    with pytest.raises(PermanentError, match="409"):
        connect_client.request("POST", f"clients/{client['id']}/convert")
