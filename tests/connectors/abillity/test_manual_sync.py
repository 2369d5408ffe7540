"""Seed 000's manual sync ("Sync Abillity Customer"), the green tick on the customer and
sales order pages, the default-site warning and the demo's integration, against the
emulator over real HTTP."""

import io
import re

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from billing.models import BillingPlatform
from connectors.choices import JobStatus
from connectors.models import Binding, SyncJob, ValueMapping
from customers import services
from tests.admin_helpers import page_messages
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    SalesOrderFactory,
    SiteFactory,
    UserFactory,
)

from .helpers import drain, external_id, integration, sync, writes

PLATFORM = "abillity"


@pytest.fixture
def customer(abillity):
    integration(False)
    customer = CustomerFactory(name="Acme Telecoms", bill_run="Monthly 1st")
    SiteFactory(customer=customer, name="Head Office", is_default=True)
    SiteFactory(customer=customer, name="Depot")
    ContactFactory(customer=customer, first_name="Priya", last_name="Shah")
    integration(True)
    return customer


def staff(*perms: str) -> Client:
    """A staff client that may view customers and orders and holds ``perms``."""
    user = UserFactory(is_staff=True)
    for perm in (
        "customers.view_customer",
        "customers.view_site",
        "billing.view_salesorder",
        *perms,
    ):
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    client = Client()
    client.force_login(user)
    return client


SYNCER = ("connectors.view_syncjob", "connectors.add_syncjob")
MAPPER = (*SYNCER, "connectors.retry_syncjob")


def summary_url(customer) -> str:
    return reverse("admin:connectors_syncjob_customer_sync", args=[PLATFORM, customer.pk])


def search_url() -> str:
    return reverse("admin:connectors_syncjob_platform_search", args=[PLATFORM, "customer"])


def badge_text(response) -> str:
    html = response.content.decode()
    match = re.search(r'<div class="sync-badges".*?\n</div>', html, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(0))) if match else ""


def existing_company(emulator, client, name: str) -> int:
    """A company made in Abillity by hand, outside The Layer."""
    return client.company_create({"Name": name, "IsCustomer": True})


# --- the tick ---------------------------------------------------------------------------
def test_the_customer_page_shows_the_green_tick_and_company_id_once_synced(abillity, customer):
    client = staff(*SYNCER)
    page = reverse("admin:customers_customer_change", args=[customer.pk])
    before = badge_text(client.get(page))
    assert "Not synced to Abillity" in before
    assert "Sync Abillity Customer" in before

    sync(customer)

    response = client.get(page)
    assert 'aria-label="synced"' in response.content.decode()
    assert f"Synced to Abillity ({external_id('company', 'customer', customer)}" in badge_text(
        response
    )


def test_the_sales_order_page_shows_the_customers_tick_and_the_sync_button(abillity, customer):
    integration(False)
    order = SalesOrderFactory(customer=customer)
    integration(True)
    client = staff(*SYNCER)
    page = reverse("admin:billing_salesorder_change", args=[order.pk])
    response = client.get(page)
    assert summary_url(customer) in response.content.decode()
    assert "Not synced to Abillity" in badge_text(response)

    sync(customer)

    assert "Synced to Abillity" in badge_text(client.get(page))


def test_the_tick_is_hidden_from_staff_who_may_not_read_sync_jobs(abillity, customer):
    sync(customer)
    response = staff().get(reverse("admin:customers_customer_change", args=[customer.pk]))
    assert response.status_code == 200
    assert badge_text(response) == ""


# --- the summary screen -------------------------------------------------------------------
def test_the_summary_lists_the_customer_its_sites_and_contacts_with_their_abillity_ids(
    abillity, customer
):
    sync(customer)
    response = staff(*SYNCER).get(summary_url(customer))
    assert response.status_code == 200
    rows = response.context["sites"]
    assert {row["record"].name for row in rows} == {"Head Office", "Depot"}
    assert all(row["synced"] for row in rows)
    assert response.context["customer_row"]["synced"]
    assert [row["record"].first_name for row in response.context["contacts"]] == ["Priya"]
    html = response.content.decode()
    for site in customer.sites.all():
        assert f"<strong>{external_id('site', 'site', site)}</strong>" in html
    assert 'value="Continue"' in html  # synced: a manual resync


