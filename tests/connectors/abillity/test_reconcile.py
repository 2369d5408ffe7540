"""Reconciliation with Abillity (issue 21, item 6: "Abillity (companies, sites, contacts, CLIs
and charges against their bindings and the Layer's values) ... as Affinity has it today"),
against the emulator over real HTTP, reading with GET calls only."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from connectors.base import connector_for
from connectors.reconciliation import reconciliation_report
from tests.factories import ContactFactory

from .helpers import drain, external_id, synced_customer
from .test_charges import asset_of


@pytest.fixture
def in_step(abillity):
    """A customer with its head office, a contact and an asset (billing ID and two charges),
    all synced to Abillity."""
    customer = synced_customer("Acme Telecoms")
    contact = ContactFactory(
        customer=customer, site=customer.sites.get(), first_name="Ada", last_name="Lovelace"
    )
    drain()
    asset = asset_of(customer)
    return {"customer": customer, "site": customer.sites.get(), "contact": contact, "asset": asset}


def kinds(report) -> set[tuple[str, str, int | None]]:
    return {(d.kind, d.entity, d.object_id) for d in report.differences}


def test_records_in_step_with_abillity_have_no_difference_and_only_gets_are_sent(in_step, abillity):
    abillity.requests.clear()

    report = reconciliation_report(platform="abillity")

    assert report.differences == []
    assert {call["method"] for call in abillity.requests} == {"GET"}


def test_each_kind_of_difference_with_abillity_is_reported(in_step, abillity):
    customer, site, contact, asset = (in_step[k] for k in ("customer", "site", "contact", "asset"))
    state = abillity.state
    # Changed on Abillity by hand: the company's name, the contact's email.
    state["companies"][external_id("company", "customer", customer)]["Name"] = "ACME (old)"
    state["site_contacts"][external_id("site_contact", "contact", contact)]["Email"] = "x@y.z"
    # The billing ID's number and the recurring charge's price drifted.
    state["clis"][external_id("billing_id", "asset", asset)]["CLI"] = "07700999999"
    recurring = external_id("recurring_charge", "asset", asset)
    state["service_charges"][recurring]["SalesPrice"] = 99.0
    # The up-front charge is gone from Abillity.
    del state["service_charges"][external_id("upfront_charge", "asset", asset)]
    # A company and a site made on Abillity that nothing here knows.
    state["companies"]["900"] = {"Id": 900, "Name": "Made There Ltd", "IsCustomer": True}
    state["sites"]["901"] = {
        **state["sites"][external_id("site", "site", site)],
        "Id": 901,
        "SiteName": "Annexe",
        "ShortName": "ANNEXE",
    }

    report = reconciliation_report(platform="abillity")

    assert kinds(report) == {
        ("value_differs", "customer", customer.pk),
        ("value_differs", "contact", contact.pk),
        ("cli_differs", "asset", asset.pk),
        ("charge_differs", "asset", asset.pk),
        ("missing_there", "asset", asset.pk),
        ("unknown_here", "customer", None),
        ("unknown_here", "site", None),
    }
    by_kind = {d.kind + d.entity: d for d in report.differences}
    name = by_kind["value_differscustomer"]
    assert (name.layer_value, name.platform_value) == (
        "Name: Acme Telecoms",
        "Name: ACME (old)",
    )
    cli = by_kind["cli_differsasset"]
    assert (cli.layer_value, cli.platform_value) == ("CLI: 07700900001", "CLI: 07700999999")
    price = by_kind["charge_differsasset"]
    assert price.platform_value == "SalesPrice: 99"
    assert by_kind["unknown_herecustomer"].external_id == "900"
    assert by_kind["unknown_heresite"].external_id == "901"
    assert report.counts["unknown_here"] == 2


def test_a_site_gone_from_abillity_is_missing_there(in_step, abillity):
    del abillity.state["sites"][external_id("site", "site", in_step["site"])]

    report = reconciliation_report(platform="abillity")

    assert ("missing_there", "site", in_step["site"].pk) in kinds(report)


def test_abillity_is_reconciled_by_the_command_the_api_the_admin_and_the_dashboard(
    in_step, abillity, admin_client
):
    """The text "Abillity cannot be reconciled" goes: every surface offers it."""
    assert connector_for("abillity").reconciles
    abillity.state["clis"][external_id("billing_id", "asset", in_step["asset"])]["CLI"] = "0"
    out = StringIO()
    call_command("reconcile", "--platform", "abillity", "--json", stdout=out)
    assert json.loads(out.getvalue())["counts"] == {"cli_differs": 1}

    api = admin_client.get("/api/v1/reconciliation/", {"platform": "abillity"})
    assert api.status_code == 200
    assert api.json()["counts"] == {"cli_differs": 1}

    page = admin_client.get(reverse("admin:connectors_syncjob_reconciliation", args=["abillity"]))
    assert page.status_code == 200
    data = admin_client.get(
        reverse("admin:connectors_syncjob_reconciliation_data", args=["abillity"])
    )
    assert data.json()["counts"] == {"cli_differs": 1}

    dashboard = admin_client.get(reverse("admin:connectors_syncjob_dashboard")).content.decode()
    assert "Abillity cannot be reconciled" not in dashboard
