"""Seed 000's rules for customers, sites and contacts, against the emulator over real HTTP."""

from collections import Counter

import pytest

from connectors.choices import ErrorKind, JobStatus
from connectors.models import SyncJob
from customers import services
from customers.choices import CustomerStatus
from tests.factories import (
    AddressFactory,
    ContactFactory,
    ContactTypeFactory,
    CustomerFactory,
    SiteAddressFactory,
    SiteFactory,
)

from .helpers import (
    company_of,
    drain,
    external_id,
    integration,
    last_job,
    person_of,
    site_of,
    sync,
    writes,
)


@pytest.fixture
def customer(abillity):
    """A customer with a default site and a second site, built before the sync."""
    integration(False)
    customer = CustomerFactory(
        name="Acme Telecoms",
        bill_run="Monthly 1st",
        payment_terms="30 days",
        payment_method="Direct Debit",
        sage_account_number="ACME001",
    )
    SiteFactory(customer=customer, name="Head Office", is_default=True)
    SiteFactory(customer=customer, name="Depot")
    integration(True)
    return customer


def sites(customer):
    return {site.name: site for site in customer.sites.all()}


# --- customer → company ------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "ticked"),
    [
        (CustomerStatus.LIVE, True),
        (CustomerStatus.PENDING, True),
        (CustomerStatus.CANCELLED, False),
    ],
)
def test_customer_status_decides_the_customer_contact_type(abillity, customer, status, ticked):
    customer.status = status
    integration(False)
    services.customer_save(customer=customer)
    integration(True)
    assert sync(customer).status == JobStatus.SUCCEEDED
    assert company_of(abillity, customer)["IsCustomer"] is ticked
    assert company_of(abillity, customer)["Name"] == "Acme Telecoms"


def test_a_status_change_is_resent(abillity, customer):
    sync(customer)
    customer.status = CustomerStatus.CANCELLED
    services.customer_save(customer=customer)
    drain()
    assert company_of(abillity, customer)["IsCustomer"] is False
    customer.status = CustomerStatus.LIVE
    services.customer_save(customer=customer)
    drain()
    assert company_of(abillity, customer)["IsCustomer"] is True


def test_vat_registration_is_not_sent(abillity, customer):
    customer.vat_number = "GB123456789"
    services.customer_save(customer=customer)
    sync(customer)
    sent = [call["body"] for call in writes(abillity) if call["path"].startswith("company")]
    assert sent and all("VAT" not in str(body).upper() for body in sent)


def test_a_customer_name_over_50_characters_is_refused_not_cut(abillity, customer):
    integration(False)
    customer.name = "A" * 51
    services.customer_save(customer=customer)
    integration(True)
    job = sync(customer)
    assert job.status == JobStatus.FAILED
    assert job.error_kind == ErrorKind.PERMANENT
    assert "51 characters long; Abillity takes at most 50" in job.last_error
    assert abillity.state["companies"] == {}


def test_an_existing_company_of_the_same_name_is_found_not_duplicated(
    abillity, customer, abillity_client
):
    existing = abillity_client.company_create({"Name": "Acme Telecoms", "IsCustomer": True})
    sync(customer)
    assert list(abillity.state["companies"]) == [str(existing)]
    assert external_id("company", "customer", customer) == str(existing)


@pytest.mark.parametrize("honoured", [False, True])
def test_the_company_look_up_works_on_the_documented_list_whether_name_is_honoured_or_not(
    abillity, customer, abillity_client, honoured
):
    # abillity-api.md §4 "Not found": GET api/company?Name= is not documented. The
    # connector may send it as an optimisation; a system that ignores it answers the full
    # list, and the connector still finds the company by comparing the names itself.
    abillity.state["honour_company_name_filter"] = honoured
    for n in range(3):
        abillity_client.company_create({"Name": f"Other company {n}", "IsCustomer": True})
    existing = abillity_client.company_create({"Name": " ACME telecoms", "IsCustomer": True})
    sync(customer)
    look_up = next(call for call in abillity.requests if call["method"] == "GET")
    assert look_up["path"] == "company"
    assert look_up["status"] == 200
    assert external_id("company", "customer", customer) == str(existing)
    assert len(abillity.state["companies"]) == 4  # found, not made again


# --- sites ------------------------------------------------------------------------------
def test_the_default_site_becomes_billing_site_and_head_office(abillity, customer):
    sync(customer)
    head_office = site_of(abillity, sites(customer)["Head Office"])
    assert head_office["MainSite"] is True
    assert head_office["BillingAddress"] == head_office["Id"]
    assert external_id("billing_site", "customer", customer) == str(head_office["Id"])


