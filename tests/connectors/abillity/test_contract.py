"""The Abillity connector against aBILLity's public documentation, without the emulator.

``responses`` stands in for aBILLity and answers exactly as the documentation shows
(``../shared/platforms/abillity-api.md``; where it records no answer, an empty 200; where
it is silent the project's assumptions of its §17). Each request the connector makes is
checked against the documented model of its endpoint: the field names in their documented
casing, nothing the model lacks, the Required fields present, the documented types and
limits. One test per endpoint and method the connector uses, and one per field it sends,
each citing its section.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import responses

from billing import export, services
from billing.choices import AssetStatus, BillingFrequency, ItemType, PlatformCode
from billing.models import BillingPlatform
from connectors.abillity.mappers import site_short_name
from connectors.abillity.sync import sandbox_charge_types_ensure
from connectors.choices import JobStatus
from connectors.engine.entity_settings import entity_settings_ensure
from connectors.models import ValueMapping
from customers import services as customer_services
from tests.factories import (
    AssetFactory,
    ContactFactory,
    ContactTypeFactory,
    CustomerFactory,
    InventoryItemFactory,
    SiteFactory,
    platform,
)

from .helpers import drain, integration, sync

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BASE = "https://api.abillity.example.test/api/"

STR, INT, BOOL, NUMBER, DATE, OBJECT = "string", "int", "bool", "decimal", "date", "object"

# The documented request models: field → (type, limit or None, Required).
COMPANY_MODIFY = {  # §4 CompanyModify; §17: POST api/company takes its fields
    "Name": (STR, 50, False),
    "IsCustomer": (BOOL, None, False),
    "IsAgent": (BOOL, None, False),
    "IsCarrier": (BOOL, None, False),
    "IsReseller": (BOOL, None, False),
    "IsSupplier": (BOOL, None, False),
    "IsOperator": (BOOL, None, False),
    "IsProspect": (BOOL, None, False),
    "DateSigned": (DATE, None, False),
    "DateReceived": (DATE, None, False),
    "DateLive": (DATE, None, False),
    "LastContacted": (DATE, None, False),
    "IsConsumer": (BOOL, None, False),
}
SITE_POST = {  # §6 SitePostRequest
    "CompanyId": (INT, None, True),
    "ShortName": (STR, 255, True),
    "AccountRef": (STR, None, False),
    "SetToEarliestCompanyBillingAddress": (BOOL, None, False),
}
SITE_MODIFY = {  # §6 SiteModify
    "BillRunID": (INT, None, False),
    "SiteName": (STR, 255, True),
    "ShortName": (STR, 255, True),
    "Address": (STR, 255, False),
    "Town": (STR, 50, False),
    "County": (STR, 50, False),
    "PostCode": (STR, 20, False),
    "Fax": (STR, 30, False),
    "Telephone": (STR, 30, False),
    "MainSite": (BOOL, None, False),
    "AccountRef": (STR, 30, False),
}
SITE_BILLING_ADDRESS = {"Id": (INT, None, False)}  # §6 SiteBillingAddress
BILLING_INFORMATION_MODIFY = {  # §7 BillingInformationModify
    "BillingContactId": (INT, None, False),
    "Email": (STR, 255, False),
    "PaymentTerms": (INT, None, False),
    "PaymentConditionsId": (INT, None, False),
    "DirectDebitInformation": (OBJECT, None, False),
    "CreditCardInformation": (OBJECT, None, False),
}
SITE_CONTACT_POST = {  # §8 SiteContactPost
    "SiteID": (INT, None, True),
    "Title": (STR, 4, False),
    "Surname": (STR, 40, False),
    "Christian": (STR, 40, True),
    "DDI": (STR, 34, False),
    "Mobile": (STR, 17, False),
    "Email": (STR, 255, True),
    "Extension": (STR, 5, False),
    "MainContact": (BOOL, None, False),
    "PreventSDeskNotify": (BOOL, None, False),
}
# §8 SiteContactModify: the same, SiteID not required.
SITE_CONTACT_MODIFY = {**SITE_CONTACT_POST, "SiteID": (INT, None, False)}
CLI_POST = {  # §17: POST api/cli (no documented page)
    "SiteId": (INT, None, True),
    "CLI": (STR, 17, True),
    "PresentationAlias": (STR, 17, False),
    "StartDate": (DATE, None, False),
    "ContractStartDate": (DATE, None, False),
    "EndDate": (DATE, None, False),
    "ContractEndDate": (DATE, None, False),
    "CostCentre1": (STR, 50, False),
    "Suppress": (BOOL, None, False),
}
CLI_PATCH = {  # §9 CLIPatch (PUT api/cli/{id})
    "LineTypeID": (INT, None, False),
    "CallType": (STR, 10, False),
    "ChargesEndDate": (DATE, None, False),
    "StartDate": (DATE, None, False),
    "EndDate": (DATE, None, False),
    "ContractStartDate": (DATE, None, False),
    "ContractEndDate": (DATE, None, False),
    "CustomColumns": (OBJECT, None, False),
}
SERVICE_CHARGE_POST = {  # §10 ServiceChargePostRequest (requirements from its error list)
    "SiteId": (INT, None, True),
    "Description": (STR, 100, False),
    "ContractId": (INT, None, False),
    "CLI": (STR, 17, False),
    "ChargeId": (INT, None, False),
    "FrequencyTypeId": (INT, None, False),
    "SalesPrice": (NUMBER, None, False),
    "CostPrice": (NUMBER, None, False),
    "BaselineCost": (NUMBER, None, False),
    "Quantity": (INT, None, False),
    "FirstPayment": (DATE, None, True),
    "LastPayment": (DATE, None, False),
    "SerialNo": (STR, 40, False),
    "Rental": (BOOL, None, False),
    "Import": (BOOL, None, False),
    "Suppress": (BOOL, None, False),
    "BillNow": (BOOL, None, False),
    "Notes": (STR, None, False),
    "BackDatable": (BOOL, None, False),
    "RefundRental": (BOOL, None, False),
    "BillRunId": (INT, None, False),
}
# §10 ServiceChargeModify: the same minus SiteId.
SERVICE_CHARGE_MODIFY = {k: v for k, v in SERVICE_CHARGE_POST.items() if k != "SiteId"}
SERVICE_CHARGE_MODIFY["FirstPayment"] = (DATE, None, False)

# (method, path pattern) → (the documented body model or None for no body, section).
ENDPOINTS: dict[tuple[str, str], tuple[dict | None, str]] = {
    ("GET", r"company"): (None, "§17 (GET api/company)"),
    ("POST", r"company"): (COMPANY_MODIFY, "§17 (POST api/company)"),
    ("PATCH", r"company/\d+"): (COMPANY_MODIFY, "§4 PATCH api/company/{id}"),
    ("GET", r"company/\d+/Site"): (None, "§1 GET api/company/{id}/Site"),
    ("POST", r"site"): (SITE_POST, "§6 SitePostRequest"),
    ("PATCH", r"site/\d+"): (SITE_MODIFY, "§6 SiteModify"),
    ("PATCH", r"site/\d+/setbillingaddress"): (SITE_BILLING_ADDRESS, "§6 setbillingaddress"),
    ("GET", r"site/\d+/billinginformation"): (None, "§7 BillingInformationView"),
    ("PUT", r"site/\d+/billinginformation"): (BILLING_INFORMATION_MODIFY, "§7"),
    ("PATCH", r"site/\d+/billinginformation"): (BILLING_INFORMATION_MODIFY, "§7"),
    ("GET", r"site/\d+/SiteContact"): (None, "§8 GET api/site/{id}/SiteContact"),
    ("POST", r"sitecontact"): (SITE_CONTACT_POST, "§8 SiteContactPost"),
    ("PATCH", r"sitecontact/\d+"): (SITE_CONTACT_MODIFY, "§8 SiteContactModify"),
    ("GET", r"cli/bycli/[^/]+"): (None, "§9 GET api/cli/bycli/{cli}"),
    ("POST", r"cli"): (CLI_POST, "§17 (POST api/cli)"),
    ("PUT", r"cli/\d+"): (CLI_PATCH, "§9 CLIPatch"),
    ("GET", r"site/\d+/servicecharge/cli/[^/]+"): (None, "§10 ServiceChargeView[]"),
    ("POST", r"servicecharge"): (SERVICE_CHARGE_POST, "§10 ServiceChargePostRequest"),
    ("PATCH", r"servicecharge/\d+"): (SERVICE_CHARGE_MODIFY, "§10 ServiceChargeModify"),
}

DATE_SENT = re.compile(r"^\d{4}-\d{2}-\d{2}T00:00:00$")  # §3 Dates, §16.7


def problems_of(body: Any, model: dict[str, tuple[str, int | None, bool]]) -> list[str]:
    """What in ``body`` the documented ``model`` does not allow."""
    if not isinstance(body, dict):
        return [f"the body is {type(body).__name__}, not a JSON object"]
    found = []
    for name, value in body.items():
        if name not in model:
            found.append(f"{name} is not a field of the model (or not in its casing)")
            continue
        kind, limit, _ = model[name]
        if value is None:
            continue
        if kind == STR and not isinstance(value, str):
            found.append(f"{name} is not a string")
        elif kind == STR and limit is not None and len(value) > limit:
            found.append(f"{name} is longer than {limit}")
        elif kind == INT and (isinstance(value, bool) or not isinstance(value, int)):
            found.append(f"{name} is not an integer")
        elif kind == BOOL and not isinstance(value, bool):
            found.append(f"{name} is not true/false")
        elif kind == NUMBER and (isinstance(value, bool) or not isinstance(value, (int, float))):
            found.append(f"{name} is not a number")
        elif kind == DATE and not (isinstance(value, str) and DATE_SENT.match(value)):
            found.append(f"{name} is not a date sent as YYYY-MM-DDT00:00:00")
        elif kind == OBJECT and not isinstance(value, dict):
            found.append(f"{name} is not an object")
    for name, (_, _, required) in model.items():
        if required and (body.get(name) is None or body.get(name) == ""):
            found.append(f"{name} is Required and missing")
    return found


class DocumentedAbillity:
    """aBILLity as the documentation shows it, for one scripted conversation."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.mock = mock
        self.calls: list[dict[str, Any]] = []
        self.next_id = 100
        self.companies: list[dict[str, Any]] = []
        self.sites_of: dict[int, list[dict[str, Any]]] = {}
        self.existing_information: dict[int, dict[str, Any]] = {}
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            mock.add_callback(method, re.compile(re.escape(BASE) + r".*"), callback=self.answer)

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def answer(self, request) -> tuple[int, dict[str, str], str]:
        path = request.path_url.split("?", 1)[0][len("/api/") :]
        body = json.loads(request.body) if request.body else None
        route = next(
            (key for key in ENDPOINTS if key[0] == request.method and re.fullmatch(key[1], path)),
            None,
        )
        self.calls.append(
            {
                "method": request.method,
                "path": path,
                "route": route,
                "body": body,
                "url": request.url,
            }
        )
        if route is None:
            return 404, {}, json.dumps({"Message": "No HTTP resource was found"})
        return self._reply(request.method, route[1], path, body)

    def _reply(self, method, pattern, path, body) -> tuple[int, dict, str]:
        json_type = {"Content-Type": "application/json"}
        number = int(re.findall(r"\d+", path)[0]) if re.search(r"\d", path) else 0
        if method == "POST":
            # §6 SitePostResponse {"Id"}; §16.4/§17: the other creates answer the same.
            return 200, json_type, json.dumps({"Id": self._new_id()})
        if method == "GET":
            if pattern == r"site/\d+/billinginformation":
                found = self.existing_information.get(number)
                if found is None:
                    # §7: "No billing information found for site with id = x".
                    message = f"No billing information found for site with id = {number}"
                    return 404, json_type, json.dumps({"Message": message})
                return 200, json_type, json.dumps({"Id": number, **found})
            if pattern == r"company" and self.companies:
                return 200, json_type, json.dumps(self.companies)  # §17: Id, Name, IsCustomer
            if pattern == r"company/\d+/Site" and self.sites_of.get(number):
                return 200, json_type, json.dumps(self.sites_of[number])  # §6 SiteView[]
            # §3: an empty list is a 404 ("No … found").
            return 404, json_type, json.dumps({"Message": "No records found"})
        if pattern in (r"site/\d+/billinginformation",):
            self.existing_information.setdefault(number, {}).update(body or {})
        # §1: update answers are not recorded ("?"), setbillingaddress answers none.
        return 200, {}, ""

    def requests(self, method: str, pattern: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["route"] == (method, pattern)]