def test_sync_with_no_selection_creates_a_new_company(abillity, customer):
    client = staff(*MAPPER)
    response = client.post(summary_url(customer), {"external_id": ""}, follow=True)

    assert any("is queued as" in text for text in page_messages(response))
    drain()
    company_id = external_id("company", "customer", customer)
    assert company_id
    assert abillity.state["companies"][company_id]["Name"] == "Acme Telecoms"
    assert len(abillity.state["companies"]) == 1


def test_choosing_an_existing_company_maps_the_customer_to_it_and_creates_none(
    abillity, abillity_client, customer
):
    existing_company(abillity, abillity_client, "ACME TELECOMS (old name)")
    chosen = existing_company(abillity, abillity_client, "Acme Telecoms Group")
    abillity.requests.clear()

    staff(*MAPPER).post(summary_url(customer), {"external_id": str(chosen)}, follow=True)
    drain()

    assert external_id("company", "customer", customer) == str(chosen)
    assert len(abillity.state["companies"]) == 2
    assert not [c for c in writes(abillity) if c["method"] == "POST" and c["path"] == "company"]
    # The mapped company now carries the customer's name: it was updated, not created.
    assert abillity.state["companies"][str(chosen)]["Name"] == "Acme Telecoms"


def test_a_typed_company_id_wins_over_the_lists_choice(abillity, abillity_client, customer):
    listed = existing_company(abillity, abillity_client, "Listed Ltd")
    typed = existing_company(abillity, abillity_client, "Typed Ltd")
    staff(*MAPPER).post(
        summary_url(customer), {"external_id": str(listed), "external_id_typed": str(typed)}
    )
    assert external_id("company", "customer", customer) == str(typed)


def test_a_refused_mapping_changes_nothing_and_says_why(abillity, customer):
    other = CustomerFactory(name="Other Ltd")
    SiteFactory(customer=other, is_default=True)
    sync(other)
    taken = external_id("company", "customer", other)
    jobs_before = SyncJob.objects.count()

    response = staff(*MAPPER).post(summary_url(customer), {"external_id": taken})

    assert response.status_code == 200
    assert any(
        "Nothing was changed" in text and "already mapped" in text
        for text in page_messages(response)
    )
    assert not Binding.objects.filter(entity="customer", object_id=customer.pk).exists()
    assert SyncJob.objects.count() == jobs_before


def test_mapping_to_an_existing_company_needs_the_permission_to_act_on_sync_jobs(
    abillity, abillity_client, customer
):
    chosen = existing_company(abillity, abillity_client, "Acme Telecoms")
    client = staff(*SYNCER)
    assert 'name="external_id"' not in client.get(summary_url(customer)).content.decode()

    response = client.post(summary_url(customer), {"external_id": str(chosen)})

    assert response.status_code == 403
    assert not Binding.objects.filter(entity="customer", object_id=customer.pk).exists()
    assert not SyncJob.objects.filter(entity="customer", object_id=customer.pk).exists()


def test_the_summary_of_a_lead_says_it_syncs_once_converted_and_offers_no_sync(abillity):
    lead = CustomerFactory(stage="lead", name="Prospect Ltd")
    response = staff(*MAPPER).get(summary_url(lead))
    html = response.content.decode()
    assert "leads are synced to Abillity once they are converted" in html
    assert 'id="customer-sync-form"' not in html


def test_with_the_integration_off_the_summary_says_so_and_a_sync_is_refused(abillity, customer):
    integration(False)
    client = staff(*MAPPER)
    assert "The Abillity integration is off" in client.get(summary_url(customer)).content.decode()
    response = client.post(summary_url(customer), {"external_id": ""})
    assert any("Nothing was queued" in text for text in page_messages(response))
    assert not SyncJob.objects.filter(entity="customer", object_id=customer.pk).exists()


def test_the_summary_and_the_sync_need_their_permissions(abillity, customer):
    assert staff().get(summary_url(customer)).status_code == 403
    assert staff("connectors.view_syncjob").post(summary_url(customer)).status_code == 403
    assert not SyncJob.objects.filter(entity="customer", object_id=customer.pk).exists()


