"""What is sent to Affinity when (docs/affinity.md): the connector; its records and their
field rules are declared in ``records.py``.

Record mapping (The Layer is the system of authority; one way):

- a customer → an account (status, billing details);
- a site or subsite → a site of the account (subsites name their parent), with the
  address the priority chain chooses; a change to an address resyncs its sites (the
  engine's receivers queue them);
- a contact → a contact of the account (and of its site, if it has one);
- an asset routed to Affinity, once its line is transferred to billing (Billing Export)
  → a CTN for its CLI (CLI-based items only) and a site product on its site: product
  code = the item's External SKU, the prices of the components routed to Affinity,
  start date = the bill start date, Do Not Bill, cost centre. A ceased asset (New &
  Cease, a cease import, staff) ends both with its cease date;
- an inventory item whose External SKU is not in Affinity's price book → a custom
  product there, once (the price book link is the item's ``product`` binding).

Every record is looked up by its natural key (our reference, a CTN's number on its
site) before it is created. Only changed repeated fields are sent on update; the
references, the account and the site of a record are fixed when it is created.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from billing.choices import AssetStatus, BillStatus, PlatformCode
from billing.models import Asset, BillingPlatform, InventoryItem
from billing.signals import lines_transferred
from customers.choices import CustomerStage
from customers.models import Contact, Customer, Site

from ..base import Connector, ReconcileDifference
from ..choices import Entity, Operation
from ..engine.publish import changes_enqueue
from ..engine.push import binding_bind
from ..engine.records import operations_combined, record_push
from ..engine.run import SyncContext
from ..errors import PermanentError
from ..models import Binding
from ..selectors import binding_for, exporting_platforms, platform_exports
from . import mappers
from .client import AffinityClient
from .constants import PLATFORM, SANDBOX_API_KEY
from .records import (
    ACCOUNT,
    ASSET_RECORDS,
    ENTITY_ROLES,
    FIELD_RULES,
    RECORDS,
    ROLE_ACCOUNT,
    ROLE_CONTACT,
    ROLE_CTN,
    ROLE_PRODUCT,
    ROLE_SITE,
    ROLE_SITE_PRODUCT,
    asset_site,
    external_id_of,
    routed_to_affinity,
    site_id_of,
)


def create_custom_products() -> bool:
    """``AFFINITY_CREATE_CUSTOM_PRODUCTS`` (default on): an External SKU missing from
    Affinity's price book is created there; off, the asset fails until staff add it."""
    return bool(getattr(settings, "AFFINITY_CREATE_CUSTOM_PRODUCTS", True))


def asset_transferred(asset: Asset) -> bool:
    """Whether the asset's line has a component In Billing on Affinity (it went through
    Billing Export's Transfer to Billing)."""
    line = asset.sales_order_line
    if line is None:
        return False
    affinity = BillingPlatform.objects.filter(code=PlatformCode.AFFINITY).values_list(
        "pk", flat=True
    )
    route_ids = set(affinity)
    return (
        line.upfront_bill_status == BillStatus.IN_BILLING and line.upfront_route_id in route_ids
    ) or (
        line.recurring_bill_status == BillStatus.IN_BILLING and line.recurring_route_id in route_ids
    )


