"""The reconciliation report (selector, command, API, admin page): billing assets that
differ between The Layer and Affinity."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from billing import services as billing_services
from billing.choices import AssetStatus
from connectors.base import connector_for
from connectors.reconciliation import reconciliation_report
from tests.factories import UserFactory

from .helpers import affinity_item, billed_customer, drain, external_id, transferred_asset


@pytest.fixture
def drifted(affinity):
    """Five billed assets, then Affinity and The Layer drift apart in five ways."""
    customer = billed_customer()
    ceased, cli, product, missing, fine = (
        transferred_asset(customer, affinity_item(), cli=f"0770090010{n}") for n in range(5)
    )
    # Ceased here; Affinity never heard (its end date cleared there).
    ceased.status, ceased.cease_date = AssetStatus.CEASED, ceased.connection_date
    billing_services.asset_save(asset=ceased)
    drain()
    sp = affinity.state["site_products"]
    sp[external_id("site_product", "asset", ceased)]["end_date"] = None
    affinity.state["ctns"][external_id("ctn", "asset", cli)]["number"] = "07700999999"
    sp[external_id("site_product", "asset", product)]["product_code"] = "FIX-PSTN"
    del sp[external_id("site_product", "asset", missing)]
    sp["SPR90000"] = {
        "id": "SPR90000",
        "reference": "",
        "site_id": "SIT00001",
        "product_code": "BB-FTTP-80",
        "description": "Broadband",
        "ctn_id": None,
        "end_date": None,
    }
    return {"ceased": ceased, "cli": cli, "product": product, "missing": missing, "fine": fine}


def test_the_report_lists_each_difference_once_and_nothing_for_assets_in_step(drifted):
    report = reconciliation_report(platform="affinity")
    found = {(d.kind, d.object_id) for d in report.differences}
    assert found == {
        ("ceased_billed_there", drifted["ceased"].pk),
        ("cli_differs", drifted["cli"].pk),
        ("product_differs", drifted["product"].pk),
        ("live_unknown_there", drifted["missing"].pk),
        ("unknown_here", None),
    }
    cli = next(d for d in report.differences if d.kind == "cli_differs")
    assert (cli.layer_value, cli.platform_value) == ("07700900101", "07700999999")


def test_in_step_systems_reconcile_with_no_differences(affinity):
    customer = billed_customer()
    transferred_asset(customer, affinity_item())
    assert reconciliation_report(platform="affinity").differences == []


def test_the_reconcile_command_prints_json_and_can_fail_on_differences(drifted):
    out = StringIO()
    call_command("reconcile", "--platform", "affinity", "--json", stdout=out)
    body = json.loads(out.getvalue())
    assert body["counts"]["cli_differs"] == 1
    assert len(body["differences"]) == 5
    with pytest.raises(SystemExit) as exited:
        call_command("reconcile", "--platform", "affinity", "--fail-on-differences", stdout=out)
    assert exited.value.code == 1


def test_the_reconcile_command_refuses_a_platform_that_cannot_be_reconciled(affinity):
    assert not connector_for("fake").reconciles
    with pytest.raises(CommandError, match="cannot be reconciled"):
        call_command("reconcile", "--platform", "fake")


def test_the_reconciliation_api_needs_the_sync_history_permission(drifted, api_client):
    url = "/api/v1/reconciliation/?platform=affinity"
    assert api_client.get(url).status_code in (401, 403)
    api_client.force_authenticate(UserFactory())
    assert api_client.get(url).status_code == 403
    api_client.force_authenticate(UserFactory(is_staff=True, is_superuser=True))
    response = api_client.get(url)
    assert response.status_code == 200
    assert {d["kind"] for d in response.json()["differences"]} >= {"ceased_billed_there"}
    assert api_client.get("/api/v1/reconciliation/?platform=fake").status_code == 400
    assert api_client.get("/api/v1/reconciliation/?platform=nope").status_code == 400


def test_the_admin_page_loads_the_report_after_it_shows(drifted, client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:connectors_syncjob_reconciliation", args=["affinity"]))
    assert page.status_code == 200
    data_url = reverse("admin:connectors_syncjob_reconciliation_data", args=["affinity"])
    assert data_url in page.content.decode()
    data = client.get(data_url).json()
    missing = next(d for d in data["differences"] if d["kind"] == "live_unknown_there")
    assert missing["url"].endswith(f"/{drifted['missing'].pk}/change/")