# --- the companies list --------------------------------------------------------------------
def test_the_company_list_holds_the_abillity_companies_whose_name_matches(
    abillity, abillity_client, customer
):
    for name in ("Acme Telecoms Group", "acme holdings", "Zenith Ltd"):
        existing_company(abillity, abillity_client, name)
    client = staff(*SYNCER)

    everything = client.get(search_url()).json()
    acme = client.get(search_url(), {"q": "ACME"}).json()

    assert everything["total"] == 3
    assert [found["name"] for found in acme["results"]] == ["acme holdings", "Acme Telecoms Group"]
    assert all(found["external_id"].isdigit() for found in acme["results"])


def test_the_company_list_reports_a_platform_failure_as_502_with_its_message(
    abillity, customer, settings
):
    abillity.faults_set(fail_next=1, fail_status=503)
    response = staff(*SYNCER).get(search_url())
    assert response.status_code == 502
    assert "503" in response.json()["error"]


def test_the_company_list_needs_the_permission_to_queue_syncs(abillity):
    assert staff("connectors.view_syncjob").get(search_url()).status_code == 403


def test_a_platform_that_cannot_list_its_records_has_no_company_list(abillity, customer):
    url = reverse("admin:connectors_syncjob_platform_search", args=[PLATFORM, "contact"])
    assert staff(*SYNCER).get(url).status_code == 404


# --- the default site warning ---------------------------------------------------------------
def test_changing_the_default_site_after_the_initial_sync_warns_both_systems_need_changing(
    abillity, customer
):
    sync(customer)
    client = staff(*SYNCER)
    page = reverse("admin:customers_customer_change", args=[customer.pk])
    assert "change both systems by hand" not in client.get(page).content.decode()

    depot = customer.sites.get(name="Depot")
    depot.is_default = True
    services.site_save(site=depot)

    text = badge_text(client.get(page))
    assert "The default site is now Depot" in text
    assert "still Head Office" in text
    assert "change both systems by hand" in text
    # The two sites' own pages say so too; a third site's does not.
    annex = SiteFactory(customer=customer, name="Annex")
    for site, warned in ((depot, True), (customer.sites.get(name="Head Office"), True)):
        html = client.get(reverse("admin:customers_site_change", args=[site.pk])).content
        assert (b"change both systems by hand" in html) is warned
    html = client.get(reverse("admin:customers_site_change", args=[annex.pk])).content
    assert b"change both systems by hand" not in html


# --- the demo --------------------------------------------------------------------------------
def test_seed_demo_turns_the_abillity_sandbox_integration_on_and_maps_the_emulators_ids(
    abillity, settings
):
    integration(False)
    ValueMapping.objects.all().delete()

    call_command("seed_demo", force=True, stdout=io.StringIO())

    assert BillingPlatform.objects.get(code=PLATFORM).integration_enabled
    mapped = dict(
        ValueMapping.objects.filter(platform=PLATFORM, kind="bill_run").values_list(
            "layer_value", "external_value"
        )
    )
    assert mapped == {"Monthly 1st": "1", "Monthly 15th": "2"}
    # Turned on without queuing: staff sync the demo customers themselves.
    assert not SyncJob.objects.exists()


def test_seed_demo_leaves_a_real_abillity_alone(abillity, settings):
    settings.ABILLITY_API_URL = "https://abillity.invalid/api/"
    integration(False)
    call_command("seed_demo", force=True, stdout=io.StringIO())
    assert not BillingPlatform.objects.get(code=PLATFORM).integration_enabled


def test_a_demo_customer_syncs_from_its_page_and_shows_the_ids_the_emulator_gave(
    abillity, settings
):
    call_command("seed_demo", force=True, stdout=io.StringIO())
    from customers.models import Customer

    acme = Customer.objects.get(name="Acme Logistics Ltd")
    client = staff(*MAPPER)
    client.post(summary_url(acme), {"external_id": ""})
    drain()

    response = client.get(summary_url(acme))
    assert response.context["synced"]
    company = external_id("company", "customer", acme)
    assert abillity.state["companies"][company]["Name"] == "Acme Logistics Ltd"
    assert all(row["synced"] for row in response.context["sites"])
    assert all(row["synced"] for row in response.context["contacts"])
    assert not SyncJob.objects.filter(status__in=[JobStatus.FAILED, JobStatus.ABORTED]).exists()
