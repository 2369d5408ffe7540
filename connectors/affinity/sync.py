"""What is sent to Affinity when (docs/affinity.md): the connector and its field rules.

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

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from billing.choices import AssetStatus, BillStatus, PlatformCode
from billing.models import Asset, BillingPlatform, InventoryItem
from billing.signals import lines_transferred
from customers.choices import CustomerStage
from customers.models import Contact, Customer, Site
from customers.selectors import customer_default_site, site_address_for_sync

from ..base import Connector, ReconcileDifference, register
from ..choices import Entity, FieldRule, Operation
from ..engine.publish import changes_enqueue
from ..engine.push import binding_bind as engine_bind
from ..engine.push import payload_hash
from ..engine.run import SyncContext
from ..errors import PermanentError
from ..models import Binding
from ..selectors import binding_for, exporting_platforms, platform_exports
from . import mappers
from .client import AffinityClient
from .sandbox import PLATFORM, SANDBOX_API_KEY, ended

ROLE_ACCOUNT = "account"
ROLE_SITE = "site"
ROLE_CONTACT = "contact"
ROLE_CTN = "ctn"  # on an asset: the CTN of its CLI
ROLE_SITE_PRODUCT = "site_product"  # on an asset: its site product (the main record)
# On an inventory item (entity "asset", object id = the item's id): the price book link,
# external id = the Affinity product code.
ROLE_PRODUCT = "product"

ONE_OFF = FieldRule.ONE_OFF
REPEATED = FieldRule.REPEATED

# One-off vs repeated, per Affinity record. Fields not named are repeated: The Layer is
# the system of authority, so every change it owns is resent.
FIELD_RULES: dict[str, dict[str, FieldRule]] = {
    ROLE_ACCOUNT: {"reference": ONE_OFF},
    ROLE_SITE: {"reference": ONE_OFF, "account_id": ONE_OFF},
    ROLE_CONTACT: {"reference": ONE_OFF, "account_id": ONE_OFF},
    ROLE_CTN: {"site_id": ONE_OFF},
    ROLE_SITE_PRODUCT: {"reference": ONE_OFF, "site_id": ONE_OFF},
    # A custom product is created once; later price changes go on each site product.
    ROLE_PRODUCT: {
        name: ONE_OFF
        for name in (
            "code",
            "name",
            "type",
            "frequency",
            "upfront_price",
            "recurring_price",
            "source",
        )
    },
}
ENTITY_ROLES = {
    Entity.CUSTOMER: ROLE_ACCOUNT,
    Entity.SITE: ROLE_SITE,
    Entity.CONTACT: ROLE_CONTACT,
    Entity.ASSET: ROLE_SITE_PRODUCT,
}


def create_custom_products() -> bool:
    """``AFFINITY_CREATE_CUSTOM_PRODUCTS`` (default on): an External SKU missing from
    Affinity's price book is created there; off, the asset fails until staff add it."""
    return bool(getattr(settings, "AFFINITY_CREATE_CUSTOM_PRODUCTS", True))


def _routed_to_affinity() -> Q:
    return Q(upfront_route__code=PlatformCode.AFFINITY) | Q(
        recurring_route__code=PlatformCode.AFFINITY
    )


def _repeated(role: str, payload: dict[str, Any]) -> dict[str, Any]:
    rules = FIELD_RULES[role]
    return {k: v for k, v in payload.items() if rules.get(k, REPEATED) == REPEATED}


def _first_id(records: list[dict[str, Any]]) -> str | None:
    return str(records[0]["id"]) if records else None


def _external(role: str, entity: str, object_id: int | None) -> str | None:
    if object_id is None:
        return None
    binding = binding_for(PLATFORM, role, entity, object_id)
    return binding.external_id if binding and binding.external_id else None


def _bind(binding: Binding, external_id: str, *, payload: dict[str, Any], digest: str) -> None:
    engine_bind(binding, external_id, payload=payload, digest=digest, now=timezone.now())