@pytest.fixture
def documented(settings):
    settings.ABILLITY_API_URL = BASE
    settings.ABILLITY_SYSTEM_INFORMATION = "acme-branding"
    settings.ABILLITY_USERNAME = "layer-cp"
    settings.ABILLITY_PASSWORD = "s3cret-pass"
    BillingPlatform.objects.update_or_create(
        code="abillity", defaults={"name": "Abillity", "integration_enabled": True}
    )
    entity_settings_ensure()
    for kind, value, external in (
        ("bill_run", "Monthly 1st", "1"),
        ("payment_method", "BACS", "2"),
    ):
        ValueMapping.objects.update_or_create(
            platform="abillity", kind=kind, layer_value=value, defaults={"external_value": external}
        )
    sandbox_charge_types_ensure()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield DocumentedAbillity(mock)


@pytest.fixture
def conversation(documented):
    """A customer with two sites and a billing contact synced, a contact and a site changed,
    an asset sent through the Billing Export and then ceased: every call the connector
    makes, answered as documented."""
    integration(False)
    customer = CustomerFactory(
        name="Acme Telecoms",
        bill_run="Monthly 1st",
        payment_terms="30 days",
        payment_method="BACS",
        sage_account_number="ACME001",
    )
    head_office = SiteFactory(customer=customer, name="Head Office", is_default=True)
    SiteFactory(customer=customer, name="Depot")
    billing_type = ContactTypeFactory(name="Accounts", is_billing=True)
    contact = ContactFactory(
        customer=customer,
        site=head_office,
        contact_type=billing_type,
        first_name="Ann",
        last_name="Lee",
        email="ann@example.com",
    )
    # A second customer already in aBILLity, its site with billing e-mails typed there.
    beta = CustomerFactory(
        name="Beta Ltd", bill_run="Monthly 1st", payment_terms="14 days", payment_method="BACS"
    )
    beta_site = SiteFactory(customer=beta, name="Beta HQ", is_default=True)
    documented.companies.append({"Id": 5, "Name": "Beta Ltd", "IsCustomer": True})
    documented.sites_of[5] = [
        {  # §6 SiteView
            "Id": 50,
            "CompanyId": 5,
            "BillingAddress": 50,
            "CustomProperties": [],
            "BillRunIDLocal": None,
            "BillRunNameLocal": None,
            "BillRunIDInherited": None,
            "BillRunNameInherited": None,
            "LastUpdated": "2026-01-05T10:00:00.000",
            "SiteName": "Beta HQ",
            "ShortName": site_short_name(beta_site),
            "Address": None,
            "Town": None,
            "County": None,
            "PostCode": None,
            "Fax": None,
            "Telephone": None,
            "MainSite": True,
            "AccountRef": None,
        }
    ]
    documented.existing_information[50] = {  # §7 BillingInformationView
        "BillingContact": None,
        "PaymentConditions": "BACS",
        "isBillingInfoRedacted": False,
        "BillingContactId": None,
        "Email": "invoices@beta.example",
        "PaymentTerms": 30,
        "PaymentConditionsId": 2,
    }
    integration(True)
    first = sync(customer)
    assert first.status == JobStatus.SUCCEEDED, first.last_error
    adopted = sync(beta)
    assert adopted.status == JobStatus.SUCCEEDED, adopted.last_error

    contact.telephone = "0113 496 0999"
    customer_services.contact_save(contact=contact)
    head_office.name = "Head Office Leeds"
    customer_services.site_save(site=head_office)
    customer.name = "Acme Telecoms Group"
    customer_services.customer_save(customer=customer)
    drain()

    abillity = platform(PlatformCode.ABILLITY)
    item = InventoryItemFactory(
        name="Business Mobile 10GB",
        item_type=ItemType.SERVICE,
        upfront_route=abillity,
        recurring_route=abillity,
        data_description="1001",
        pricing_tier="2010",
        billing_frequency=BillingFrequency.MONTHLY,
        sell_price=Decimal("25.00"),
        recurring_sell_price=Decimal("12.50"),
        rrp=Decimal("18.00"),
    )
    asset = AssetFactory(
        customer=customer,
        site=head_office,
        inventory_item=item,
        identifier="07700900001",
        connection_date=date.today(),
    )
    asset.quantity = 3
    services.asset_save(asset=asset)
    export.billing_transfer(route=abillity, line_ids=[asset.sales_order_line_id])
    drain()
    asset.refresh_from_db()
    asset.status = AssetStatus.CEASED
    asset.cease_date = date.today()
    services.asset_save(asset=asset)
    drain()
    return documented


