"""Seed 001 on the Abillity route, where the Billing Export hands lines to the connector:
lines with no charge, and when a New & Cease's end reaches Abillity. Against the emulator
over real HTTP."""

from datetime import date
from decimal import Decimal

from billing import selectors, services
from billing.choices import LineAction, PlatformCode
from tests.factories import SalesOrderFactory, platform
from tests.helpers import set_company

from .helpers import drain, external_id
from .test_charges import asset_of, billing_id, charge, customer, item, send  # noqa: F401


def test_a_line_with_no_charge_and_no_billing_id_is_not_listed(abillity, customer):  # noqa: F811
    # Seed 001: "Items with no recurring or upfront costs will not appear at all in the
    # Billing Exports app unless they are associated with a billing ID that has not
    # previously been sent to Abillity."
    free = item(name="Porting", sell_price=Decimal("0"), recurring_sell_price=Decimal("0"))
    nothing = asset_of(customer, identifier="", inventory_item=free, sent=False)
    with_id = asset_of(customer, identifier="07700900002", inventory_item=free, sent=False)
    listed = set(selectors.billing_export_lines(route=platform(PlatformCode.ABILLITY)))
    assert nothing.sales_order_line not in listed
    assert with_id.sales_order_line in listed


def test_new_and_cease_sends_the_targets_end_with_the_new_line_not_at_conversion(
    abillity,
    customer,  # noqa: F811
):
    # Seed 001, New & Cease: "The new asset will be passed to the Billing Export app for
    # transfer to Abillity. The sync will include instructions to Abillity to cease the
    # existing Billing ID and Service Charge."
    set_company(new_and_cease_enabled=True)
    old = asset_of(customer, identifier="07700900001")
    order = SalesOrderFactory(
        customer=customer,
        lines=[
            services.LineSpec(
                inventory_item=item(name="Business Mobile 30GB", pricing_tier="2030"),
                site=customer.sites.get(is_default=True),
                action=LineAction.NEW_AND_CEASE,
                target_asset=old,
            )
        ],
    )
    new = services.sales_order_line_convert_to_asset(
        line=order.lines.get(), connection_date=date(2026, 6, 1)
    )
    drain()
    assert billing_id(abillity, old)["EndDate"] is None  # not yet: the new line is not sent
    assert charge(abillity, old)["LastPayment"] is None
    assert not external_id("billing_id", "asset", new)

    send(new)

    assert billing_id(abillity, old)["EndDate"].startswith("2026-05-31")
    assert charge(abillity, old)["LastPayment"].startswith("2026-05-31")
    # The new asset took the target's number (nothing retyped): a new billing ID, same CLI.
    assert billing_id(abillity, new)["CLI"] == "07700900001"


# --- sync state never lies ------------------------------------------------------------------------
def _mapper_api():
    from rest_framework.test import APIClient

    from tests.api.conftest import user_with_perms

    client = APIClient()
    client.force_authenticate(
        user_with_perms(
            "customers.view_customer",
            "connectors.view_syncjob",
            "connectors.add_syncjob",
            "connectors.retry_syncjob",
        )
    )
    return client


def test_mapping_a_customer_to_a_made_up_company_id_is_a_400_naming_it(abillity):
    from connectors.models import Binding, SyncJob
    from tests.factories import CustomerFactory, SiteFactory

    from .helpers import integration

    integration(False)
    acme = CustomerFactory(name="Acme Mapping Ltd")
    SiteFactory(customer=acme, is_default=True)
    integration(True)
    jobs = SyncJob.objects.count()
    response = _mapper_api().post(
        f"/api/v1/customers/{acme.pk}/sync/",
        {"platform": "abillity", "external_id": "987654"},
        format="json",
    )
    assert response.status_code == 400
    assert "Abillity has no company 987654" in response.json()["external_id"][0]
    assert not Binding.objects.filter(entity="customer", object_id=acme.pk).exists()
    assert SyncJob.objects.count() == jobs


def test_mapping_a_customer_to_an_existing_company_is_accepted(abillity, abillity_client):
    from connectors.models import Binding
    from tests.factories import CustomerFactory, SiteFactory

    from .helpers import integration

    integration(False)
    acme = CustomerFactory(name="Acme Mapping Ltd")
    SiteFactory(customer=acme, is_default=True)
    integration(True)
    company = abillity_client.company_create({"Name": "Acme Mapping Ltd", "IsCustomer": True})
    response = _mapper_api().post(
        f"/api/v1/customers/{acme.pk}/sync/",
        {"platform": "abillity", "external_id": str(company)},
        format="json",
    )
    assert response.status_code == 202, response.json()
    binding = Binding.objects.get(entity="customer", object_id=acme.pk, role="company")
    assert binding.external_id == str(company)


def test_a_failed_first_sync_shows_failed_on_the_page_the_panel_and_the_api(abillity):
    # The company was created, then the sync failed: nothing may say "synced".
    from django.urls import reverse

    from connectors.choices import JobStatus
    from tests.factories import CustomerFactory, SiteFactory

    from .helpers import integration, last_job, sync
    from .test_manual_sync import MAPPER, badge_text, staff, summary_url

    integration(False)
    acme = CustomerFactory(name="Acme Failing Ltd", bill_run="Monthly 1st")
    SiteFactory(customer=acme, is_default=True)
    integration(True)
    abillity.faults_set(fail_next=10, fail_status=400, only_method="PATCH")
    sync(acme)
    abillity.faults_set(fail_next=0, only_method="")
    assert last_job("customer", acme).status == JobStatus.FAILED
    assert external_id("company", "customer", acme)  # Abillity made the company

    status = (
        _mapper_api()
        .get(f"/api/v1/customers/{acme.pk}/sync-status/", {"platform": "abillity"})
        .json()
    )
    assert status["customer"]["synced"] is False
    assert status["customer"]["failed_job"] is not None
    page = staff(*MAPPER).get(reverse("admin:customers_customer_change", args=[acme.pk]))
    assert 'aria-label="synced"' not in page.content.decode()
    assert "failed" in badge_text(page)
    panel = staff(*MAPPER).get(summary_url(acme)).content.decode()
    assert 'data-kind="customer" data-synced="yes"' not in panel

    sync(acme)  # fixed: the retry succeeds, and now it is synced everywhere

    status = (
        _mapper_api()
        .get(f"/api/v1/customers/{acme.pk}/sync-status/", {"platform": "abillity"})
        .json()
    )
    assert status["customer"]["synced"] is True
    page = staff(*MAPPER).get(reverse("admin:customers_customer_change", args=[acme.pk]))
    assert 'aria-label="synced"' in page.content.decode()
