"""The aBILLity emulator enforces the documented rules, over real HTTP."""

import pytest

from connectors.abillity.client import AbillityClient
from connectors.errors import ConfigurationError, NotFoundError, PermanentError

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def company(client: AbillityClient, name: str = "Acme Ltd") -> int:
    return client.company_create({"Name": name, "IsCustomer": True})


def test_wrong_credentials_are_refused_with_401(abillity_client):
    abillity_client.password = "wrong"
    with pytest.raises(ConfigurationError, match="401"):
        abillity_client.company_list()


def test_a_company_name_over_50_characters_is_refused(abillity_client):
    with pytest.raises(PermanentError, match="Name - Length must be 50 characters or less"):
        company(abillity_client, "x" * 51)


def test_a_company_needs_a_name(abillity_client):
    with pytest.raises(PermanentError, match="Name field is required"):
        abillity_client.company_create({"IsCustomer": True})


def test_input_keys_are_matched_case_insensitively(abillity_client, abillity_emulator):
    pk = abillity_client.company_create({"name": "Lower Case Ltd", "iscustomer": True})
    stored = abillity_emulator.state["companies"][str(pk)]
    assert stored["Name"] == "Lower Case Ltd"
    assert stored["IsCustomer"] is True


def test_an_empty_company_list_is_a_404_which_the_client_reads_as_empty(
    abillity_client, abillity_emulator
):
    assert abillity_client.company_list() == []
    assert abillity_emulator.calls("GET", "company")[-1]["status"] == 404


def test_a_duplicate_site_short_name_in_one_company_is_refused(abillity_client):
    pk = company(abillity_client)
    abillity_client.site_create(company_id=pk, short_name="S000001")
    with pytest.raises(PermanentError, match="Site short name already exists"):
        abillity_client.site_create(company_id=pk, short_name="S000001")


def test_the_same_short_name_in_another_company_is_allowed(abillity_client):
    abillity_client.site_create(company_id=company(abillity_client, "A"), short_name="S1")
    abillity_client.site_create(company_id=company(abillity_client, "B"), short_name="S1")


def test_a_site_of_an_unknown_company_is_refused_with_404(abillity_client):
    with pytest.raises(NotFoundError, match="Company with id = 99 not found"):
        abillity_client.site_create(company_id=99, short_name="S1")


@pytest.mark.parametrize(
    ("field", "limit"),
    [("Town", 50), ("County", 50), ("PostCode", 20), ("Address", 255), ("AccountRef", 30)],
)
def test_site_field_lengths_are_enforced(abillity_client, field, limit):
    site = abillity_client.site_create(company_id=company(abillity_client), short_name="S1")
    abillity_client.site_update(site, {"SiteName": "ok", "ShortName": "S1", field: "x" * limit})
    with pytest.raises(PermanentError, match=f"{field} - Length must be {limit}"):
        abillity_client.site_update(
            site, {"SiteName": "ok", "ShortName": "S1", field: "x" * (limit + 1)}
        )


def test_a_bill_run_needs_billing_information_first(abillity_client):
    site = abillity_client.site_create(company_id=company(abillity_client), short_name="S1")
    with pytest.raises(PermanentError, match="BillingInformation not found"):
        abillity_client.site_update(site, {"SiteName": "S", "ShortName": "S1", "BillRunID": 1})
    abillity_client.billing_information_put(site, {"PaymentTerms": 30})
    abillity_client.site_update(site, {"SiteName": "S", "ShortName": "S1", "BillRunID": 1})


def test_a_site_contact_needs_a_first_name_and_a_valid_email(abillity_client):
    site = abillity_client.site_create(company_id=company(abillity_client), short_name="S1")
    with pytest.raises(PermanentError, match="Christian field is required"):
        abillity_client.site_contact_create({"SiteID": site, "Email": "a@example.com"})
    with pytest.raises(PermanentError, match="Email - The Email field is required"):
        abillity_client.site_contact_create({"SiteID": site, "Christian": "Ann"})
    with pytest.raises(PermanentError, match="must match the regular expression"):
        abillity_client.site_contact_create(
            {"SiteID": site, "Christian": "Ann", "Email": "ann+tag@example.com"}
        )
    assert abillity_client.site_contact_create(
        {"SiteID": site, "Christian": "Ann", "Email": "ann.lee@example.com"}
    )