class AffinityConnector(Connector):
    identifier = PLATFORM
    name = "Affinity"
    entities = (Entity.CUSTOMER, Entity.SITE, Entity.CONTACT, Entity.ASSET)
    secrets = ("AFFINITY_API_KEY",)
    field_rules = {
        Entity.CUSTOMER: FIELD_RULES[ROLE_ACCOUNT],
        Entity.SITE: FIELD_RULES[ROLE_SITE],
        Entity.CONTACT: FIELD_RULES[ROLE_CONTACT],
        Entity.ASSET: {**FIELD_RULES[ROLE_CTN], **FIELD_RULES[ROLE_SITE_PRODUCT]},
    }
    records = RECORDS

    # --- configuration -----------------------------------------------------------------
    def client(self, observer=None, session=None) -> AffinityClient:
        key = settings.AFFINITY_API_KEY
        if not settings.AFFINITY_API_URL and not key:
            key = SANDBOX_API_KEY  # the embedded emulator's own key
        return AffinityClient(
            self.api_url(), api_key=key, timeout=self.timeout(), observer=observer, session=session
        )

    def is_enabled(self) -> bool:
        return BillingPlatform.objects.filter(code=PLATFORM, integration_enabled=True).exists()

    def demo_prepare(self) -> str:
        """Against the emulator only: the integration on (``update()``: nothing queued)."""
        if settings.AFFINITY_API_URL:
            return ""
        BillingPlatform.objects.filter(code=PLATFORM).update(integration_enabled=True)
        return (
            "Affinity integration on, against the sandbox emulator (/sandbox/affinity/). "
            "Sync with: manage.py sync --platform affinity --process (while the server runs); "
            "transferred lines reach Affinity as site products."
        )

    # --- records -----------------------------------------------------------------------
    def queryset(self, entity: str) -> models.QuerySet:
        if entity == Entity.CUSTOMER:
            return Customer.objects.filter(stage=CustomerStage.CUSTOMER)
        if entity == Entity.SITE:
            return Site.objects.filter(customer__stage=CustomerStage.CUSTOMER)
        if entity == Entity.CONTACT:
            return Contact.objects.filter(customer__stage=CustomerStage.CUSTOMER)
        return Asset.objects.filter(routed_to_affinity())

    def role(self, entity: str, record: models.Model) -> str:
        return ENTITY_ROLES.get(entity, entity)

    def record_exists(self, entity: str, external_id: str) -> bool | None:
        if entity != Entity.CUSTOMER:
            return None
        return self.client().account_get(external_id) is not None

    def skip_reason(self, entity: str, record: models.Model) -> str:
        customer = record if entity == Entity.CUSTOMER else record.customer
        if customer.stage != CustomerStage.CUSTOMER:
            return f"{customer} is a lead; leads are synced to Affinity once converted."
        if entity != Entity.ASSET:
            return ""
        asset: Asset = record
        routes = (asset.upfront_route, asset.recurring_route)
        if not any(route is not None and route.code == PLATFORM for route in routes):
            return f"Asset {asset} is not routed to Affinity."
        if external_id_of(ROLE_SITE_PRODUCT, Entity.ASSET, asset.pk):
            return ""  # on Affinity already: every change (and a cease) is sent
        if asset.status == AssetStatus.CEASED:
            return f"Asset {asset} was ceased before it reached Affinity."
        if not asset_transferred(asset):
            return (
                f"Asset {asset} is not transferred to billing on Affinity yet: it is sent "
                "once its line is transferred (Billing Export, Transfer to Billing)."
            )
        return ""

    def dependencies(self, entity: str, record: models.Model) -> list[tuple[str, models.Model]]:
        if entity == Entity.SITE:
            found = [(Entity.CUSTOMER, record.customer)]
            if record.parent_id:
                found.append((Entity.SITE, record.parent))
            return found
        if entity == Entity.CONTACT:
            found = [(Entity.CUSTOMER, record.customer)]
            if record.site_id:
                found.append((Entity.SITE, record.site))
            return found
        if entity == Entity.ASSET:
            found = [(Entity.CUSTOMER, record.customer)]
            site = asset_site(record)
            if site is not None:
                found.append((Entity.SITE, site))
            return found
        return []

    def missing_key_fields(self, entity: str, record: models.Model) -> list[str]:
        if entity != Entity.ASSET:
            return []
        missing = []
        item = record.inventory_item
        if not item.external_sku.strip():
            missing.append(
                f"{item} has no External SKU: Affinity matches products by their product "
                "code. Set the product up in Affinity, copy its code into the item's External "
                "SKU and retry."
            )
        if asset_site(record) is None:
            missing.append(
                f"Asset {record} has no site and its customer has none: Affinity bills "
                "products on a site. Give the asset a site and retry."
            )
        return missing

    def describe(self, entity: str, record: models.Model) -> str:
        if entity in (Entity.SITE, Entity.CONTACT, Entity.ASSET):
            return f"{record} ({record.customer})"[:255]
        return str(record)[:255]

    def warnings(self, entity: str, record: models.Model) -> list[str]:
        """A site product stays on the site it was made on (its site is fixed there)."""
        if entity != Entity.ASSET:
            return []
        binding = binding_for(PLATFORM, ROLE_SITE_PRODUCT, Entity.ASSET, record.pk)
        site = asset_site(record)
        if binding is None or not binding.external_id or site is None:
            return []
        now = external_id_of(ROLE_SITE, Entity.SITE, site.pk)
        if now and binding.payload.get("site_id") not in (None, now):
            return [
                f"Asset {record} moved to site {site} after it reached Affinity; its site "
                f"product {binding.external_id} stays on Affinity site "
                f"{binding.payload.get('site_id')}. Move it in Affinity, or cease and re-add it."
            ]
        return []

    # --- the platform records ------------------------------------------------------
    def push(self, context: SyncContext) -> Operation:
        if context.entity == Entity.CUSTOMER:
            operation = record_push(context, ACCOUNT)
            _follow_customer(context.record)
            return operation
        if context.entity == Entity.ASSET:
            return self._push_asset(context)
        return super().push(context)

    # --- assets: the price book, the CTN, the site product -----------------------------
    def _push_asset(self, context: SyncContext) -> Operation:
        asset: Asset = context.record
        if not site_id_of(asset):
            raise PermanentError(f"The site of asset {asset} has no Affinity site yet.")
        if asset.status == AssetStatus.CEASED and asset.cease_date is None:
            raise PermanentError(
                f"Asset {asset} is ceased but has no cease date: Affinity ends billing on "
                "that date. Set the asset's cease date and retry."
            )
        operations = [self._ensure_product(context, asset.inventory_item)]
        operations += [record_push(context, declared) for declared in ASSET_RECORDS]
        return operations_combined(operations)

    def _ensure_product(self, context: SyncContext, item: InventoryItem) -> Operation:
        """The price book link: the item's External SKU is in Affinity's price book (a
        custom Layer product is created there when it is not)."""
        code = item.external_sku.strip()
        binding = context.binding(ROLE_PRODUCT, Entity.ASSET, item.pk)
        if binding.external_id == code:
            return Operation.NONE
        client: AffinityClient = context.client
        operation = Operation.NONE
        if client.product_get(code) is None:
            if not create_custom_products():
                raise PermanentError(
                    f"Product code {code} ({item}) is not in Affinity's price book. Add the "
                    "product in Affinity, or correct the item's External SKU, and retry."
                )
            client.product_create(mappers.product_payload(item))
            context.notes.append(f"Created the custom product {code} in Affinity's price book.")
            operation = Operation.INSERTED
        shared = (
            Binding.objects.filter(platform=PLATFORM, role=ROLE_PRODUCT, external_id=code)
            .exclude(object_id=item.pk)
            .exists()
        )
        if not shared:  # two items may sell one Affinity product: the first holds the link
            binding_bind(
                binding,
                code,
                payload=dict(mappers.product_payload(item)),
                digest="",
                now=timezone.now(),
            )
        return operation

    # --- reconciliation ----------------------------------------------------------------
    def reconcile(self, client: AffinityClient) -> list[ReconcileDifference]:
        from .reconcile import affinity_differences

        return affinity_differences(client=client)


