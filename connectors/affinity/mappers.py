"""Our records → Affinity payloads (docs/affinity.md): pure functions, typed payloads.

Each function takes the records and the Affinity ids they need (from bindings) and
returns the fields in the contract's names. Dates are ``YYYY-MM-DD``; money is a
string with two decimals (JSON has no decimal type). A value Affinity would refuse
(a name over its limit, an invalid CLI) raises ``PermanentError`` naming the record,
the field and how to fix it: nothing is cut silently.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TypedDict

from django.core.exceptions import ValidationError

from billing.bill_status import asset_bill_start_date, asset_billing_end_date
from billing.choices import BillingFrequency, ItemType, PlatformCode
from billing.cli import cli_normalise
from billing.models import Asset, InventoryItem
from billing.platform_rules import item_is_cli_based
from customers.choices import CustomerStatus
from customers.models import Address, Contact, Customer, Site

from ..errors import PermanentError

# Our natural keys on Affinity: the reference each record is created with.
REFERENCE_PREFIXES = {"account": "LAYER-C", "site": "LAYER-S", "contact": "LAYER-P"}
SITE_PRODUCT_REFERENCE = "LAYER-A"

ACCOUNT_STATUS = {
    CustomerStatus.PENDING: "pending",
    CustomerStatus.LIVE: "active",
    CustomerStatus.CANCELLED: "cancelled",
}
FREQUENCY = {
    BillingFrequency.ONE_OFF: "one_off",
    BillingFrequency.MONTHLY: "monthly",
    BillingFrequency.QUARTERLY: "quarterly",
    BillingFrequency.ANNUAL: "annual",
}


class AccountPayload(TypedDict):
    reference: str
    name: str
    registered_name: str
    status: str
    bill_run: str
    payment_terms: str
    payment_method: str
    email: str
    telephone: str
    vat_number: str


class SitePayload(TypedDict):
    reference: str
    account_id: str
    name: str
    site_ref: str
    parent_site_id: str | None
    is_billing_site: bool
    address_line1: str
    address_line2: str
    address_line3: str
    town: str
    county: str
    postcode: str


class ContactPayload(TypedDict):
    reference: str
    account_id: str
    site_id: str | None
    first_name: str
    last_name: str
    email: str
    telephone: str
    mobile: str
    is_primary: bool
    is_billing: bool


class ProductPayload(TypedDict):
    code: str
    name: str
    type: str
    frequency: str
    upfront_price: str
    recurring_price: str
    source: str


class CtnPayload(TypedDict):
    site_id: str
    number: str
    start_date: str | None
    end_date: str | None
    cost_centre: str
    do_not_bill: bool


class SiteProductPayload(TypedDict):
    reference: str
    site_id: str
    product_code: str
    description: str
    ctn_id: str | None
    quantity: int
    upfront_price: str | None
    recurring_price: str | None
    frequency: str
    start_date: str | None
    end_date: str | None
    cost_centre: str
    do_not_bill: bool


def _within(value: str, limit: int, what: str) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise PermanentError(
            f"{what} is {len(value)} characters long; Affinity takes at most {limit}. "
            "Shorten it in The Layer and sync again."
        )
    return value


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _money(value: Decimal | None) -> str:
    return f"{Decimal(value or 0):.2f}"


def reference(kind: str, pk: int) -> str:
    """Our natural key of a record on Affinity (``LAYER-C12`` for customer 12)."""
    return f"{REFERENCE_PREFIXES[kind]}{pk}"


def site_product_reference(asset: Asset) -> str:
    return f"{SITE_PRODUCT_REFERENCE}{asset.pk}"


def account_payload(customer: Customer) -> AccountPayload:
    """A customer as an Affinity account (its billing details included)."""
    label = f'Customer "{customer.name}"'
    return {
        "reference": reference("account", customer.pk),
        "name": _within(customer.name, 100, label),
        "registered_name": _within(
            customer.registered_company_name, 255, f"{label}: its registered company name"
        ),
        "status": ACCOUNT_STATUS.get(customer.status, "pending"),
        "bill_run": _within(customer.bill_run, 50, f"{label}: its bill run"),
        "payment_terms": _within(customer.payment_terms, 50, f"{label}: its payment terms"),
        "payment_method": _within(customer.payment_method, 50, f"{label}: its payment method"),
        "email": _within(customer.email, 254, f"{label}: its email"),
        "telephone": _within(customer.telephone, 30, f"{label}: its telephone"),
        "vat_number": _within(customer.vat_number, 20, f"{label}: its VAT number"),
    }


def site_payload(
    site: Site, *, account_id: str, parent_site_id: str | None, address: Address | None
) -> SitePayload:
    """A site (or subsite: ``parent_site_id``) with the address the priority chain chose."""
    label = f'Site "{site.name}"'
    if address is None or not address.street1.strip() or not address.postcode.strip():
        raise PermanentError(
            f"{label} has no address with a street and a postcode; Affinity needs one for "
            "every site. Add an address to the site (or the customer) and sync again."
        )
    where = f'{label}: address "{address}"'
    return {
        "reference": reference("site", site.pk),
        "account_id": account_id,
        "name": _within(site.name, 255, label),
        "site_ref": _within(site.site_ref or site.name, 255, f"{label}: its site ref"),
        "parent_site_id": parent_site_id,
        "is_billing_site": site.is_default,
        "address_line1": _within(address.street1, 255, f"{where}, street 1"),
        "address_line2": _within(address.street2, 255, f"{where}, street 2"),
        "address_line3": _within(address.street3, 255, f"{where}, street 3"),
        "town": _within(address.city, 50, f"{where}, town"),
        "county": _within(address.county, 50, f"{where}, county"),
        "postcode": _within(address.postcode, 10, f"{where}, postcode"),
    }


def contact_payload(contact: Contact, *, account_id: str, site_id: str | None) -> ContactPayload:
    full_name = f"{contact.first_name} {contact.last_name}".strip()
    label = f'Contact "{full_name}"'
    contact_type = contact.contact_type if contact.contact_type_id else None
    return {
        "reference": reference("contact", contact.pk),
        "account_id": account_id,
        "site_id": site_id,
        "first_name": _within(contact.first_name, 40, f"{label}: first name"),
        "last_name": _within(contact.last_name, 40, f"{label}: last name"),
        "email": _within(contact.email, 254, f"{label}: email"),
        "telephone": _within(contact.telephone, 34, f"{label}: telephone"),
        "mobile": _within(contact.mobile, 17, f"{label}: mobile"),
        "is_primary": contact.is_primary,
        "is_billing": bool(contact_type and contact_type.is_billing),
    }


def product_payload(item: InventoryItem) -> ProductPayload:
    """A custom Layer product for Affinity's price book (its code: the External SKU)."""
    return {
        "code": _within(item.external_sku, 30, f'Item "{item.name}": its External SKU'),
        "name": _within(item.name, 100, f'Item "{item.name}"'),
        "type": "service" if item.item_type == ItemType.SERVICE else "product",
        "frequency": FREQUENCY.get(item.billing_frequency, "monthly")
        if item.item_type == ItemType.SERVICE
        else "one_off",
        "upfront_price": _money(item.sell_price),
        "recurring_price": _money(item.recurring_sell_price),
        "source": "layer",
    }


