"""Send to Connect (seed 004) through POST /api/v1/customers/{id}/send-to-connect/ and its
service, against the emulator over real HTTP: the client's fields and dates, the type rule,
exactly one client (double posts, retries after a timeout, concurrency), the refusals."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from rest_framework.test import APIClient

from billing.models import AccountCode, BillingPlatform
from connectors.connect import client as connect_client_module
from connectors.connect.mappers import one_year_later
from connectors.connect.services import connect_client_send
from connectors.models import Binding, SyncJob
from customers import services as customer_services
from customers.models import AccountType, Customer
from tests.factories import (
    AccountCodeFactory,
    AccountTypeFactory,
    ContactFactory,
    CustomerFactory,
    LeadFactory,
)
from tests.helpers import on_postgresql, run_concurrently

from .conftest import user_with


def send_url(customer: Customer) -> str:
    return reverse("customer-send-to-connect", args=[customer.pk])


def clients(emulator) -> list[dict]:
    return list(emulator.state["clients"].values())


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_send_creates_a_client_named_after_the_customer_with_its_id_as_billing_reference(
    connect, sender_api
):
    customer = CustomerFactory(name="Acme Telecoms")

    answer = sender_api.post(send_url(customer))

    assert answer.status_code == 201, answer.json()
    [client] = clients(connect)
    assert client["name"] == "Acme Telecoms"
    assert client["billing_reference"] == str(customer.pk)
    assert client["status"] == "Awaiting Provisioning"
    body = answer.json()
    assert body["client_id"] == str(client["id"])
    assert body["url"].endswith(f"/sandbox/connect/portal/clients/{client['id']}")
    assert body["status"] == "Awaiting Provisioning"
    assert body["created"] is True
    assert body["not_sent"].startswith("Contacts, services and rooms are not sent")


def test_start_date_is_the_moment_of_sending_and_end_date_one_year_later(connect, sender_api):
    customer = CustomerFactory()
    before = datetime.now(UTC).replace(microsecond=0)

    assert sender_api.post(send_url(customer)).status_code == 201

    after = datetime.now(UTC)
    [client] = clients(connect)
    start, end = moment(client["start_date"]), moment(client["end_date"])
    assert before <= start <= after
    assert end == one_year_later(start)
    assert timedelta(days=365) <= end - start <= timedelta(days=366)


@pytest.mark.parametrize(
    ("account_type", "sent_as"),
    [
        (lambda: AccountType.objects.get(code="virtual"), "Virtual"),
        (lambda: AccountType.objects.get(code="residential"), "Residential"),
        (lambda: AccountTypeFactory(name="Hot Desk"), "Residential"),
        (lambda: None, "Residential"),
    ],
    ids=["virtual", "residential", "custom", "none"],
)
def test_custom_account_types_become_residential_and_virtual_stays_virtual(
    connect, sender_api, account_type, sent_as
):
    customer = CustomerFactory(account_type=account_type())

    assert sender_api.post(send_url(customer)).status_code == 201

    assert [c["type"] for c in clients(connect)] == [sent_as]


def test_contacts_are_not_sent(connect, sender_api):
    customer = CustomerFactory()
    ContactFactory(customer=customer, email="priya@example.test")

    sender_api.post(send_url(customer))

    [call] = connect.calls("POST", "clients")
    assert set(call["body"]) == {"name", "type", "start_date", "end_date", "billing_reference"}
    assert "priya" not in str(connect.state)


def test_a_second_post_answers_the_same_client_without_calling_connect(connect, sender_api):
    customer = CustomerFactory()

    first = sender_api.post(send_url(customer))
    calls_after_first = len(connect.requests)
    second = sender_api.post(send_url(customer))

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["client_id"] == first.json()["client_id"]
    assert second.json()["created"] is False
    assert len(clients(connect)) == 1
    assert len(connect.requests) == calls_after_first


def test_a_retry_after_a_hang_past_the_timeout_finds_the_client_instead_of_making_another(
    connect, sender_api
):
    customer = CustomerFactory()
    connect.faults_set(
        hang_next=1, hang_seconds=django_settings.SYNC_READ_TIMEOUT + 1, only_method="POST"
    )

    lost = sender_api.post(send_url(customer))

    assert lost.status_code == 503, lost.json()
    assert "send again" in lost.json()["platform"][0]
    assert not Binding.objects.filter(platform="connect", object_id=customer.pk).exclude(
        external_id=""
    )
    deadline = time.monotonic() + 10
    while not connect.calls("POST", "clients") and time.monotonic() < deadline:
        time.sleep(0.05)  # the platform finishes the create nobody heard the answer to
    assert len(clients(connect)) == 1

    retry = sender_api.post(send_url(customer))

    assert retry.status_code == 201, retry.json()
    assert retry.json()["found_existing"] is True
    assert len(clients(connect)) == 1
    assert retry.json()["client_id"] == str(clients(connect)[0]["id"])
    assert len(connect.calls("POST", "clients")) == 1


def test_a_retry_while_the_lost_create_still_hangs_still_makes_one_client(connect, sender_api):
    customer = CustomerFactory()
    connect.faults_set(
        hang_next=1, hang_seconds=django_settings.SYNC_READ_TIMEOUT + 2, only_method="POST"
    )

    assert sender_api.post(send_url(customer)).status_code == 503
    retry = sender_api.post(send_url(customer))  # the first create is still hanging
    assert retry.status_code == 201, retry.json()
    deadline = time.monotonic() + 10
    while len(connect.calls("POST", "clients")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)

    statuses = sorted(call["status"] for call in connect.calls("POST", "clients"))
    assert statuses == [201, 409]  # the late create was refused: the reference was taken
    assert len(clients(connect)) == 1
    assert retry.json()["client_id"] == str(clients(connect)[0]["id"])


def test_a_create_refused_for_a_taken_billing_reference_binds_the_client_connect_has(
    connect, sender, monkeypatch
):
    customer = CustomerFactory()
    connect.state["clients"]["7"] = {
        "id": 7,
        "name": customer.name,
        "type": "Residential",
        "status": "Awaiting Provisioning",
        "start_date": "2025-01-01T00:00:00Z",
        "end_date": "2026-01-01T00:00:00Z",
        "billing_reference": str(customer.pk),
        "created_at": "2025-01-01T00:00:00+00:00",
    }
    # A lookup that misses it (Connect's search lagging behind its writes, say).
    monkeypatch.setattr(
        connect_client_module.ConnectClient, "clients_by_billing_reference", lambda self, ref: []
    )

    result = connect_client_send(customer_id=customer.pk, user=sender)

    assert result.created and result.found_existing
    assert result.client.client_id == "7"
    assert result.client.start_date == "2025-01-01T00:00:00Z"
    assert len(clients(connect)) == 1


@on_postgresql
def test_twenty_concurrent_sends_of_one_customer_make_exactly_one_client(connect, sender):
    customer = CustomerFactory()
    connect.faults_set(latency_ms=50)

    results, errors = run_concurrently(
        *(lambda: connect_client_send(customer_id=customer.pk, user=sender) for _ in range(20))
    )

    assert errors == [None] * 20
    assert len(clients(connect)) == 1
    assert len(connect.calls("POST", "clients")) == 1
    assert {r.client.client_id for r in results} == {str(clients(connect)[0]["id"])}
    assert sum(r.created for r in results) == 1
    assert Binding.objects.filter(platform="connect", object_id=customer.pk).count() == 1


def test_sending_adds_the_connect_account_code_that_call_charges_match(connect, sender_api):
    customer = CustomerFactory()

    sender_api.post(send_url(customer))

    code = AccountCode.objects.get(customer=customer)
    assert (code.platform.code, code.code) == ("connect", str(customer.pk))


def test_a_customer_with_another_connect_account_code_keeps_it(connect, sender_api):
    customer = CustomerFactory()
    AccountCodeFactory(customer=customer, code="LEGACY-9")

    answer = sender_api.post(send_url(customer))

    assert answer.status_code == 201
    assert AccountCode.objects.get(customer=customer).code == "LEGACY-9"
    assert "keeps its Connect account code" in answer.json()["notes"][0]


def test_saving_or_sending_a_customer_queues_no_connect_job(connect, sender_api):
    customer = CustomerFactory()
    customer.name = "Renamed Ltd"
    customer_services.customer_save(customer=customer)
    sender_api.post(send_url(customer))
    customer.name = "Renamed Again Ltd"
    customer_services.customer_save(customer=customer)

    # The only Connect job is the send's own record in the Sync History (issue 20, item 6:
    # "its calls appear in Sync History"), finished: the saves queued nothing.
    [sent] = SyncJob.objects.filter(platform="connect")
    assert (sent.reason, sent.status) == ("Send to Connect", "succeeded")
    assert len(connect.calls("POST", "clients")) == 1


def test_a_lead_is_refused_and_nothing_is_sent(connect, sender_api):
    lead = LeadFactory()

    answer = sender_api.post(send_url(lead))

    assert answer.status_code == 400
    assert "is a lead" in answer.json()["customer"][0]
    assert not connect.requests


def test_a_name_longer_than_connect_takes_is_refused_before_sending(connect, sender_api):
    customer = CustomerFactory(name="N" * 101, email="accounts@example.test")

    answer = sender_api.post(send_url(customer))

    assert answer.status_code == 400
    assert "at most 100 characters" in answer.json()["customer"][0]
    assert not clients(connect)


def test_with_the_integration_off_the_send_is_refused_with_409(connect, sender_api):
    BillingPlatform.objects.filter(code="connect").update(integration_enabled=False)
    customer = CustomerFactory()

    answer = sender_api.post(send_url(customer))

    assert answer.status_code == 409
    assert "integration is off" in answer.json()["platform"][0]
    assert not clients(connect)


def test_connect_refusing_the_client_is_a_502_with_its_message(connect, sender_api):
    customer = CustomerFactory()
    connect.faults_set(fail_next=1, fail_status=422, only_method="POST")

    answer = sender_api.post(send_url(customer))

    assert answer.status_code == 502
    assert "Connect answered 422" in answer.json()["platform"][0]


def test_anonymous_users_are_refused(connect):
    customer = CustomerFactory()

    answer = APIClient().post(send_url(customer))

    assert answer.status_code in (401, 403)
    assert not clients(connect)


def test_users_without_the_sync_permission_are_refused(connect):
    customer = CustomerFactory()
    api = APIClient()
    api.force_authenticate(user_with("customers.view_customer", "customers.change_customer"))

    answer = api.post(send_url(customer))

    assert answer.status_code == 403
    assert not clients(connect)


def test_an_unknown_customer_is_a_404(connect, sender_api):
    assert sender_api.post(reverse("customer-send-to-connect", args=[999999])).status_code == 404
