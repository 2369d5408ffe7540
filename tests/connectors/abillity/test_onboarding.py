"""The onboarding import (seed 003's import direction), against the emulator over real HTTP."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from connectors.abillity import mappers
from connectors.abillity.onboarding import (
    Outcome,
    abillity_companies_import,
    street_lines,
)
from connectors.choices import Entity, JobStatus
from connectors.errors import ConfigurationError
from connectors.models import Binding, SyncJob
from connectors.prepare import sync_prepare
from customers import services
from customers.choices import CustomerStage, CustomerStatus, LeadOrigin
from customers.models import (
    Address,
    CompanySettings,
    Contact,
    Customer,
    CustomerClass,
    Site,
    SiteAddress,
)
from tests.factories import CustomerFactory

from .helpers import drain, external_id, integration, sync

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

HEAD_OFFICE = {
    "name": "Head Office",
    "short_name": "HO",
    "address": "1 Park Row",
    "town": "Leeds",
    "county": "West Yorkshire",
    "postcode": "LS1 5HN",
    "account_ref": "ACME001",
    "main": True,
    "people": [
        {
            "Christian": "Ann",
            "Surname": "Lee",
            "Email": "ann.lee@acme.example",
            "DDI": "0113 496 0001",
            "MainContact": True,
        }
    ],
}
DEPOT = {
    "name": "Depot",
    "short_name": "DEP",
    "address": "Unit 4, Canal Road",
    "town": "Leeds",
    "county": "West Yorkshire",
    "postcode": "LS12 2DE",
    "account_ref": "ACME001",
    "main": False,
    "people": [{"Christian": "Bob", "Surname": "Ray", "Email": "bob.ray@acme.example"}],
}


def seed_company(client, name="Acme Telecoms", *, sites=(), is_customer=True) -> dict:
    """A company made through the emulator's API; sites in order, subsites billed to the main
    one. Returns the Abillity ids: company, then sites and people by name."""
    company_id = client.company_create({"Name": name, "IsCustomer": is_customer})
    ids = {"company": company_id}
    for site in sites:
        site_id = client.site_create(
            company_id=company_id, short_name=site["short_name"], account_ref=site["account_ref"]
        )
        client.site_update(
            site_id,
            {
                "SiteName": site["name"],
                "ShortName": site["short_name"],
                "Address": site["address"],
                "Town": site["town"],
                "County": site["county"],
                "PostCode": site["postcode"],
                "MainSite": site["main"],
            },
        )
        ids[site["name"]] = site_id
        for person in site["people"]:
            ids[person["Christian"]] = client.site_contact_create({"SiteID": site_id, **person})
    main = next((ids[site["name"]] for site in sites if site["main"]), None)
    for site in sites:
        if main is not None and ids[site["name"]] != main:
            client.site_set_billing_address(ids[site["name"]], main)
    return ids


@pytest.fixture
def acme(abillity, abillity_client):
    """Acme Telecoms in Abillity: the Depot made first, the Head Office its main site."""
    return seed_company(abillity_client, sites=[DEPOT, HEAD_OFFICE])


def run_import(client, **options):
    options.setdefault("customer_class", None)
    return abillity_companies_import(client=client, **options)


def run_command(*args):
    out = io.StringIO()
    call_command("import_abillity", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def bound(role, entity, record):
    return Binding.objects.get(platform="abillity", role=role, entity=entity, object_id=record.pk)


def writes_since(emulator, count):
    """The calls that changed something on the platform, after the first ``count`` calls."""
    return [call for call in list(emulator.requests)[count:] if call["method"] != "GET"]


def record_counts():
    return {
        model.__name__: model.objects.count()
        for model in (Customer, Site, Address, SiteAddress, Contact, Binding)
    }


# --- what is made --------------------------------------------------------------------
def test_an_imported_company_becomes_a_customer_bound_to_it(acme, abillity_client):
    summary = run_import(abillity_client)
    customer = Customer.objects.get()
    assert customer.name == "Acme Telecoms"
    assert customer.stage == CustomerStage.CUSTOMER
    assert customer.status == CustomerStatus.LIVE
    assert customer.lead.origin == LeadOrigin.DIRECT  # created directly, as the service does
    assert external_id("company", "customer", customer) == str(acme["company"])
    assert [c.outcome for c in summary.companies] == [Outcome.IMPORTED]
    assert summary.companies[0].customer_id == customer.pk


def test_a_company_that_is_not_a_customer_is_imported_cancelled(abillity, abillity_client):
    seed_company(abillity_client, "Former Ltd", sites=[HEAD_OFFICE], is_customer=False)
    run_import(abillity_client)
    assert Customer.objects.get().status == CustomerStatus.CANCELLED


def test_the_companys_main_site_becomes_the_default_site(acme, abillity_client):
    run_import(abillity_client)
    customer = Customer.objects.get()
    default = customer.sites.get(is_default=True)
    assert default.name == "Head Office"
    assert customer.sites.filter(is_default=True).count() == 1
    assert external_id("billing_site", "customer", customer) == str(acme["Head Office"])


def test_without_a_main_site_the_site_billed_to_itself_becomes_the_default(
    abillity, abillity_client
):
    ids = seed_company(abillity_client, sites=[{**DEPOT, "main": False}, {**HEAD_OFFICE}])
    abillity.state["sites"][str(ids["Head Office"])]["MainSite"] = False
    abillity.state["sites"][str(ids["Depot"])]["BillingAddress"] = ids["Head Office"]
    summary = run_import(abillity_client)
    assert Site.objects.get(is_default=True).name == "Head Office"
    assert any("No site is marked MainSite" in note for note in summary.companies[0].notes)


def test_sites_keep_their_name_short_name_and_address(acme, abillity_client):
    run_import(abillity_client)
    depot = Site.objects.get(name="Depot")
    assert depot.description == "DEP"
    link = depot.address_links.get()
    assert link.is_site_default
    address = link.address
    assert (address.street1, address.street2, address.street3) == ("Unit 4", "Canal Road", "")
    assert (address.city, address.county, address.postcode) == (
        "Leeds",
        "West Yorkshire",
        "LS12 2DE",
    )
    assert external_id("site", "site", depot) == str(acme["Depot"])


def test_sites_with_the_same_address_share_one_address(abillity, abillity_client):
    seed_company(abillity_client, sites=[HEAD_OFFICE, {**DEPOT, **_same_place(HEAD_OFFICE)}])
    summary = run_import(abillity_client)
    address = Address.objects.get()
    assert set(address.sites.values_list("name", flat=True)) == {"Head Office", "Depot"}
    assert summary.counts()["addresses"] == 1


def _same_place(site):
    return {key: site[key] for key in ("address", "town", "county", "postcode")}


def test_site_people_become_contacts_of_their_site(acme, abillity_client):
    run_import(abillity_client)
    ann = Contact.objects.get(first_name="Ann")
    assert (ann.last_name, ann.email, ann.telephone) == (
        "Lee",
        "ann.lee@acme.example",
        "0113 496 0001",
    )
    assert ann.is_primary is True
    assert ann.site.name == "Head Office"
    bob = Contact.objects.get(first_name="Bob")
    assert bob.is_primary is False
    assert bob.site.name == "Depot"
    assert external_id("site_contact", "contact", ann) == str(acme["Ann"])
    assert external_id("site_contact", "contact", bob) == str(acme["Bob"])


def test_an_account_ref_all_sites_share_becomes_the_sage_account_number(acme, abillity_client):
    run_import(abillity_client)
    assert Customer.objects.get().sage_account_number == "ACME001"


def test_account_refs_that_differ_leave_the_sage_account_number_blank(abillity, abillity_client):
    seed_company(abillity_client, sites=[HEAD_OFFICE, {**DEPOT, "account_ref": "ACME002"}])
    summary = run_import(abillity_client)
    assert Customer.objects.get().sage_account_number == ""
    assert any("different AccountRefs (ACME001, ACME002)" in n for n in summary.companies[0].notes)


def test_a_value_the_layers_rules_change_is_noted_and_not_sent(acme, abillity, abillity_client):
    settings_row = CompanySettings.load()
    settings_row.sage_sync_active = True  # site descriptions are then formed, never typed
    settings_row.save()
    before = len(abillity.requests)
    summary = run_import(abillity_client)
    drain()
    assert Site.objects.get(name="Depot").description == "ACME001 - Depot"
    assert any(
        'Site "Depot": ShortName is "ACME001 - Depot" in The Layer and "DEP" in Abillity' in note
        for note in summary.companies[0].notes
    )
    assert writes_since(abillity, before) == []


def test_two_companies_of_one_name_make_one_customer_even_in_a_dry_run(abillity, abillity_client):
    seed_company(abillity_client, "Acme Telecoms", sites=[HEAD_OFFICE])
    seed_company(abillity_client, "ACME Telecoms", sites=[DEPOT])
    summary = run_import(abillity_client, dry_run=True)
    assert [c.outcome for c in summary.companies] == [Outcome.IMPORTED, Outcome.CONFLICT]
    assert 'Another company of this import is named "ACME Telecoms"' in (
        summary.companies[1].message
    )


def test_the_default_customer_class_is_given_to_imported_customers(acme, abillity_client):
    wholesale = CustomerClass.objects.create(code="WHOLESALE")
    summary = run_import(abillity_client, customer_class=wholesale)
    assert Customer.objects.get().customer_class == wholesale
    assert summary.customer_class == "WHOLESALE"


def test_only_the_named_companies_are_imported(abillity, abillity_client):
    seed_company(abillity_client, "Acme Telecoms", sites=[HEAD_OFFICE])
    beta = seed_company(abillity_client, "Beta Comms", sites=[DEPOT])
    summary = run_import(abillity_client, company_ids=[beta["company"], 999])
    assert list(Customer.objects.values_list("name", flat=True)) == ["Beta Comms"]
    assert summary.errors[0].message == "Abillity has no company 999."


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("1 Park Row", ("1 Park Row", "", "")),
        ("Unit 4, Canal Road", ("Unit 4", "Canal Road", "")),
        ("Unit 4, Mill Yard, Canal Road, Armley", ("Unit 4", "Mill Yard", "Canal Road, Armley")),
        ("Unit 4,  Canal Road", ("Unit 4,  Canal Road", "", "")),
    ],
)
def test_street_lines_join_back_to_the_abillity_address(text, lines):
    assert street_lines(text) == lines
    address = Address(street1=lines[0], street2=lines[1], street3=lines[2])
    assert mappers.address_fields(address)["Address"] == text


# --- the sync carries on -----------------------------------------------------------------
def test_an_imported_customer_syncs_back_with_no_write(acme, abillity, abillity_client):
    before = len(abillity.requests)
    run_import(abillity_client)
    drain()
    customer = Customer.objects.get()
    assert sync(customer).status == JobStatus.NO_CHANGE
    assert writes_since(abillity, before) == []
    jobs = SyncJob.objects.all()
    assert {job.entity for job in jobs} == {Entity.CUSTOMER, Entity.SITE, Entity.CONTACT}
    assert {job.status for job in jobs} == {JobStatus.NO_CHANGE}


def test_a_change_to_an_imported_site_is_sent_as_an_update(acme, abillity, abillity_client):
    run_import(abillity_client)
    drain()
    before = len(abillity.requests)
    site = Site.objects.get(name="Depot")
    site.name = "Canal Road Depot"
    services.site_save(site=site)
    drain()
    sent = [(call["method"], call["path"]) for call in writes_since(abillity, before)]
    assert sent == [("PATCH", f"site/{acme['Depot']}")]
    assert abillity.state["sites"][str(acme["Depot"])]["SiteName"] == "Canal Road Depot"
    assert len(abillity.state["sites"]) == 2


def test_the_billing_details_of_imported_sites_are_left_as_abillity_has_them(
    acme, abillity, abillity_client
):
    integration(False)  # imported with the integration off: no job runs until later
    run_import(abillity_client)
    integration(True)
    before = len(abillity.requests)
    customer = Customer.objects.get()
    customer.payment_terms = "30 days"  # one-off: sent to a site only when it is created
    services.customer_save(customer=customer)
    drain()
    assert writes_since(abillity, before) == []
    assert abillity.state["billing_information"] == {}


def test_a_bulk_prepare_after_the_import_finds_everything_up_to_date(acme, abillity_client):
    run_import(abillity_client)
    drain()
    assert sync_prepare(platform="abillity").prepared == 0


# --- idempotency, conflicts, errors ---------------------------------------------------------
def test_rerunning_the_import_creates_no_duplicates(acme, abillity_client):
    run_import(abillity_client)
    made = record_counts()
    again = run_import(abillity_client)
    assert record_counts() == made
    assert made["Customer"] == 1 and made["Site"] == 2 and made["Contact"] == 2
    assert [c.outcome for c in again.companies] == [Outcome.ALREADY_IMPORTED]
    assert again.counts()["companies"] == 0


def test_a_company_named_like_an_existing_customer_is_reported_not_duplicated(
    acme, abillity_client
):
    integration(False)
    existing = CustomerFactory(name="ACME TELECOMS")
    integration(True)
    summary = run_import(abillity_client)
    assert list(Customer.objects.all()) == [existing]
    conflict = summary.conflicts[0]
    assert f'A customer named "ACME TELECOMS" #{existing.pk} already exists' in conflict.message
    assert "map-to-existing" in conflict.message
    assert not Binding.objects.filter(role="company", external_id=str(acme["company"])).exists()


def test_a_company_without_sites_is_an_error_and_the_others_are_imported(acme, abillity_client):
    abillity_client.company_create({"Name": "Empty Ltd", "IsCustomer": True})
    summary = run_import(abillity_client)
    assert list(Customer.objects.values_list("name", flat=True)) == ["Acme Telecoms"]
    assert summary.errors[0].name == "Empty Ltd"
    assert "It has no sites in Abillity" in summary.errors[0].message


def test_a_person_without_an_email_fails_only_their_company(acme, abillity, abillity_client):
    beta = seed_company(abillity_client, "Beta Comms", sites=[DEPOT])
    person = abillity.next_id("site_contact")
    abillity.state["site_contacts"][str(person)] = {
        "Id": person,
        "SiteID": beta["Depot"],
        "Christian": "Cat",
        "Surname": "Moss",
        "Email": None,
        "MainContact": False,
    }
    summary = run_import(abillity_client)
    assert list(Customer.objects.values_list("name", flat=True)) == ["Acme Telecoms"]
    assert Contact.objects.count() == 2 and Site.objects.count() == 2  # Beta's rolled back
    error = summary.errors[0]
    assert error.name == "Beta Comms"
    assert f'Person "Cat Moss" (Abillity id {person}) at site "Depot" has no email' in (
        error.message
    )
    assert error.sites == error.contacts == 0


# --- the command -----------------------------------------------------------------------------
def test_the_command_prints_a_summary(acme):
    output = run_command()
    assert "Made: 1 customer, 2 sites, 2 contacts, 2 addresses." in output
    assert "Already imported: 0. Conflicts: 0. Errors: 0." in output
    assert Customer.objects.filter(name="Acme Telecoms").exists()


def test_the_command_json_output_summarises_each_company(acme):
    CustomerClass.objects.create(code="SME")
    summary = json.loads(run_command("--json", "--customer-class", "SME"))
    assert summary["dry_run"] is False
    assert summary["customer_class"] == "SME"
    assert summary["counts"] == {
        "companies": 1,
        "sites": 2,
        "contacts": 2,
        "addresses": 2,
        "already_imported": 0,
        "conflicts": 0,
        "errors": 0,
    }
    [company] = summary["companies"]
    assert company["company_id"] == acme["company"]
    assert company["outcome"] == "imported"
    assert company["customer_id"] == Customer.objects.get().pk


def test_the_customer_class_setting_is_the_default_class(acme, settings):
    CustomerClass.objects.create(code="WHOLESALE")
    settings.ABILLITY_IMPORT_CUSTOMER_CLASS = "WHOLESALE"
    run_command()
    assert Customer.objects.get().customer_class.code == "WHOLESALE"


def test_an_unknown_customer_class_is_refused_and_nothing_is_imported(acme, abillity):
    CustomerClass.objects.create(code="SME")
    before = len(abillity.requests)
    with pytest.raises(CommandError, match=r'Unknown customer class "NOPE".*the classes are SME'):
        run_command("--customer-class", "NOPE")
    assert not Customer.objects.exists()
    assert len(abillity.requests) == before  # not even read


def test_dry_run_writes_nothing(acme, abillity):
    before = len(abillity.requests)
    summary = json.loads(run_command("--dry-run", "--json"))
    assert summary["dry_run"] is True
    assert summary["counts"]["companies"] == 1
    assert summary["counts"]["sites"] == 2
    assert summary["companies"][0]["customer_id"] is None
    assert set(record_counts().values()) == {0}
    assert not SyncJob.objects.exists()
    assert writes_since(abillity, before) == []


def test_refused_credentials_stop_the_import(acme, abillity_client):
    abillity_client.password = "wrong"
    with pytest.raises(ConfigurationError, match="401"):
        run_import(abillity_client)
    assert not Customer.objects.exists()