def asset_cli(asset: Asset) -> str:
    """The asset's CLI in national format, "" when its item is not CLI-based or it has
    none. An invalid one is a PermanentError naming it (fixed on the asset)."""
    if not item_is_cli_based(asset.inventory_item) or not asset.identifier.strip():
        return ""
    try:
        return cli_normalise(asset.identifier)
    except ValidationError as error:
        raise PermanentError(
            f"Asset {asset}: its {asset.inventory_item.identifier_label} is not a valid CLI "
            f"({' '.join(error.messages)}) Correct it on the asset and sync again."
        ) from None


def asset_end_date(asset: Asset) -> date | None:
    """When billing ends: the cease date (New & Cease, a cease import, staff), else the
    fixed billing end date (``billing.bill_status.asset_billing_end_date``, the rule the
    Billing Export files use too)."""
    return asset_billing_end_date(asset)


def ctn_payload(asset: Asset, *, site_id: str, number: str) -> CtnPayload:
    return {
        "site_id": site_id,
        "number": number,
        "start_date": _iso(asset_bill_start_date(asset)),
        "end_date": _iso(asset_end_date(asset)),
        "cost_centre": _within(asset.cost_centre, 50, f"Asset {asset}: its cost centre"),
        "do_not_bill": asset.do_not_bill,
    }


def _routed(route_code: str | None) -> bool:
    return route_code == PlatformCode.AFFINITY


def site_product_payload(asset: Asset, *, site_id: str, ctn_id: str | None) -> SiteProductPayload:
    """The asset on its Affinity site: product code (the External SKU), CTN, prices of
    the components routed to Affinity (None for the others), dates and Do Not Bill."""
    item = asset.inventory_item
    upfront = _routed(asset.upfront_route.code if asset.upfront_route_id else None)
    recurring = item.item_type == ItemType.SERVICE and _routed(
        asset.recurring_route.code if asset.recurring_route_id else None
    )
    return {
        "reference": site_product_reference(asset),
        "site_id": site_id,
        "product_code": _within(item.external_sku, 30, f'Item "{item.name}": its External SKU'),
        "description": _within(item.name, 100, f'Item "{item.name}"'),
        "ctn_id": ctn_id,
        "quantity": asset.quantity,
        "upfront_price": _money(asset.sell_price) if upfront else None,
        "recurring_price": _money(asset.recurring_sell_price) if recurring else None,
        "frequency": FREQUENCY.get(item.billing_frequency, "monthly") if recurring else "one_off",
        "start_date": _iso(asset_bill_start_date(asset)),
        "end_date": _iso(asset_end_date(asset)),
        "cost_centre": _within(asset.cost_centre, 50, f"Asset {asset}: its cost centre"),
        "do_not_bill": asset.do_not_bill,
    }