def test_other_sites_become_subsites_billed_to_the_billing_site(abillity, customer):
    sync(customer)
    head_office = site_of(abillity, sites(customer)["Head Office"])
    depot = site_of(abillity, sites(customer)["Depot"])
    assert depot["MainSite"] is False
    assert depot["BillingAddress"] == head_office["Id"]
    assert depot["CompanyId"] == head_office["CompanyId"]


def test_layer_subsites_are_not_synced(abillity, customer):
    integration(False)
    parent = sites(customer)["Depot"]
    SiteFactory(customer=customer, name="Depot annexe", parent=parent)
    integration(True)
    sync(customer)
    names = {site["SiteName"] for site in abillity.state["sites"].values()}
    assert names == {"Head Office", "Depot"}


def test_changing_the_default_site_later_does_not_move_the_billing_site(abillity, customer):
    sync(customer)
    depot = sites(customer)["Depot"]
    depot.is_default = True
    services.site_save(site=depot)
    drain()
    assert site_of(abillity, sites(customer)["Head Office"])["MainSite"] is True
    assert site_of(abillity, depot)["MainSite"] is False
    assert external_id("billing_site", "customer", customer) == str(
        site_of(abillity, sites(customer)["Head Office"])["Id"]
    )


def test_site_name_and_description_resync_on_change(abillity, customer):
    sync(customer)
    depot = sites(customer)["Depot"]
    depot.name = "North Depot"
    depot.description = "Depot north"
    services.site_save(site=depot)
    drain()
    assert site_of(abillity, depot)["SiteName"] == "North Depot"
    assert site_of(abillity, depot)["ShortName"] == "Depot north"


def test_the_site_ref_is_the_short_name_when_there_is_no_description(abillity, customer):
    sync(customer)
    depot = sites(customer)["Depot"]
    assert site_of(abillity, depot)["ShortName"] == depot.site_ref


def test_one_address_per_site_chosen_by_the_priority_chain(abillity, customer):
    integration(False)
    head_office = sites(customer)["Head Office"]
    link = SiteAddressFactory(
        site=head_office,
        address=AddressFactory(customer=customer, street1="1 Main Road", street2="Floor 2"),
        is_site_default=True,
    )
    integration(True)
    sync(customer)
    sent = site_of(abillity, head_office)
    assert sent["Address"] == "1 Main Road, Floor 2"
    assert (sent["Town"], sent["County"], sent["PostCode"]) == (
        "Leeds",
        "West Yorkshire",
        "LS1 4AP",
    )
    # Step 2: the depot has no address of its own and takes the default site's.
    assert site_of(abillity, sites(customer)["Depot"])["Address"] == "1 Main Road, Floor 2"
    assert link.address.pk


def test_a_change_to_an_address_resyncs_every_site_using_it(abillity, customer):
    integration(False)
    address = AddressFactory(customer=customer, street1="1 Main Road")
    SiteAddressFactory(site=sites(customer)["Head Office"], address=address, is_site_default=True)
    integration(True)
    sync(customer)
    address.street1 = "2 New Road"
    services.address_save(address=address)
    drain()
    assert site_of(abillity, sites(customer)["Head Office"])["Address"] == "2 New Road"
    assert site_of(abillity, sites(customer)["Depot"])["Address"] == "2 New Road"


# --- billing details ------------------------------------------------------------------
def test_bill_run_payment_terms_and_method_are_written_to_every_site(abillity, customer):
    sync(customer)
    for site in sites(customer).values():
        sent = site_of(abillity, site)
        assert sent["BillRunIDLocal"] == 1
        information = abillity.state["billing_information"][str(sent["Id"])]
        assert information["PaymentTerms"] == 30
        assert information["PaymentConditionsId"] == 1


def test_a_bill_run_alone_is_set_after_the_site_gets_its_billing_information_record(abillity):
    # aBILLity refuses a bill run on a site with no billing information (a 403 rule).
    integration(False)
    customer = CustomerFactory(
        name="Bill Run Only Ltd", bill_run="Monthly 1st", payment_terms="", payment_method=""
    )
    site = SiteFactory(customer=customer, name="Only Site", is_default=True)
    integration(True)

    job = sync(customer)

    assert job.status == JobStatus.SUCCEEDED, job.last_error
    sent = site_of(abillity, site)
    assert sent["BillRunIDLocal"] == 1
    assert str(sent["Id"]) in abillity.state["billing_information"]


def test_billing_details_are_one_off(abillity, customer):
    sync(customer)
    customer.payment_terms = "14 days"
    services.customer_save(customer=customer)
    drain()
    head_office = site_of(abillity, sites(customer)["Head Office"])
    assert abillity.state["billing_information"][str(head_office["Id"])]["PaymentTerms"] == 30