# --- one test per endpoint and method --------------------------------------------------------
@pytest.mark.parametrize(("method", "pattern"), list(ENDPOINTS), ids=lambda v: str(v))
def test_each_call_is_a_documented_endpoint_with_a_documented_body(conversation, method, pattern):
    model, section = ENDPOINTS[(method, pattern)]
    made = conversation.requests(method, pattern)
    assert made, f"the connector never called {method} {pattern} ({section})"
    for call in made:
        if model is None:
            assert call["body"] is None, f"{method} {call['path']} takes no body ({section})"
        else:
            assert problems_of(call["body"], model) == [], (section, call["path"], call["body"])


def test_the_connector_calls_nothing_undocumented(conversation):
    # §1 endpoint index (and §17 for the project's assumed company and CLI calls).
    assert [c for c in conversation.calls if c["route"] is None] == []


def test_every_call_carries_the_header_credentials(conversation):
    # §2a: SystemInformation, username and password headers on every call.
    for call in conversation.mock.calls:
        headers = call.request.headers
        assert headers["SystemInformation"] == "acme-branding"
        assert (headers["username"], headers["password"]) == ("layer-cp", "s3cret-pass")
        assert headers["Accept"] == "application/json"


# --- one test per field the connector sends ----------------------------------------------------
FIELDS_SENT = [
    ("POST", r"company", "Name"),
    ("POST", r"company", "IsCustomer"),
    ("PATCH", r"company/\d+", "Name"),
    ("POST", r"site", "CompanyId"),
    ("POST", r"site", "ShortName"),
    ("POST", r"site", "AccountRef"),
    ("PATCH", r"site/\d+", "SiteName"),
    ("PATCH", r"site/\d+", "ShortName"),
    ("PATCH", r"site/\d+", "Address"),
    ("PATCH", r"site/\d+", "Town"),
    ("PATCH", r"site/\d+", "County"),
    ("PATCH", r"site/\d+", "PostCode"),
    ("PATCH", r"site/\d+", "MainSite"),
    ("PATCH", r"site/\d+", "AccountRef"),
    ("PATCH", r"site/\d+", "BillRunID"),
    ("PATCH", r"site/\d+/setbillingaddress", "Id"),
    ("PUT", r"site/\d+/billinginformation", "PaymentTerms"),
    ("PUT", r"site/\d+/billinginformation", "PaymentConditionsId"),
    ("PUT", r"site/\d+/billinginformation", "BillingContactId"),
    ("PATCH", r"site/\d+/billinginformation", "PaymentTerms"),
    ("POST", r"sitecontact", "SiteID"),
    ("POST", r"sitecontact", "Christian"),
    ("POST", r"sitecontact", "Surname"),
    ("POST", r"sitecontact", "DDI"),
    ("POST", r"sitecontact", "Email"),
    ("POST", r"sitecontact", "MainContact"),
    ("PATCH", r"sitecontact/\d+", "Christian"),
    ("PATCH", r"sitecontact/\d+", "Email"),
    ("PATCH", r"sitecontact/\d+", "DDI"),
    ("POST", r"cli", "SiteId"),
    ("POST", r"cli", "CLI"),
    ("POST", r"cli", "PresentationAlias"),
    ("POST", r"cli", "StartDate"),
    ("POST", r"cli", "ContractStartDate"),
    ("POST", r"cli", "CostCentre1"),
    ("POST", r"cli", "Suppress"),
    ("PUT", r"cli/\d+", "EndDate"),
    ("PUT", r"cli/\d+", "ContractEndDate"),
    ("POST", r"servicecharge", "SiteId"),
    ("POST", r"servicecharge", "ChargeId"),
    ("POST", r"servicecharge", "Description"),
    ("POST", r"servicecharge", "FrequencyTypeId"),
    ("POST", r"servicecharge", "SalesPrice"),
    ("POST", r"servicecharge", "BaselineCost"),
    ("POST", r"servicecharge", "FirstPayment"),
    ("POST", r"servicecharge", "CLI"),
    ("POST", r"servicecharge", "Rental"),
    ("POST", r"servicecharge", "RefundRental"),
    ("POST", r"servicecharge", "BackDatable"),
    ("PATCH", r"servicecharge/\d+", "LastPayment"),
]


