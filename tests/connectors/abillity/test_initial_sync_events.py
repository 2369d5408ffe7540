"""Seed 000's initial sync events, against the emulator over real HTTP.

Seed 000, "Initial sync events": "Lead conversion to customer via quote win", "Manual lead
conversion to customer (through "Sales" menu)", "Sales order creation", "Manual sync from
Abillity menu on customer record" — exactly these four. "Manual customer sync": a customer
"created directly (skipping the lead stage)" has no green tick; staff "use the Sync
Abillity Customer button … to attempt a manual sync", where "the Abillity Customer list
will populate. This allows you to map to an existing customer record in Abillity."
"""

from django.urls import reverse

from connectors.choices import JobStatus
from connectors.models import InitialSyncEvent
from customers import services
from customers.choices import ConversionSource, CustomerStage
from customers.models import Customer
from tests.factories import (
    LeadFactory,
    QuoteFactory,
    SalesOrderFactory,
    SiteFactory,
)

from .helpers import drain, external_id, last_job, sync
from .test_manual_sync import MAPPER, staff, summary_url


def direct_customer(name: str = "Direct Ltd") -> Customer:
    """A customer created directly, as staff do, with its default site."""
    customer = services.customer_save(
        customer=Customer(name=name, stage=CustomerStage.CUSTOMER, bill_run="Monthly 1st")
    )
    SiteFactory(customer=customer, name="Head Office", is_default=True)
    drain()
    return customer


def event_of(customer) -> str | None:
    found = InitialSyncEvent.objects.filter(customer=customer).first()
    return found.event if found else None


def test_a_customer_created_directly_is_not_pushed(abillity):
    customer = direct_customer()
    assert abillity.state["companies"] == {}
    job = last_job("customer", customer)
    assert job.status == JobStatus.SKIPPED
    assert "waits for a manual sync" in job.last_error
    assert event_of(customer) is None


def test_no_save_of_a_never_synced_customer_creates_its_company(abillity):
    customer = direct_customer()
    customer.payment_terms = "30 days"
    services.customer_save(customer=customer)
    site = customer.sites.get()
    site.name = "Head Office Leeds"
    services.site_save(site=site)
    drain()
    assert abillity.state["companies"] == {}
    assert abillity.state["sites"] == {}


def test_the_manual_sync_syncs_it_and_later_saves_keep_syncing(abillity):
    customer = direct_customer()
    assert sync(customer).status == JobStatus.SUCCEEDED
    assert event_of(customer) == InitialSyncEvent.Event.MANUAL_SYNC
    company = external_id("company", "customer", customer)
    assert company

    customer.name = "Direct Group Ltd"
    services.customer_save(customer=customer)
    drain()
    assert abillity.state["companies"][company]["Name"] == "Direct Group Ltd"


def test_a_lead_converted_by_a_won_quote_is_synced(abillity):
    lead = LeadFactory(name="Quoted Ltd", bill_run="Monthly 1st")
    SiteFactory(customer=lead, name="Head Office", is_default=True)
    quote = QuoteFactory(customer=lead)
    services.quote_mark_won(quote=quote)
    drain()
    assert event_of(lead) == InitialSyncEvent.Event.QUOTE_WIN
    assert external_id("company", "customer", lead)


def test_a_lead_converted_by_hand_is_synced(abillity):
    lead = LeadFactory(name="Converted Ltd", bill_run="Monthly 1st")
    SiteFactory(customer=lead, name="Head Office", is_default=True)
    services.customer_convert_lead(customer=lead, source=ConversionSource.MANUAL)
    drain()
    assert event_of(lead) == InitialSyncEvent.Event.LEAD_CONVERSION
    assert external_id("company", "customer", lead)


def test_a_sales_order_created_for_a_direct_customer_syncs_it(abillity):
    customer = direct_customer()
    SalesOrderFactory(customer=customer)
    drain()
    assert event_of(customer) == InitialSyncEvent.Event.SALES_ORDER
    assert external_id("company", "customer", customer)


def test_a_direct_customers_page_offers_the_manual_sync_and_the_mapping(abillity, abillity_client):
    customer = direct_customer()
    client = staff(*MAPPER)
    page = client.get(reverse("admin:customers_customer_change", args=[customer.pk]))
    html = page.content.decode()
    assert "Sync Abillity Customer" in html and summary_url(customer) in html

    summary = client.get(summary_url(customer)).content.decode()
    assert 'name="external_id"' in summary  # map to an existing company, or leave empty

    existing = abillity_client.company_create({"Name": "Direct Ltd", "IsCustomer": True})
    client.post(summary_url(customer), {"external_id": str(existing)}, follow=True)
    drain()
    assert external_id("company", "customer", customer) == str(existing)
    assert len(abillity.state["companies"]) == 1  # mapped, no duplicate made
