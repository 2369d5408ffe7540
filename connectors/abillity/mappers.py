"""Our records → aBILLity payloads (seeds 000 and 001): pure functions, typed payloads.

Each function takes the records (and the ids they need from bindings or
value mappings) and returns the fields in the API's own names and casing.
A value the API would refuse (a name over its limit, an email its pattern
rejects) raises ``PermanentError`` naming the record, the field and the
limit: names are never cut silently.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import TypedDict

from django.utils import timezone

from billing.bill_status import asset_bill_start_date, asset_billing_end_date
from billing.choices import BillComponent, BillingFrequency
from billing.models import Asset
from customers.choices import CustomerStatus
from customers.models import Address, Contact, Customer, Site

from ..errors import PermanentError
from .client import abillity_date
from .constants import EMAIL_SINGLE

COMPANY_NAME_LIMIT = 50
SITE_NAME_LIMIT = 255
SHORT_NAME_LIMIT = 255
ADDRESS_LIMIT = 255
TOWN_LIMIT = 50
COUNTY_LIMIT = 50
POSTCODE_LIMIT = 20
ACCOUNT_REF_LIMIT = 30
FIRST_NAME_LIMIT = 40
SURNAME_LIMIT = 40
DDI_LIMIT = 34


class CompanyPayload(TypedDict):
    Name: str
    IsCustomer: bool


class SitePayload(TypedDict):
    ShortName: str
    SiteName: str
    Address: str
    Town: str
    County: str
    PostCode: str
    AccountRef: str
    MainSite: bool


class BillingPayload(TypedDict, total=False):
    BillRunID: int
    PaymentTerms: int
    PaymentConditionsId: int
    BillingContactId: int


class ContactPayload(TypedDict):
    SiteID: int
    Christian: str
    Surname: str
    DDI: str
    Email: str
    MainContact: bool


def _within(value: str, limit: int, what: str) -> str:
    if len(value) > limit:
        raise PermanentError(
            f"{what} is {len(value)} characters long; Abillity takes at most {limit}. "
            "Shorten it in The Layer and sync again."
        )
    return value


def company_payload(customer: Customer) -> CompanyPayload:
    """The Company: its name, and the Customer contact type ticked for Live or Pending."""
    name = _within(customer.name.strip(), COMPANY_NAME_LIMIT, f'Customer name "{customer.name}"')
    return {
        "Name": name,
        "IsCustomer": customer.status in (CustomerStatus.LIVE, CustomerStatus.PENDING),
    }


def site_short_name(site: Site) -> str:
    """aBILLity's Site Ref. (ShortName): the site's description (seed 000's table), else its
    site ref, else its name. ShortName is required and unique within the company."""
    return (site.description or site.site_ref or site.name).strip()


def address_fields(address: Address | None) -> dict[str, str]:
    """A Layer address in aBILLity's site fields: street lines joined by ", "."""
    if address is None:
        return {"Address": "", "Town": "", "County": "", "PostCode": ""}
    street = ", ".join(
        part.strip() for part in (address.street1, address.street2, address.street3) if part.strip()
    )
    label = f'Address "{address}"'
    return {
        "Address": _within(street, ADDRESS_LIMIT, f"{label}: its street lines"),
        "Town": _within(address.city.strip(), TOWN_LIMIT, f"{label}: its town"),
        "County": _within(address.county.strip(), COUNTY_LIMIT, f"{label}: its county"),
        "PostCode": _within(address.postcode.strip(), POSTCODE_LIMIT, f"{label}: its postcode"),
    }


def site_payload(
    site: Site, *, address: Address | None, sage_account_number: str, main_site: bool
) -> SitePayload:
    """A site or subsite: name, Site Ref., address, the Sage number as AccountRef."""
    label = f'Site "{site.name}"'
    return {
        "ShortName": _within(site_short_name(site), SHORT_NAME_LIMIT, f"{label}: its Site Ref."),
        "SiteName": _within(site.name.strip(), SITE_NAME_LIMIT, label),
        **address_fields(address),  # type: ignore[typeddict-item]
        "AccountRef": _within(
            sage_account_number.strip(), ACCOUNT_REF_LIMIT, f"{label}: the Sage account number"
        ),
        "MainSite": main_site,
    }


def payment_terms_days(text: str) -> int | None:
    """Payment Terms as aBILLity's days: "30 days", "30", "Net 30" → 30; blank → None."""
    text = text.strip()
    if not text:
        return None
    match = re.search(r"-?\d+", text)
    if match is None:
        raise PermanentError(
            f'Payment terms "{text}" name no number of days; Abillity takes payment terms as '
            'days (for example "30 days").'
        )
    days = int(match.group())
    if not -999 <= days <= 9999:
        raise PermanentError(f'Payment terms "{text}" are outside Abillity\'s -999 to 9999 days.')
    return days


def contact_payload(contact: Contact, *, site_id: int) -> ContactPayload:
    """A person on a site: names, telephone as DDI, Decision Maker / Primary as Main Contact."""
    full_name = f"{contact.first_name} {contact.last_name}".strip()
    label = f'Contact "{full_name}"'
    email = contact.email.strip()
    if email and not EMAIL_SINGLE.match(email):
        raise PermanentError(
            f"{label}: Abillity refuses the email {email!r} (it allows letters, digits, "
            "'_', '-' and '.' before the @). Correct it in The Layer and sync again."
        )
    return {
        "SiteID": site_id,
        "Christian": _within(contact.first_name.strip(), FIRST_NAME_LIMIT, f"{label}: first name"),
        "Surname": _within(contact.last_name.strip(), SURNAME_LIMIT, f"{label}: last name"),
        "DDI": _within(contact.telephone.strip(), DDI_LIMIT, f"{label}: telephone"),
        "Email": email,
        "MainContact": contact.is_primary,
    }


# --- seed 001: billing IDs and service charges --------------------------------------------

CLI_LIMIT = 17
DESCRIPTION_LIMIT = 100
COST_CENTRE_LIMIT = 50

# aBILLity's BackDatable: "may charge a previous billing period (max 90 days back)".
BACKDATE_LIMIT_DAYS = 90

# Billing Frequency → aBILLity's FrequencyTypeId.
FREQUENCY_TYPE_IDS = {
    BillingFrequency.ANNUAL: 1,
    BillingFrequency.MONTHLY: 2,
    BillingFrequency.ONE_OFF: 3,
    BillingFrequency.QUARTERLY: 4,
}


class BillingIdPayload(TypedDict, total=False):
    SiteId: int
    CLI: str
    PresentationAlias: str
    StartDate: str | None
    ContractStartDate: str | None
    EndDate: str | None
    ContractEndDate: str | None
    CostCentre1: str
    Suppress: bool


class ServiceChargePayload(TypedDict, total=False):
    SiteId: int
    ChargeId: int
    Description: str
    FrequencyTypeId: int
    SalesPrice: float
    BaselineCost: float
    FirstPayment: str | None
    LastPayment: str | None
    CLI: str
    Rental: bool
    RefundRental: bool
    BackDatable: bool


def asset_billing_id(asset: Asset) -> str:
    """The asset's identifier as a billing ID (the field its base category names)."""
    number = asset.identifier.strip()
    return _within(number, CLI_LIMIT, f"Asset {asset}: its {asset_identifier_label(asset)}")


def asset_identifier_label(asset: Asset) -> str:
    category = asset.inventory_item.base_category
    return category.identifier_field if category else "identifier"


def asset_end_date(asset: Asset) -> date | None:
    """Seed 001's End Date: the cease date once ceased, else the end date of fixed billing
    (the one rule the Billing Export files use too: ``asset_billing_end_date``)."""
    return asset_billing_end_date(asset)


def billing_id_payload(asset: Asset, *, site_id: int) -> BillingIdPayload:
    """Seed 001's Billing ID table. A new billing ID starts on the Connection Date, whatever
    the Bill Start Override says (a product's on its issue date)."""
    number = asset_billing_id(asset)
    start = asset.connection_date or asset.issue_date
    end = asset_end_date(asset)
    return {
        "SiteId": site_id,
        "CLI": number,
        "PresentationAlias": number,
        "StartDate": abillity_date(start),
        "ContractStartDate": abillity_date(start),
        "EndDate": abillity_date(end),
        "ContractEndDate": abillity_date(end),
        "CostCentre1": _within(
            asset.cost_centre.strip(), COST_CENTRE_LIMIT, f"Asset {asset}: its cost centre"
        ),
        "Suppress": asset.do_not_bill,
    }


def service_charge_payload(
    asset: Asset, *, component: str, site_id: int, charge_type_id: int | None, today=None
) -> ServiceChargePayload:
    """Seed 001's Service Charges table for one component of an asset (up-front: a one-off
    charge; recurring: a rental at the item's billing frequency).

    Units: aBILLity's ``Quantity`` is "the number of billing periods the charge runs"
    (abillity-api.md §10), not a count of units, so it is never sent; the asset's units are
    in the price: ``SalesPrice`` and ``BaselineCost`` are the unit prices times the
    asset's quantity. Without a charge type id (seed 001) the charge goes without
    ``ChargeId``, with its frequency and the product name as its description."""
    item = asset.inventory_item
    units = asset.quantity
    if units < 1:
        raise PermanentError(
            f"Asset {asset} has a quantity of {units}: Abillity charges at least one unit. "
            "Set its quantity and retry."
        )
    recurring = component == BillComponent.RECURRING
    if recurring:
        frequency = FREQUENCY_TYPE_IDS.get(item.billing_frequency)
        if frequency is None or frequency == FREQUENCY_TYPE_IDS[BillingFrequency.ONE_OFF]:
            raise PermanentError(
                f'Inventory item "{item}" has a recurring price but its billing frequency is '
                f'"{item.get_billing_frequency_display()}": a recurring charge needs Monthly, '
                "Quarterly or Annual. Set it in the inventory and retry."
            )
        price = asset.recurring_sell_price
    else:
        frequency = FREQUENCY_TYPE_IDS[BillingFrequency.ONE_OFF]
        price = asset.sell_price
    start = asset_bill_start_date(asset)
    if start is None:
        raise PermanentError(
            f"Asset {asset} has no date to start billing from (a connection date, an issue "
            "date or a Bill Start Override): Abillity needs a First Payment."
        )
    today = today or timezone.localdate()
    payload: ServiceChargePayload = {
        "SiteId": site_id,
        "Description": _within(item.name.strip(), DESCRIPTION_LIMIT, f'Product name "{item}"'),
        "FrequencyTypeId": frequency,
        "SalesPrice": float(price * units),
        "BaselineCost": float((item.rrp or Decimal("0")) * units),
        "FirstPayment": abillity_date(start),
        "LastPayment": abillity_date(asset_end_date(asset)),
        "Rental": recurring,
        "RefundRental": False,
        # Seed 001: Backdate Yes; aBILLity back-dates at most 90 days (abillity-api.md §10),
        # so a charge starting earlier goes without it (docs/abillity.md).
        "BackDatable": start >= today - timedelta(days=BACKDATE_LIMIT_DAYS),
    }
    if charge_type_id is not None:
        payload["ChargeId"] = charge_type_id
    if asset.identifier.strip():
        payload["CLI"] = asset_billing_id(asset)
    return payload