def _follow_customer(customer: Customer) -> None:
    """Sites and contacts not on Affinity yet follow their customer."""
    reason = f"customer {customer} synced"
    for entity, records in (
        (Entity.SITE, customer.sites.all()),
        (Entity.CONTACT, customer.contacts.all()),
    ):
        if not platform_exports(PLATFORM, entity):
            continue
        bound = Binding.objects.filter(
            platform=PLATFORM, role=ENTITY_ROLES[entity], entity=entity
        ).exclude(external_id="")
        ids = list(records.exclude(pk__in=bound.values("object_id")).values_list("pk", flat=True))
        changes_enqueue(entity=entity, object_ids=ids, reason=reason, platforms=[PLATFORM])


def affinity_lines_transferred(sender: Any, route: BillingPlatform, line_ids, **kwargs) -> None:
    """Lines transferred to billing on Affinity: their assets become site products."""
    if route.code != PLATFORM or PLATFORM not in exporting_platforms(Entity.ASSET):
        return
    asset_ids = list(
        Asset.objects.filter(sales_order_line_id__in=list(line_ids)).values_list("pk", flat=True)
    )
    changes_enqueue(
        entity=Entity.ASSET,
        object_ids=asset_ids,
        reason=f"transferred to billing (transfer #{kwargs['transfer'].pk})",
        platforms=[PLATFORM],
    )


lines_transferred.connect(affinity_lines_transferred, dispatch_uid="affinity_lines_transferred")