def test_the_billing_contact_must_be_a_contact_of_the_same_site(abillity_client):
    pk = company(abillity_client)
    first = abillity_client.site_create(company_id=pk, short_name="S1")
    second = abillity_client.site_create(company_id=pk, short_name="S2")
    person = abillity_client.site_contact_create(
        {"SiteID": first, "Christian": "Ann", "Email": "ann@example.com"}
    )
    with pytest.raises(NotFoundError, match="is not a contact for site"):
        abillity_client.billing_information_put(second, {"BillingContactId": person})
    abillity_client.billing_information_put(first, {"BillingContactId": person})


def test_a_service_charge_cli_must_exist_on_its_site(abillity_client):
    pk = company(abillity_client)
    site = abillity_client.site_create(company_id=pk, short_name="S1")
    charge = {
        "SiteId": site,
        "ChargeId": 2010,
        "FrequencyTypeId": 2,
        "CLI": "07700900123",
        "FirstPayment": "2026-01-01T00:00:00",
        "Rental": True,
    }
    with pytest.raises(NotFoundError, match="The CLI not found for the site provided"):
        abillity_client.service_charge_create(charge)
    abillity_client.cli_create({"SiteId": site, "CLI": "07700900123"})
    assert abillity_client.service_charge_create(charge)


def test_a_one_off_charge_cannot_be_a_rental(abillity_client):
    site = abillity_client.site_create(company_id=company(abillity_client), short_name="S1")
    with pytest.raises(PermanentError, match="one-off charge as a rental"):
        abillity_client.service_charge_create(
            {
                "SiteId": site,
                "ChargeId": 1001,
                "FrequencyTypeId": 3,
                "Rental": True,
                "FirstPayment": "2026-01-01T00:00:00",
            }
        )


def test_a_main_site_clears_the_flag_on_the_companys_other_sites(
    abillity_client, abillity_emulator
):
    pk = company(abillity_client)
    first = abillity_client.site_create(company_id=pk, short_name="S1")
    second = abillity_client.site_create(company_id=pk, short_name="S2")
    abillity_client.site_update(first, {"SiteName": "a", "ShortName": "S1", "MainSite": True})
    abillity_client.site_update(second, {"SiteName": "b", "ShortName": "S2", "MainSite": True})
    sites = abillity_emulator.state["sites"]
    assert sites[str(first)]["MainSite"] is False
    assert sites[str(second)]["MainSite"] is True


def test_the_undocumented_name_parameter_is_ignored_by_default(abillity_client, abillity_emulator):
    # abillity-api.md §4: no GET company page; ?Name= is not documented, so the emulator
    # answers the full list unless a test turns the filter on.
    acme, other = company(abillity_client, "Acme Ltd"), company(abillity_client, "Other Ltd")
    assert [c["Id"] for c in abillity_client.company_list(name="Acme Ltd")] == [acme, other]


def test_a_renamed_company_is_found_by_its_new_name_only(abillity_client, abillity_emulator):
    abillity_emulator.state["honour_company_name_filter"] = True  # the optional reading
    pk = company(abillity_client, "Acme Ltd")
    assert [c["Id"] for c in abillity_client.company_list(name=" acme ltd")] == [pk]

    abillity_client.company_update(pk, {"Name": "Acme Group"})

    assert abillity_client.company_list(name="Acme Ltd") == []
    assert [c["Id"] for c in abillity_client.company_list(name="ACME GROUP")] == [pk]


def test_a_site_contact_stored_on_the_emulator_directly_is_listed_with_its_site(
    abillity_client, abillity_emulator
):
    site = abillity_client.site_create(company_id=company(abillity_client), short_name="S1")
    made = abillity_client.site_contact_create(
        {"SiteID": site, "Christian": "Ann", "Email": "ann@example.com"}
    )
    assert [c["Id"] for c in abillity_client.site_contacts(site)] == [made]

    abillity_emulator.state["site_contacts"]["99"] = {"Id": 99, "SiteID": site, "Christian": "Bo"}

    assert [c["Id"] for c in abillity_client.site_contacts(site)] == [made, 99]