@pytest.mark.parametrize(("method", "pattern", "field"), FIELDS_SENT, ids=lambda v: str(v))
def test_each_field_sent_is_in_its_documented_model_with_its_documented_type(
    conversation, method, pattern, field
):
    model, section = ENDPOINTS[(method, pattern)]
    assert field in model, f"{field} is not in {section}"
    carrying = [c for c in conversation.requests(method, pattern) if field in c["body"]]
    assert carrying, f"no {method} {pattern} carried {field}"
    for call in carrying:
        assert problems_of({field: call["body"][field]}, {field: model[field]}) == []


# --- the rules the documentation states --------------------------------------------------------
def test_quantity_is_never_sent_and_units_are_in_the_price(conversation):
    # §10: Quantity is the "number of billing periods the charge runs" and never 0.
    charges = conversation.requests("POST", r"servicecharge")
    assert {c["body"]["FrequencyTypeId"] for c in charges} == {2, 3}
    assert all("Quantity" not in c["body"] for c in charges)
    prices = sorted(c["body"]["SalesPrice"] for c in charges)
    assert prices == [37.5, 75.0]  # 3 units of 12.50 and of 25.00


def test_a_charge_type_and_its_frequency_agree(conversation):
    # §10 rule 3: ChargeId must suit FrequencyTypeId (1001 one-off, 2010 monthly: §11).
    pairs = {
        (c["body"]["ChargeId"], c["body"]["FrequencyTypeId"])
        for c in conversation.requests("POST", r"servicecharge")
    }
    assert pairs == {(1001, 3), (2010, 2)}