def test_a_new_site_that_would_disagree_with_the_others_is_refused(abillity, customer):
    sync(customer)
    customer.bill_run = "Monthly 15th"
    services.customer_save(customer=customer)
    drain()
    annex = SiteFactory(customer=customer, name="Annex")
    drain()
    job = last_job("site", annex)
    assert job.status == JobStatus.FAILED
    assert "differs from what its other Abillity sites were given" in job.last_error


def test_an_unmapped_bill_run_fails_with_a_message_naming_it(abillity, customer):
    integration(False)
    customer.bill_run = "Fortnightly"
    services.customer_save(customer=customer)
    integration(True)
    job = sync(customer)
    site_job = last_job("site", sites(customer)["Head Office"])
    messages = f"{job.last_error} {site_job.last_error if site_job else ''}"
    assert 'No Abillity bill run id is set for "Fortnightly"' in messages


# --- Sage ------------------------------------------------------------------------------------
def test_the_sage_number_goes_to_every_site_and_resyncs_on_change(abillity, customer):
    sync(customer)
    assert {s["AccountRef"] for s in abillity.state["sites"].values()} == {"ACME001"}
    customer.sage_account_number = "ACME002"
    services.customer_save(customer=customer)
    drain()
    assert {s["AccountRef"] for s in abillity.state["sites"].values()} == {"ACME002"}


# --- billing contact ---------------------------------------------------------------------
def test_a_site_contact_of_a_billing_type_is_the_billing_contact(abillity, customer):
    integration(False)
    head_office = sites(customer)["Head Office"]
    ContactFactory(customer=customer, site=head_office, first_name="Other", email="o@example.com")
    billing = ContactFactory(
        customer=customer,
        site=head_office,
        first_name="Bill",
        email="bill@example.com",
        contact_type=ContactTypeFactory(),
    )
    integration(True)
    sync(customer)
    information = abillity.state["billing_information"][str(site_of(abillity, head_office)["Id"])]
    assert information["BillingContactId"] == person_of(abillity, billing)["Id"]


def test_the_billing_contact_is_never_resent(abillity, customer):
    integration(False)
    head_office = sites(customer)["Head Office"]
    ContactFactory(
        customer=customer,
        site=head_office,
        first_name="Bill",
        email="bill@example.com",
        contact_type=ContactTypeFactory(),
    )
    integration(True)
    sync(customer)
    ContactFactory(
        customer=customer,
        site=head_office,
        first_name="Newer",
        email="newer@example.com",
        contact_type=ContactTypeFactory(),
    )
    drain()
    sync(customer)
    puts = [c for c in writes(abillity) if c["path"].endswith("billinginformation")]
    head_office_id = site_of(abillity, head_office)["Id"]
    assert len([c for c in puts if c["path"] == f"site/{head_office_id}/billinginformation"]) == 1


# --- contacts ------------------------------------------------------------------------------
def test_contacts_go_to_the_people_of_their_site(abillity, customer):
    integration(False)
    depot = sites(customer)["Depot"]
    contact = ContactFactory(
        customer=customer,
        site=depot,
        first_name="Dee",
        last_name="Pott",
        email="dee@example.com",
        telephone="0113 496 0001",
        is_primary=True,
    )
    integration(True)
    sync(customer)
    person = person_of(abillity, contact)
    assert person["SiteID"] == site_of(abillity, depot)["Id"]
    assert (person["Christian"], person["Surname"], person["DDI"]) == (
        "Dee",
        "Pott",
        "0113 496 0001",
    )
    assert person["MainContact"] is True


def test_a_contact_with_no_site_goes_to_the_billing_site(abillity, customer):
    integration(False)
    contact = ContactFactory(customer=customer, first_name="Nos", email="nos@example.com")
    integration(True)
    sync(customer)
    assert (
        person_of(abillity, contact)["SiteID"]
        == site_of(abillity, sites(customer)["Head Office"])["Id"]
    )


def test_a_contact_change_is_resent(abillity, customer):
    integration(False)
    contact = ContactFactory(customer=customer, first_name="Ann", email="ann@example.com")
    integration(True)
    sync(customer)
    contact.telephone = "0113 496 0999"
    contact.is_primary = True
    services.contact_save(contact=contact)
    drain()
    assert person_of(abillity, contact)["DDI"] == "0113 496 0999"
    assert person_of(abillity, contact)["MainContact"] is True


def test_a_contact_without_an_email_fails_with_a_clear_message(abillity, customer):
    integration(False)
    contact = ContactFactory(customer=customer, first_name="Noemail", email="")
    integration(True)
    sync(customer)
    job = last_job("contact", contact)
    assert job.status == JobStatus.FAILED
    assert "has no email address; Abillity needs one" in job.last_error


