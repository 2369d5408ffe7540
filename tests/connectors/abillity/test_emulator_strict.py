"""The aBILLity emulator refuses what the public documentation refuses
(``../shared/platforms/abillity-api.md``): each model validated as sent, charge types with
their frequency, PUT replacing and PATCH updating, the CP-user rules, the 90-day backdate
limit, ``ServiceChargeView``'s nested models. Each test cites the section it comes from;
where the docs are silent the emulator's reading is listed in docs/abillity.md ("Where the
emulator chooses").

The emulator is called directly (its ``handle``), the way the sandbox view calls it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from connectors.abillity.sandbox import SANDBOX_CREDENTIALS
from connectors.sandbox import EmulatorRequest

pytestmark = pytest.mark.django_db

HEADERS = {
    "SystemInformation": SANDBOX_CREDENTIALS["systeminformation"],
    "username": SANDBOX_CREDENTIALS["username"],
    "password": SANDBOX_CREDENTIALS["password"],
}


def call(emulator, method: str, path: str, body: Any = None, query=None) -> tuple[int, Any]:
    response = emulator.handle(
        EmulatorRequest(
            method=method, path=path, query=query or {}, headers=dict(HEADERS), body=body
        )
    )
    return response.status, response.body


def ok(emulator, method: str, path: str, body: Any = None) -> Any:
    status, answer = call(emulator, method, path, body)
    assert status in (200, 201), (status, answer)
    return answer


def refused(emulator, method: str, path: str, body: Any = None) -> tuple[int, str]:
    status, answer = call(emulator, method, path, body)
    assert status >= 400, (status, answer)
    return status, answer["Message"]


def days_ago(days: int) -> str:
    return f"{(date.today() - timedelta(days=days)).isoformat()}T00:00:00"


@pytest.fixture
def emulator(abillity_emulator):
    return abillity_emulator


@pytest.fixture
def site(emulator) -> int:
    company = ok(emulator, "POST", "company", {"Name": "Acme Ltd", "IsCustomer": True})["Id"]
    return ok(emulator, "POST", "site", {"CompanyId": company, "ShortName": "S1"})["Id"]


@pytest.fixture
def contact(emulator, site) -> int:
    return ok(
        emulator,
        "POST",
        "sitecontact",
        {"SiteID": site, "Christian": "Ann", "Surname": "Lee", "Email": "ann@example.com"},
    )["Id"]


def charge_body(site: int, **fields: Any) -> dict[str, Any]:
    return {
        "SiteId": site,
        "ChargeId": 2010,  # Line rental: Monthly (2)
        "FrequencyTypeId": 2,
        "Description": "Business Mobile",
        "SalesPrice": 12.5,
        "FirstPayment": days_ago(10),
        "Rental": True,
        **fields,
    }


# --- §8 site contacts: Required fields on PATCH and PUT too --------------------------------
def test_a_contact_patch_without_email_is_refused(emulator, contact):
    # §8 SiteContactModify: "Same fields, limits and required flags as SiteContactPost";
    # Email is Required. Today's connector PATCH (names, DDI, MainContact) is refused.
    status, message = refused(
        emulator,
        "PATCH",
        f"sitecontact/{contact}",
        {"Christian": "Ann", "Surname": "Lee", "DDI": "", "MainContact": False},
    )
    assert (status, message) == (400, "Email - The Email field is required.")
    assert emulator.state["site_contacts"][str(contact)]["Surname"] == "Lee"  # unchanged


def test_a_contact_patch_without_christian_is_refused(emulator, contact):
    # §8: Christian is Required on SiteContactModify.
    status, message = refused(
        emulator, "PATCH", f"sitecontact/{contact}", {"Email": "ann@example.com"}
    )
    assert (status, message) == (400, "Christian - The Christian field is required.")


def test_a_contact_patch_updates_only_the_fields_sent(emulator, contact):
    # §3 "PUT vs PATCH": PATCH = "update selected details".
    ok(
        emulator,
        "PATCH",
        f"sitecontact/{contact}",
        {"Christian": "Anne", "Email": "ann@example.com"},
    )
    stored = emulator.state["site_contacts"][str(contact)]
    assert (stored["Christian"], stored["Surname"]) == ("Anne", "Lee")


def test_a_contact_put_replaces_every_field(emulator, contact):
    # §3 "PUT vs PATCH": PUT = "update all details"; omitted fields become null.
    ok(emulator, "PUT", f"sitecontact/{contact}", {"Christian": "Anne", "Email": "a@example.com"})
    assert emulator.state["site_contacts"][str(contact)]["Surname"] is None


# --- §6 sites -------------------------------------------------------------------------------
def test_a_site_patch_without_its_required_names_is_refused(emulator, site):
    # §6 SiteModify: SiteName and ShortName Required; PATCH enforcing them is the stricter
    # reading of "not stated".
    status, message = refused(emulator, "PATCH", f"site/{site}", {"Town": "Leeds"})
    assert (status, message) == (400, "SiteName - The SiteName field is required.")


def test_a_site_put_replaces_and_a_patch_updates(emulator, site):
    names = {"SiteName": "Head Office", "ShortName": "S1"}
    ok(emulator, "PATCH", f"site/{site}", {**names, "Town": "Leeds", "PostCode": "LS1 1AA"})
    ok(emulator, "PATCH", f"site/{site}", {**names, "Town": "York"})
    assert emulator.state["sites"][str(site)]["PostCode"] == "LS1 1AA"
    ok(emulator, "PUT", f"site/{site}", {**names, "Town": "Hull"})
    assert emulator.state["sites"][str(site)]["PostCode"] is None


def test_a_bill_run_on_a_site_without_billing_information_is_refused(emulator, site):
    # §6 SiteModify errors: "403 BillingInformation not found for site ID X".
    body = {"SiteName": "Head Office", "ShortName": "S1", "BillRunID": 1}
    assert refused(emulator, "PATCH", f"site/{site}", body) == (
        403,
        f"BillingInformation not found for site ID {site}",
    )
    ok(emulator, "PUT", f"site/{site}/billinginformation", {})
    ok(emulator, "PATCH", f"site/{site}", body)


@pytest.mark.parametrize("field", ["AccountRef", "BillRunID"])
def test_a_non_cp_login_may_not_set_account_ref_or_bill_run(emulator, site, field):
    # §6 SiteModify errors: "403 Only a CP user can update the AccountRef / BillRunID".
    emulator.state["cp_login"] = False
    ok(emulator, "PUT", f"site/{site}/billinginformation", {})
    body = {
        "SiteName": "Head Office",
        "ShortName": "S1",
        field: "A1" if field == "AccountRef" else 1,
    }
    assert refused(emulator, "PATCH", f"site/{site}", body) == (
        403,
        f"Only a CP user can update the {field}",
    )


def test_a_non_cp_login_may_not_change_the_billing_site(emulator, site):
    # §6 setbillingaddress: "401 User need CP permission to change billing address".
    emulator.state["cp_login"] = False
    assert refused(emulator, "PATCH", f"site/{site}/setbillingaddress", {"Id": site}) == (
        401,
        "User need CP permission to change billing address",
    )


# --- §7 billing information ---------------------------------------------------------------
def test_billing_information_put_replaces_and_patch_keeps_what_was_typed(emulator, site):
    # §1: PUT "add/replace", PATCH "update"; §3 PUT vs PATCH.
    path = f"site/{site}/billinginformation"
    ok(emulator, "PUT", path, {"Email": "accounts@acme.example", "PaymentTerms": 30})
    ok(emulator, "PATCH", path, {"PaymentTerms": 14})
    assert emulator.state["billing_information"][str(site)]["Email"] == "accounts@acme.example"
    ok(emulator, "PUT", path, {"PaymentTerms": 7})
    assert emulator.state["billing_information"][str(site)]["Email"] is None


def test_billing_information_patch_before_any_exists_is_refused(emulator, site):
    # §7: "A site starts without one … PUT is the documented way to add it".
    status, _ = refused(emulator, "PATCH", f"site/{site}/billinginformation", {"PaymentTerms": 1})
    assert status == 404


# --- §10 service charges -------------------------------------------------------------------
@pytest.mark.parametrize("frequency", [1, 4, 3])
def test_a_charge_type_that_does_not_suit_the_frequency_is_refused(emulator, site, frequency):
    # §10 rule 3: "ChargeId must exist and suit the frequency"; PATCH's message
    # "servicecharge.ChargeId, Invalid ChargeId". 2010 is a Monthly type.
    body = charge_body(site, FrequencyTypeId=frequency, Rental=frequency != 3)
    assert refused(emulator, "POST", "servicecharge", body) == (
        400,
        "servicecharge.ChargeId, Invalid ChargeId",
    )
    assert not emulator.state["service_charges"]


def test_a_patch_to_a_charge_type_of_another_frequency_is_refused(emulator, site):
    pk = ok(emulator, "POST", "servicecharge", charge_body(site))["Id"]
    assert refused(emulator, "PATCH", f"servicecharge/{pk}", {"ChargeId": 2200}) == (
        400,
        "servicecharge.ChargeId, Invalid ChargeId",
    )
    # §10 PUT: "401 Invalid Charge Id (labelled Bad Request)".
    assert refused(emulator, "PUT", f"servicecharge/{pk}", charge_body(site, ChargeId=2300)) == (
        401,
        "Invalid Charge Id",
    )


def test_an_unknown_charge_type_is_refused(emulator, site):
    status, message = refused(emulator, "POST", "servicecharge", charge_body(site, ChargeId=9999))
    assert (status, message) == (400, "servicecharge.ChargeId, Invalid ChargeId")


def test_a_charge_without_a_charge_type_needs_a_frequency_and_a_description(emulator, site):
    # §10 rules 1 and 2; the 404s are the documented quirk (§3).
    body = charge_body(site)
    del body["ChargeId"], body["FrequencyTypeId"]
    assert refused(emulator, "POST", "servicecharge", body) == (
        404,
        "Either ChargeId or FrequencyTypeID should be provided",
    )
    body = {**charge_body(site), "Description": ""}
    del body["ChargeId"]
    assert refused(emulator, "POST", "servicecharge", body) == (
        400,
        "Description is required unless a chargeId provided",
    )
    body["Description"] = "Leased Line"
    assert ok(emulator, "POST", "servicecharge", body)["Id"]


def test_a_quantity_of_0_is_refused_on_create_and_update(emulator, site):
    # §10 rule 6 and POST errors: "You cannot set a quantity of 0".
    assert refused(emulator, "POST", "servicecharge", charge_body(site, Quantity=0)) == (
        400,
        "You cannot set a quantity of 0",
    )
    pk = ok(emulator, "POST", "servicecharge", charge_body(site, Quantity=8))["Id"]
    assert refused(emulator, "PATCH", f"servicecharge/{pk}", {"Quantity": 0}) == (
        400,
        "You cannot set a quantity of 0",
    )


def test_an_open_charge_description_is_unique_on_its_site_cli_and_frequency(emulator, site):
    # §10 ServiceChargePostRequest: Description is a "unique description" (scope chosen).
    ok(emulator, "POST", "servicecharge", charge_body(site))
    status, message = refused(emulator, "POST", "servicecharge", charge_body(site))
    assert (status, message) == (400, "Description - The Description must be unique.")
    # A one-off charge of the same name (another frequency) is another charge.
    ok(
        emulator,
        "POST",
        "servicecharge",
        charge_body(site, ChargeId=1001, FrequencyTypeId=3, Rental=False),
    )


def test_a_backdated_charge_may_start_at_most_90_days_ago(emulator, site):
    # §10 BackDatable: "may charge a previous billing period (max 90 days back)".
    status, message = refused(
        emulator,
        "POST",
        "servicecharge",
        charge_body(site, BackDatable=True, FirstPayment=days_ago(92)),
    )
    assert status == 400 and "at most 90 days" in message
    ok(
        emulator,
        "POST",
        "servicecharge",
        charge_body(site, BackDatable=True, FirstPayment=days_ago(89)),
    )
    old = ok(
        emulator,
        "POST",
        "servicecharge",
        charge_body(site, Description="Older", BackDatable=False, FirstPayment=days_ago(200)),
    )["Id"]
    # Ending a charge does not move its start: allowed however old the start.
    ok(emulator, "PATCH", f"servicecharge/{old}", {"LastPayment": days_ago(1)})


def test_a_one_off_charge_cannot_be_a_rental(emulator, site):
    # §10 rule 5.
    body = charge_body(site, ChargeId=1001, FrequencyTypeId=3, Rental=True)
    assert refused(emulator, "POST", "servicecharge", body) == (
        400,
        "Attempted to set a one-off charge as a rental, or vice-versa",
    )


def test_the_frequency_must_be_1_to_4(emulator, site):
    # §10 POST errors: 404 "Invalid FrequencyTypeId"; PATCH: 400 (must be 1 to 4).
    body = charge_body(site, FrequencyTypeId=5)
    del body["ChargeId"]
    assert refused(emulator, "POST", "servicecharge", body) == (404, "Invalid FrequencyTypeId")
    pk = ok(emulator, "POST", "servicecharge", charge_body(site))["Id"]
    assert refused(emulator, "PATCH", f"servicecharge/{pk}", {"FrequencyTypeId": 5}) == (
        400,
        "Invalid FrequencyTypeId",
    )


def test_a_charge_put_replaces_and_a_patch_updates(emulator, site):
    # §3 "PUT vs PATCH".
    pk = ok(emulator, "POST", "servicecharge", charge_body(site, SerialNo="SN1"))["Id"]
    ok(emulator, "PATCH", f"servicecharge/{pk}", {"SalesPrice": 13.0})
    assert emulator.state["service_charges"][str(pk)]["SerialNo"] == "SN1"
    body = charge_body(site)
    del body["SiteId"]
    ok(emulator, "PUT", f"servicecharge/{pk}", body)
    assert emulator.state["service_charges"][str(pk)]["SerialNo"] is None


def test_a_service_charge_is_read_as_the_documented_view(emulator, site):
    # §10 ServiceChargeView: Id, SiteId, LastUpdated, ServiceChargeType, ActualValues, then
    # Description … SerialNo; nothing after SerialNo is recorded, so nothing more is shown.
    pk = ok(emulator, "POST", "servicecharge", charge_body(site, Quantity=8))["Id"]
    view = ok(emulator, "GET", f"servicecharge/{pk}")
    assert list(view)[:5] == ["Id", "SiteId", "LastUpdated", "ServiceChargeType", "ActualValues"]
    assert view["ServiceChargeType"]["Id"] == 2010
    assert view["ServiceChargeType"]["FrequencyTypeId"] == 2
    assert view["ActualValues"]["SalesPrice"] == 12.5
    assert view["ActualValues"]["Quantity"] == 8
    assert list(view)[-1] == "SerialNo"
    assert "Rental" not in view and "BackDatable" not in view


def test_reading_a_charge_of_a_reseller_company_is_refused(emulator, site):
    # §10 GET api/servicecharge/{id}: "409 This company is set to be a reseller".
    pk = ok(emulator, "POST", "servicecharge", charge_body(site))["Id"]
    company = emulator.state["sites"][str(site)]["CompanyId"]
    ok(emulator, "PATCH", f"company/{company}", {"IsReseller": True, "IsCustomer": True})
    assert refused(emulator, "GET", f"servicecharge/{pk}") == (
        409,
        "This company is set to be a reseller",
    )
