"""Seed 000's "One-off vs repeat syncs" table: one test per row, after the initial sync."""

import pytest

from connectors.abillity.sync import FIELD_RULES
from connectors.choices import FieldRule
from customers import services
from customers.choices import CustomerStatus
from tests.factories import ContactFactory, ContactTypeFactory, CustomerFactory, SiteFactory

from .helpers import drain, integration, person_of, site_of, sync


@pytest.fixture
def synced(abillity):
    """A customer, its default site and a billing-type contact there, initially synced."""
    integration(False)
    customer = CustomerFactory(
        name="Rowco",
        status=CustomerStatus.PENDING,
        bill_run="Monthly 1st",
        payment_terms="30 days",
        payment_method="Direct Debit",
        sage_account_number="ROW001",
    )
    site = SiteFactory(customer=customer, name="Rowco HQ", is_default=True)
    contact = ContactFactory(
        customer=customer,
        site=site,
        first_name="Rita",
        last_name="Row",
        email="rita@example.com",
        telephone="0113 000 0001",
        contact_type=ContactTypeFactory(),
    )
    integration(True)
    sync(customer)
    return customer, site, contact


def information(emulator, site):
    return emulator.state["billing_information"][str(site_of(emulator, site)["Id"])]


def resave_customer(customer, **changes):
    for name, value in changes.items():
        setattr(customer, name, value)
    services.customer_save(customer=customer)
    drain()


# --- TL Customer → Abillity Site ----------------------------------------------------------
def test_row_bill_run_is_one_off(abillity, synced):
    customer, site, _ = synced
    resave_customer(customer, bill_run="Monthly 15th")
    assert site_of(abillity, site)["BillRunIDLocal"] == 1
    assert FIELD_RULES["billing_information"]["BillRunID"] == FieldRule.ONE_OFF


def test_row_payment_terms_is_one_off(abillity, synced):
    customer, site, _ = synced
    resave_customer(customer, payment_terms="60 days")
    assert information(abillity, site)["PaymentTerms"] == 30


def test_row_payment_method_is_one_off(abillity, synced):
    customer, site, _ = synced
    resave_customer(customer, payment_method="BACS")
    assert information(abillity, site)["PaymentConditionsId"] == 1


def test_row_contact_name_billing_contact_is_one_off(abillity, synced):
    customer, site, contact = synced
    first = information(abillity, site)["BillingContactId"]
    assert first == person_of(abillity, contact)["Id"]
    ContactFactory(
        customer=customer,
        site=site,
        first_name="Newbie",
        email="newbie@example.com",
        contact_type=ContactTypeFactory(),
    )
    drain()
    sync(customer)
    assert information(abillity, site)["BillingContactId"] == first


def test_row_sage_reference_resyncs_on_change(abillity, synced):
    # The summary table says one-off; seed 000's Sage section says it resyncs whenever
    # changed. The resync is implemented (docs/abillity.md).
    customer, site, _ = synced
    resave_customer(customer, sage_account_number="ROW002")
    assert site_of(abillity, site)["AccountRef"] == "ROW002"


def test_row_status_is_repeated_on_status_change(abillity, synced):
    customer, _, _ = synced
    resave_customer(customer, status=CustomerStatus.CANCELLED)
    company = next(iter(abillity.state["companies"].values()))
    assert company["IsCustomer"] is False


# --- TL Site → Abillity Site -----------------------------------------------------------------
def test_row_site_name_is_repeated(abillity, synced):
    _, site, _ = synced
    site.name = "Rowco House"
    services.site_save(site=site)
    drain()
    assert site_of(abillity, site)["SiteName"] == "Rowco House"


def test_row_description_site_ref_is_repeated(abillity, synced):
    _, site, _ = synced
    site.description = "ROW HQ"
    services.site_save(site=site)
    drain()
    assert site_of(abillity, site)["ShortName"] == "ROW HQ"


def test_row_address_is_repeated(abillity, synced):
    from tests.factories import AddressFactory, SiteAddressFactory

    customer, site, _ = synced
    SiteAddressFactory(
        site=site,
        address=AddressFactory(customer=customer, street1="9 Mill Lane"),
        is_site_default=True,
    )
    drain()
    assert site_of(abillity, site)["Address"] == "9 Mill Lane"


# --- TL Contact → Abillity Contact ------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value", "api_field"),
    [
        ("first_name", "Ritz", "Christian"),
        ("last_name", "Rowe", "Surname"),
        ("telephone", "0113 000 0002", "DDI"),
        ("is_primary", True, "MainContact"),
    ],
)
def test_row_contact_fields_are_repeated(abillity, synced, field, value, api_field):
    _, _, contact = synced
    setattr(contact, field, value)
    services.contact_save(contact=contact)
    drain()
    assert person_of(abillity, contact)[api_field] == value
    assert FIELD_RULES["site_contact"][api_field] == FieldRule.REPEATED