def test_contacts_are_synced_on_every_customer_sync(abillity, customer):
    integration(False)
    contact = ContactFactory(customer=customer, first_name="Ann", email="ann@example.com")
    integration(True)
    sync(customer)
    abillity.state["site_contacts"].clear()  # lost on the platform's side
    sync(customer)
    assert last_job("contact", contact).status in (JobStatus.NO_CHANGE, JobStatus.SUCCEEDED)


def test_the_initial_sync_queues_no_second_job_for_the_billing_site_and_contact(abillity, customer):
    """They are synced inside the customer's job, after its company: the customer sync's
    fan-out to its sites and contacts leaves them out; the other site gets its job."""
    integration(False)
    billing = ContactFactory(customer=customer, first_name="Bill", email="bill@example.com")
    other = ContactFactory(customer=customer, first_name="Ann", email="ann@example.com")
    integration(True)
    sync(customer)
    jobs = {
        (job.entity, job.object_id): job.status
        for job in SyncJob.objects.filter(platform="abillity").exclude(entity="customer")
    }
    counts = Counter(SyncJob.objects.filter(platform="abillity").values_list("entity", "object_id"))
    head_office, depot = sites(customer)["Head Office"], sites(customer)["Depot"]
    assert counts[("site", head_office.pk)] == 1
    assert counts[("site", depot.pk)] == 1 and jobs[("site", depot.pk)] == JobStatus.SUCCEEDED
    assert {counts[("contact", billing.pk)], counts[("contact", other.pk)]} == {1}
    assert all(status == JobStatus.SUCCEEDED for status in jobs.values()), jobs


# --- resync --------------------------------------------------------------------------------
def test_an_unchanged_resync_writes_nothing(abillity, customer):
    integration(False)
    ContactFactory(customer=customer, first_name="Ann", email="ann@example.com")
    integration(True)
    sync(customer)
    before = len(writes(abillity))
    sync(customer)
    assert len(writes(abillity)) == before


# --- the documented contract (abillity-api.md) -------------------------------------------------
def test_a_contact_update_carries_the_required_christian_and_email(abillity, customer):
    # abillity-api.md §8: SiteContactModify marks Christian and Email Required (PATCH too).
    # Email is one-off: the one the person was made with goes again, not a later change.
    integration(False)
    contact = ContactFactory(customer=customer, first_name="Ann", email="ann@example.com")
    integration(True)
    sync(customer)
    contact.telephone = "0113 496 0999"
    contact.email = "ann.new@example.com"
    services.contact_save(contact=contact)
    drain()
    assert last_job("contact", contact).status == JobStatus.SUCCEEDED
    patch = [c for c in writes(abillity) if c["method"] == "PATCH" and "sitecontact" in c["path"]]
    assert patch and patch[-1]["status"] == 200
    assert patch[-1]["body"]["Email"] == "ann@example.com"
    assert patch[-1]["body"]["Christian"] == "Ann"
    assert person_of(abillity, contact)["DDI"] == "0113 496 0999"


def test_billing_information_is_written_before_any_update_of_a_new_site(abillity, customer):
    # abillity-api.md §16.10 "Order of writes" and §6's 403 "BillingInformation not found":
    # a new site's billing information goes before any PATCH of the site.
    sync(customer)
    calls = writes(abillity)
    for site in sites(customer).values():
        site_id = site_of(abillity, site)["Id"]
        first_information = next(
            n for n, c in enumerate(calls) if c["path"] == f"site/{site_id}/billinginformation"
        )
        first_update = next(
            n
            for n, c in enumerate(calls)
            if c["method"] == "PATCH" and c["path"] == f"site/{site_id}"
        )
        assert first_information < first_update


def test_an_adopted_site_keeps_the_billing_emails_typed_in_abillity(
    abillity, customer, abillity_client
):
    # abillity-api.md §1/§3: PUT billinginformation replaces the record, PATCH updates it;
    # seed 000 keeps billing details one-off so what was typed in aBILLity survives.
    from connectors.abillity.mappers import site_short_name

    company = abillity_client.company_create({"Name": "Acme Telecoms", "IsCustomer": True})
    head_office = sites(customer)["Head Office"]
    existing = abillity_client.site_create(
        company_id=company, short_name=site_short_name(head_office)
    )
    abillity_client.billing_information_put(
        existing, {"Email": "invoices@acme.example", "PaymentTerms": 45}
    )

    job = sync(customer)

    assert job.status == JobStatus.SUCCEEDED, job.last_error
    assert site_of(abillity, head_office)["Id"] == existing
    information = abillity.state["billing_information"][str(existing)]
    assert information["Email"] == "invoices@acme.example"  # not wiped
    assert information["PaymentTerms"] == 30  # the changed field, by PATCH
    path = f"site/{existing}/billinginformation"
    puts = [c for c in writes(abillity) if c["method"] == "PUT" and c["path"] == path]
    assert len(puts) == 1  # the test's own: the connector only PATCHed
