"""Helpers of the Affinity tests: build billed records, run the queue dry, read the
emulator."""

from __future__ import annotations

from datetime import date
from typing import Any

from billing import services as billing_services
from billing.choices import PlatformCode
from billing.export import billing_transfer
from billing.models import Asset, BaseCategory, BillingPlatform
from connectors.models import Binding, SyncJob
from tests.connectors.abillity.helpers import drain
from tests.factories import (
    AddressFactory,
    CustomerFactory,
    InventoryItemFactory,
    SiteAddressFactory,
    SiteFactory,
)


def affinity_route() -> BillingPlatform:
    return BillingPlatform.objects.get(code=PlatformCode.AFFINITY)


def billed_customer(name: str = "Acme Telecoms", **fields):
    """A customer with Affinity's billing details and a default site with an address."""
    customer = CustomerFactory(
        name=name, payment_terms="30 days", payment_method="Direct Debit", **fields
    )
    site = SiteFactory(customer=customer, name="Head Office", is_default=True)
    address = AddressFactory(customer=customer, street1="1 Park Row", postcode="LS1 5HN")
    SiteAddressFactory(site=site, address=address, is_site_default=True)
    return customer


def affinity_item(*, sku: str = "MOB-SIM-30", category: str = "Mobile", **fields):
    return InventoryItemFactory(
        upfront_route=affinity_route(),
        recurring_route=affinity_route(),
        external_sku=sku,
        base_category=BaseCategory.objects.get(name=category),
        **fields,
    )


def converted_asset(
    customer, item, *, cli: str = "07700 900123", issue_date: date | None = None, **line
) -> Asset:
    """A New line on an order, converted (connected or issued: Ready to Bill), not yet
    transferred."""
    site = customer.sites.get(is_default=True)
    order = billing_services.sales_order_create(
        customer=customer,
        lines=[billing_services.LineSpec(inventory_item=item, site=site, cli=cli, **line)],
    )
    return billing_services.sales_order_line_convert_to_asset(
        line=order.lines.get(), connection_date=date(2024, 4, 1), issue_date=issue_date
    )


def transferred_asset(customer, item, **kwargs) -> Asset:
    """A converted asset whose line is transferred to billing on Affinity, synced."""
    asset = converted_asset(customer, item, **kwargs)
    billing_transfer(route=affinity_route(), line_ids=[asset.sales_order_line_id])
    drain()
    asset.refresh_from_db()
    return asset


def external_id(role: str, entity: str, record) -> str:
    binding = Binding.objects.filter(
        platform="affinity", role=role, entity=entity, object_id=record.pk
    ).first()
    return binding.external_id if binding else ""


def held(emulator, kind: str, role: str, entity: str, record) -> dict[str, Any]:
    """What the emulator holds for a record (``kind``: accounts, sites, ctns, ...)."""
    return emulator.state[kind][external_id(role, entity, record)]


def writes(emulator) -> list[dict[str, Any]]:
    return [call for call in emulator.requests if call["method"] != "GET"]


def last_job(entity: str, record) -> SyncJob:
    return (
        SyncJob.objects.filter(platform="affinity", entity=entity, object_id=record.pk)
        .order_by("-pk")
        .first()
    )


def integration(on: bool) -> None:
    """Turn the Affinity integration on or off (off: build records without syncing them)."""
    BillingPlatform.objects.filter(code="affinity").update(integration_enabled=on)