def push_role(
    context: SyncContext,
    *,
    role: str,
    entity: str,
    record: models.Model,
    payload: dict[str, Any],
    find: Callable[[], str | None],
    create: Callable[[dict[str, Any]], str],
    update: Callable[[str, dict[str, Any]], None],
) -> tuple[str, str]:
    """Bring one Affinity record in step with ``payload``: (operation, its id).

    Nothing is sent when the repeated fields hash as last time (unless forced); an
    update sends only the repeated fields that changed. A new record is looked up
    (``find``) before it is created, and its id is bound at once.
    """
    binding = context.binding(role, entity, record.pk)
    repeated = _repeated(role, payload)
    digest = payload_hash(repeated)
    if binding.external_id:
        if binding.payload_hash == digest and not context.job.force:
            return Operation.NONE, binding.external_id
        known = {} if context.job.force else binding.payload
        changed = {k: v for k, v in repeated.items() if k not in known or known[k] != v}
        if changed:
            update(binding.external_id, changed)
        _bind(binding, binding.external_id, payload={**binding.payload, **repeated}, digest=digest)
        return (Operation.UPDATED if changed else Operation.NONE), binding.external_id
    found = find()
    if found:
        _bind(binding, found, payload={}, digest="")
        if repeated:
            update(found, repeated)
        context.notes.append(f"Found the existing Affinity {role.replace('_', ' ')} {found}.")
        operation = Operation.UPDATED
    else:
        found = create(payload)
        operation = Operation.INSERTED
    _bind(binding, found, payload=payload, digest=digest)
    return operation, found


def _combined(operations: list[str]) -> Operation:
    for wanted in (Operation.CEASED, Operation.INSERTED, Operation.UPDATED):
        if wanted in operations:
            return wanted
    return Operation.NONE


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


def asset_site(asset: Asset) -> Site | None:
    """The site an asset's site product goes on: its own, else its customer's default."""
    if asset.site_id:
        return asset.site
    return customer_default_site(customer=asset.customer)


