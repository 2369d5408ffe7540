"""Reconciliation with Connect (issue 21, item 6: "Connect (clients) as Affinity has it
today ... in the command, the API, the admin page and the dashboard"), against the emulator
over real HTTP with the contract's two GET calls (docs/connect.md)."""

import json
from io import StringIO

from django.core.management import call_command
from django.urls import reverse

from billing.call_charges import account_code_set
from billing.choices import PlatformCode
from connectors.base import connector_for
from connectors.connect.services import connect_client_send
from connectors.models import Binding
from connectors.reconciliation import reconciliation_report
from customers.choices import CustomerStatus
from tests.factories import CustomerFactory


def sent(name: str):
    customer = CustomerFactory(name=name)
    connect_client_send(customer_id=customer.pk)
    client_id = Binding.objects.get(platform="connect", object_id=customer.pk).external_id
    return customer, client_id


def kinds(report) -> set[tuple[str, int | None]]:
    return {(d.kind, d.object_id) for d in report.differences}


def test_clients_in_step_have_no_difference_and_only_gets_are_sent(connect):
    sent("Acme Telecoms")
    sent("Bravo Ltd")
    connect.requests.clear()

    report = reconciliation_report(platform="connect")

    assert report.differences == []
    assert {call["method"] for call in connect.requests} == {"GET"}


def test_each_kind_of_difference_with_connect_is_reported(connect):
    renamed, renamed_id = sent("Acme Telecoms")
    moved, moved_id = sent("Bravo Ltd")
    gone, gone_id = sent("Charlie plc")
    cancelled, _ = sent("Delta Ltd")
    unlinked = CustomerFactory(name="Echo Ltd")
    clients = connect.state["clients"]
    clients[renamed_id]["name"] = "ACME"
    clients[moved_id]["billing_reference"] = "B-999"
    del clients[gone_id]
    type(cancelled).objects.filter(pk=cancelled.pk).update(status=CustomerStatus.CANCELLED)
    # Made in Connect by hand with Echo's account code as Billing Reference.
    account_code_set(customer=unlinked, platform_code=PlatformCode.CONNECT, code="ECHO-1")
    clients["77"] = {**clients[renamed_id], "id": 77, "name": "Echo", "billing_reference": "ECHO-1"}

    report = reconciliation_report(platform="connect")

    assert kinds(report) == {
        ("name_differs", renamed.pk),
        ("reference_differs", moved.pk),
        ("missing_there", gone.pk),
        ("cancelled_here_live_there", cancelled.pk),
        ("unknown_here", unlinked.pk),
    }
    name = next(d for d in report.differences if d.kind == "name_differs")
    assert (name.layer_value, name.platform_value) == ("Acme Telecoms", "ACME")
    reference = next(d for d in report.differences if d.kind == "reference_differs")
    assert (reference.layer_value, reference.platform_value) == (str(moved.pk), "B-999")
    assert next(d for d in report.differences if d.kind == "unknown_here").external_id == "77"


def test_connect_is_reconciled_by_the_command_the_api_the_admin_and_the_dashboard(
    connect, admin_client
):
    assert connector_for("connect").reconciles
    _, client_id = sent("Acme Telecoms")
    connect.state["clients"][client_id]["name"] = "ACME"

    out = StringIO()
    call_command("reconcile", "--platform", "connect", "--json", stdout=out)
    assert json.loads(out.getvalue())["counts"] == {"name_differs": 1}
    api = admin_client.get("/api/v1/reconciliation/", {"platform": "connect"})
    assert api.json()["counts"] == {"name_differs": 1}
    data = admin_client.get(
        reverse("admin:connectors_syncjob_reconciliation_data", args=["connect"])
    )
    assert data.json()["counts"] == {"name_differs": 1}
    dashboard = admin_client.get(reverse("admin:connectors_syncjob_dashboard")).content.decode()
    assert "Connect cannot be reconciled" not in dashboard
