"""Seed 004 ("Sending Accounts in Operate to Connect as Clients"; The Layer takes Operate's
place): its send and call-charge import rules, one test each, through the public interfaces
(``POST /api/v1/customers/{id}/send-to-connect/``, ``manage.py import_call_charges``),
checking what the Connect emulator received and what the import matched."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from billing.models import BatchCharge, ChargeImportRow
from tests.billing.call_logger_files import call_file, call_row
from tests.factories import (
    AccountCodeFactory,
    ContactFactory,
    CustomerFactory,
    InventoryItemFactory,
    LocationFactory,
    ProductGroupFactory,
)

from .conftest import user_with

SEND = ("connectors.add_syncjob", "connectors.view_syncjob", "customers.view_customer")


@pytest.fixture
def sender_api(connect) -> APIClient:
    client = APIClient()
    client.force_authenticate(user_with(*SEND, is_staff=True))
    return client


def send(api, customer):
    return api.post(reverse("customer-send-to-connect", args=[customer.pk]))


def only_client(emulator) -> dict:
    [client] = emulator.state["clients"].values()
    return client


# --- Sending an account to Connect ---------------------------------------------------------------
def test_seed004_send_to_connect_creates_a_client_named_after_the_account(connect, sender_api):
    # "Account Name: Will be the Client name within Connect"
    customer = CustomerFactory(name="Hub Tenants Ltd")
    assert send(sender_api, customer).status_code == 201
    assert only_client(connect)["name"] == "Hub Tenants Ltd"


def test_seed004_send_to_connect_the_accounts_id_is_the_billing_reference(connect, sender_api):
    # "Accounts ID: Is set as the 'Billing Reference' within Connect"
    customer = CustomerFactory()
    send(sender_api, customer)
    assert only_client(connect)["billing_reference"] == str(customer.pk)


def test_seed004_send_to_connect_custom_types_are_set_as_residential(connect, sender_api):
    # "Type: Residential or Virtual. Custom types created in Operate will be set as
    # residential within Connect"
    from tests.factories import AccountTypeFactory

    send(sender_api, CustomerFactory(account_type=AccountTypeFactory(name="Hot Desk")))
    assert only_client(connect)["type"] == "Residential"


def test_seed004_send_to_connect_start_date_is_the_moment_of_sending_and_end_one_year_later(
    connect, sender_api
):
    # "Start Date: The time at which the button in Operate is pushed"; "End Date: 1 year from
    # the start date"
    before = datetime.now(UTC).replace(microsecond=0)
    send(sender_api, CustomerFactory())
    client = only_client(connect)
    start = datetime.fromisoformat(client["start_date"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(client["end_date"].replace("Z", "+00:00"))
    assert before <= start <= datetime.now(UTC)
    assert timedelta(days=365) <= end - start <= timedelta(days=366)


def test_seed004_send_to_connect_contacts_are_not_created_as_users(connect, sender_api):
    # "the Contacts within the Account are not created as Users in Connect"
    customer = CustomerFactory()
    ContactFactory(customer=customer, email="priya@example.test")
    send(sender_api, customer)
    assert "priya" not in json.dumps(connect.state)


def test_seed004_send_to_connect_the_client_awaits_provisioning(connect, sender_api):
    # "When a Client is created within Connect it will have a status of 'Awaiting
    # Provisioning'."
    send(sender_api, CustomerFactory())
    assert only_client(connect)["status"] == "Awaiting Provisioning"


def test_seed004_once_sent_the_send_is_not_repeated(connect, sender_api):
    # "Once the Account has been successfully sent to Connect the button will no longer
    # appear": a second send makes no second client.
    customer = CustomerFactory()
    send(sender_api, customer)
    again = send(sender_api, customer)
    assert again.status_code == 200 and again.json()["created"] is False
    assert len(connect.state["clients"]) == 1


def test_seed004_sending_adds_the_account_code_for_call_charges(connect, sender_api):
    # "Adding the account code for uploading call charges from Connect to Operate"
    from billing.models import AccountCode

    customer = CustomerFactory()
    send(sender_api, customer)
    assert AccountCode.objects.get(customer=customer).code == str(customer.pk)


# --- Uploading call charges ---------------------------------------------------------------------
def _import(tmp_path: Path, content: bytes, location, **extra) -> dict:
    path = tmp_path / "calls.csv"
    path.write_bytes(content)
    ProductGroupFactory(name="Telephone Charges")
    InventoryItemFactory(name="Call Charges")
    out = __import__("io").StringIO()
    call_command(
        "import_call_charges",
        str(path),
        location=location.name,
        product_group="Telephone Charges",
        product="Call Charges",
        batch_date="2026-07-01",
        reference_date="2026-06-30",
        reference_text="June calls",
        json=True,
        stdout=out,
        **extra,
    )
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_seed004_call_charges_match_only_at_the_chosen_location(tmp_path):
    # "If the wrong location is selected, your charges will not be matched to an account
    # because that account cannot be found in the system, at the location you've selected."
    leeds, york = LocationFactory(name="Leeds Hub"), LocationFactory(name="York Hub")
    AccountCodeFactory(code="1001", location=leeds)
    _import(tmp_path, call_file(call_row("1001")), york)
    row = ChargeImportRow.objects.get()
    assert row.customer is None
    assert "not at York Hub" in row.unmatched_reason
    assert not BatchCharge.objects.exists()


@pytest.mark.django_db
def test_seed004_a_matched_row_creates_a_charge_on_the_batch_sheet(tmp_path):
    # "the first row has been matched and the charge has been created"; "a batch sheet titled
    # 'essensys call logger v2'"; "Choose a Batch Date - this will be the key date, to which
    # the charges will be billed."
    leeds = LocationFactory(name="Leeds Hub")
    customer = AccountCodeFactory(code="1001", location=leeds).customer
    _import(tmp_path, call_file(call_row("1001", amount="0.42")), leeds)
    charge = BatchCharge.objects.get()
    assert charge.customer == customer
    assert str(charge.amount) == "0.42"
    assert charge.batch_sheet.name == "essensys call logger v2"
    assert charge.batch_date.isoformat() == "2026-07-01"
    assert charge.reference_text == "June calls"


@pytest.mark.django_db
def test_seed004_an_unmatched_row_is_reported_and_says_how_to_resolve_it(tmp_path):
    # "The second row has not matched and in order to resolve this, you would need to add a
    # corresponding account code to the account"
    leeds = LocationFactory(name="Leeds Hub")
    AccountCodeFactory(code="1001", location=leeds)
    summary = _import(tmp_path, call_file(call_row("1001"), call_row("7777")), leeds)
    assert summary["matched"] == 1 and summary["unmatched"] == 1
    [reported] = summary["unmatched_rows"]
    assert 'No customer has the Connect account code "7777"' in reported["reason"]
    assert "Add it to the customer" in reported["reason"]