@register
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
        return Asset.objects.filter(_routed_to_affinity())

    def role(self, entity: str, record: models.Model) -> str:
        return ENTITY_ROLES.get(entity, entity)

    def rule(self, entity: str, field: str) -> FieldRule:
        return FieldRule(self.field_rules.get(entity, {}).get(field, REPEATED))

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
        if _external(ROLE_SITE_PRODUCT, Entity.ASSET, asset.pk):
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
        now = _external(ROLE_SITE, Entity.SITE, site.pk)
        if now and binding.payload.get("site_id") not in (None, now):
            return [
                f"Asset {record} moved to site {site} after it reached Affinity; its site "
                f"product {binding.external_id} stays on Affinity site "
                f"{binding.payload.get('site_id')}. Move it in Affinity, or cease and re-add it."
            ]
        return []

    # --- payloads ----------------------------------------------------------------------
    def build_payload(self, entity: str, record: models.Model) -> dict[str, Any]:
        if entity == Entity.CUSTOMER:
            return dict(mappers.account_payload(record))
        if entity == Entity.SITE:
            return dict(self._site_payload(record))
        if entity == Entity.CONTACT:
            return dict(self._contact_payload(record))
        return dict(self._site_product_payload(record, ctn_id=self._ctn_id_known(record)))

    def preview_parts(self, entity: str, record: models.Model):
        if entity != Entity.ASSET:
            return super().preview_parts(entity, record)
        parts = []
        number = mappers.asset_cli(record)
        site_id = self._site_id_of(record) or ""
        if number:
            payload = dict(mappers.ctn_payload(record, site_id=site_id, number=number))
            parts.append((ROLE_CTN, Entity.ASSET, record, payload))
        parts.append(
            (ROLE_SITE_PRODUCT, Entity.ASSET, record, self.build_payload(Entity.ASSET, record))
        )
        return parts

    def _site_payload(self, site: Site) -> mappers.SitePayload:
        return mappers.site_payload(
            site,
            account_id=_external(ROLE_ACCOUNT, Entity.CUSTOMER, site.customer_id) or "",
            parent_site_id=_external(ROLE_SITE, Entity.SITE, site.parent_id),
            address=site_address_for_sync(site=site).address,
        )

    def _contact_payload(self, contact: Contact) -> mappers.ContactPayload:
        return mappers.contact_payload(
            contact,
            account_id=_external(ROLE_ACCOUNT, Entity.CUSTOMER, contact.customer_id) or "",
            site_id=_external(ROLE_SITE, Entity.SITE, contact.site_id),
        )

    def _site_id_of(self, asset: Asset) -> str | None:
        site = asset_site(asset)
        return _external(ROLE_SITE, Entity.SITE, site.pk) if site is not None else None

    def _ctn_id_known(self, asset: Asset) -> str | None:
        binding = binding_for(PLATFORM, ROLE_SITE_PRODUCT, Entity.ASSET, asset.pk)
        own = _external(ROLE_CTN, Entity.ASSET, asset.pk)
        return own or (binding.payload.get("ctn_id") if binding else None)

    def _site_product_payload(
        self, asset: Asset, *, ctn_id: str | None
    ) -> mappers.SiteProductPayload:
        return mappers.site_product_payload(
            asset, site_id=self._site_id_of(asset) or "", ctn_id=ctn_id
        )

    # --- pushing -----------------------------------------------------------------------
    def push(self, context: SyncContext) -> Operation:
        entity = context.entity
        if entity == Entity.CUSTOMER:
            return self._push_customer(context)
        if entity == Entity.SITE:
            return self._push_site(context)
        if entity == Entity.CONTACT:
            return self._push_contact(context)
        return self._push_asset(context)

    def _push_customer(self, context: SyncContext) -> Operation:
        customer: Customer = context.record
        client: AffinityClient = context.client
        payload = dict(mappers.account_payload(customer))
        operation, account_id = push_role(
            context,
            role=ROLE_ACCOUNT,
            entity=Entity.CUSTOMER,
            record=customer,
            payload=payload,
            find=lambda: _first_id(client.accounts_find(payload["reference"])),
            create=client.account_create,
            update=client.account_update,
        )
        context.external_id = account_id
        # Sites and contacts not on Affinity yet follow their customer.
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
            ids = list(
                records.exclude(pk__in=bound.values("object_id")).values_list("pk", flat=True)
            )
            changes_enqueue(entity=entity, object_ids=ids, reason=reason, platforms=[PLATFORM])
        return Operation(operation)

    def _push_site(self, context: SyncContext) -> Operation:
        site: Site = context.record
        client: AffinityClient = context.client
        payload = dict(self._site_payload(site))
        if not payload["account_id"]:
            raise PermanentError(f"Customer {site.customer} has no Affinity account yet.")
        operation, site_id = push_role(
            context,
            role=ROLE_SITE,
            entity=Entity.SITE,
            record=site,
            payload=payload,
            find=lambda: _first_id(client.sites_find(payload["account_id"], payload["reference"])),
            create=client.site_create,
            update=client.site_update,
        )
        context.external_id = site_id
        return Operation(operation)

    def _push_contact(self, context: SyncContext) -> Operation:
        contact: Contact = context.record
        client: AffinityClient = context.client
        payload = dict(self._contact_payload(contact))
        if not payload["account_id"]:
            raise PermanentError(f"Customer {contact.customer} has no Affinity account yet.")
        operation, contact_id = push_role(
            context,
            role=ROLE_CONTACT,
            entity=Entity.CONTACT,
            record=contact,
            payload=payload,
            find=lambda: _first_id(
                client.contacts_find(payload["account_id"], payload["reference"])
            ),
            create=client.contact_create,
            update=client.contact_update,
        )
        context.external_id = contact_id
        return Operation(operation)

    # --- assets: the price book, the CTN, the site product -----------------------------
    def _push_asset(self, context: SyncContext) -> Operation:
        asset: Asset = context.record
        client: AffinityClient = context.client
        site_id = self._site_id_of(asset)
        if not site_id:
            raise PermanentError(f"The site of asset {asset} has no Affinity site yet.")
        if asset.status == AssetStatus.CEASED and asset.cease_date is None:
            raise PermanentError(
                f"Asset {asset} is ceased but has no cease date: Affinity ends billing on "
                "that date. Set the asset's cease date and retry."
            )
        operations = [self._ensure_product(context, asset.inventory_item)]
        number = mappers.asset_cli(asset)
        ctn_id = None
        if number:
            ctn_operation, ctn_id = self._push_ctn(context, asset, site_id, number)
            operations.append(ctn_operation)
        payload = dict(self._site_product_payload(asset, ctn_id=ctn_id))
        before = binding_for(PLATFORM, ROLE_SITE_PRODUCT, Entity.ASSET, asset.pk)
        ended_before = bool(before and before.external_id and before.payload.get("end_date"))
        operation, site_product_id = push_role(
            context,
            role=ROLE_SITE_PRODUCT,
            entity=Entity.ASSET,
            record=asset,
            payload=payload,
            find=lambda: _first_id(client.site_products_find(site_id, payload["reference"])),
            create=client.site_product_create,
            update=client.site_product_update,
        )
        context.external_id = site_product_id
        if (
            operation != Operation.NONE
            and asset.status == AssetStatus.CEASED
            and payload["end_date"]
            and not ended_before
        ):
            operation = Operation.CEASED
        operations.append(operation)
        return _combined(operations)

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
            _bind(binding, code, payload=dict(mappers.product_payload(item)), digest="")
        return operation

    def _push_ctn(
        self, context: SyncContext, asset: Asset, site_id: str, number: str
    ) -> tuple[str, str]:
        """The asset's CTN: created, found by number on its site, or updated. A CTN of
        another asset (two products on one line) is shared, not taken over."""
        client: AffinityClient = context.client
        payload = dict(mappers.ctn_payload(asset, site_id=site_id, number=number))
        if payload["end_date"] and self._number_still_used(asset, number):
            payload["end_date"] = None
            context.notes.append(
                f"CTN {number} stays live in Affinity: another live asset of "
                f"{asset.customer} uses it."
            )
        binding = context.binding(ROLE_CTN, Entity.ASSET, asset.pk)
        found_id: str | None = None
        if not binding.external_id:
            live = [c for c in client.ctns_find(site_id, number) if not ended(c)]
            found_id = _first_id(live)
            if found_id:
                owner = (
                    Binding.objects.filter(platform=PLATFORM, role=ROLE_CTN, external_id=found_id)
                    .exclude(object_id=asset.pk)
                    .first()
                )
                if owner is not None:
                    context.notes.append(f"Uses CTN {found_id} of asset #{owner.object_id}.")
                    return Operation.NONE, found_id
        return push_role(
            context,
            role=ROLE_CTN,
            entity=Entity.ASSET,
            record=asset,
            payload=payload,
            find=lambda: found_id,
            create=client.ctn_create,
            update=client.ctn_update,
        )

    @staticmethod
    def _number_still_used(asset: Asset, number: str) -> bool:
        return (
            Asset.objects.filter(
                customer_id=asset.customer_id,
                status=AssetStatus.LIVE,
                identifier__in={asset.identifier, number},
            )
            .filter(_routed_to_affinity())
            .exclude(pk=asset.pk)
            .exists()
        )

    # --- reconciliation ----------------------------------------------------------------
    def reconcile(self, client: AffinityClient) -> list[ReconcileDifference]:
        from .reconcile import affinity_differences

        return affinity_differences(client=client)


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