def test_billing_information_is_put_once_per_site_before_any_site_update(conversation):
    # §7 "PUT is the documented way to add it"; §16.10 order of writes; §6 403 rule.
    puts = conversation.requests("PUT", r"site/\d+/billinginformation")
    assert len({c["path"] for c in puts}) == len(puts) == 2  # Acme's two new sites
    patches = conversation.requests("PATCH", r"site/\d+/billinginformation")
    for put in puts + patches:
        site_path = put["path"].rsplit("/", 1)[0]
        order = [
            n
            for n, c in enumerate(conversation.calls)
            if c["path"] == site_path and c["method"] == "PATCH"
        ]
        assert order and conversation.calls.index(put) < order[0]


def test_the_billing_site_is_chosen_with_setbillingaddress(conversation):
    # §6: the billing site is changed only through setbillingaddress; SiteModify has no
    # BillingAddress.
    (call,) = conversation.requests("PATCH", r"site/\d+/setbillingaddress")
    assert call["body"]["Id"] != int(call["path"].split("/")[1])  # the Depot → Head Office


def test_the_company_look_up_reads_the_list(conversation):
    # §4: GET api/company?Name= is not documented; this aBILLity ignores it and answers the
    # whole list (§17), and the connector picks the company by name from it: Beta Ltd was
    # found (company 5), Acme Telecoms made.
    look_ups = conversation.requests("GET", r"company")
    assert len(look_ups) == 2
    assert [c["body"]["Name"] for c in conversation.requests("POST", r"company")] == [
        "Acme Telecoms"
    ]
    assert [c["path"] for c in conversation.requests("PATCH", r"company/\d+")] != []
    assert "company/5/Site" in [
        c["path"] for c in conversation.requests("GET", r"company/\d+/Site")
    ]


def test_an_adopted_sites_billing_information_is_patched_with_the_changed_fields_only(
    conversation,
):
    # §1/§3: PUT replaces the record (it would wipe the e-mails typed in aBILLity), PATCH
    # updates: the adopted site gets a PATCH of what differs, never a PUT.
    (patch,) = conversation.requests("PATCH", r"site/\d+/billinginformation")
    assert patch["path"] == "site/50/billinginformation"
    assert patch["body"] == {"PaymentTerms": 14}
    assert not [
        c
        for c in conversation.requests("PUT", r"site/\d+/billinginformation")
        if c["path"] == "site/50/billinginformation"
    ]
