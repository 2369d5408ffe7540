"""Affinity's records, as declarations: an account per customer, a site per site or
subsite, a contact per contact, and per asset a CTN for its CLI and a site product.

Every record is found by its natural key (our reference; a CTN's number on its site)
before it is created, and an update sends only the repeated fields that changed. The
engine (``connectors.engine.records``) applies the field rules below, hashes, looks up
and binds; these say what is sent and how (docs/affinity.md).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from billing.choices import AssetStatus, PlatformCode
from billing.models import Asset
from customers.models import Contact, Site
from customers.selectors import customer_default_site, site_address_for_sync

from ..choices import Entity, FieldRule
from ..engine.records import PlatformRecord
from ..engine.run import SyncContext
from ..errors import PermanentError
from ..selectors import binding_for
from . import mappers
from .client import ended
from .constants import PLATFORM

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


def routed_to_affinity() -> Q:
    return Q(upfront_route__code=PlatformCode.AFFINITY) | Q(
        recurring_route__code=PlatformCode.AFFINITY
    )


def first_id(records: list[dict[str, Any]]) -> str | None:
    return str(records[0]["id"]) if records else None


def external_id_of(role: str, entity: str, object_id: int | None) -> str | None:
    if object_id is None:
        return None
    binding = binding_for(PLATFORM, role, entity, object_id)
    return binding.external_id if binding and binding.external_id else None


def asset_site(asset: Asset) -> Site | None:
    """The site an asset's site product goes on: its own, else its customer's default."""
    if asset.site_id:
        return asset.site
    return customer_default_site(customer=asset.customer)


# --- the platform records: payloads and the Affinity calls ---------------------------------
def _site_payload(context: SyncContext | None, site: Site) -> dict[str, Any]:
    payload = dict(
        mappers.site_payload(
            site,
            account_id=external_id_of(ROLE_ACCOUNT, Entity.CUSTOMER, site.customer_id) or "",
            parent_site_id=external_id_of(ROLE_SITE, Entity.SITE, site.parent_id),
            address=site_address_for_sync(site=site).address,
        )
    )
    if context is not None and not payload["account_id"]:
        raise PermanentError(f"Customer {site.customer} has no Affinity account yet.")
    return payload


def _contact_payload(context: SyncContext | None, contact: Contact) -> dict[str, Any]:
    payload = dict(
        mappers.contact_payload(
            contact,
            account_id=external_id_of(ROLE_ACCOUNT, Entity.CUSTOMER, contact.customer_id) or "",
            site_id=external_id_of(ROLE_SITE, Entity.SITE, contact.site_id),
        )
    )
    if context is not None and not payload["account_id"]:
        raise PermanentError(f"Customer {contact.customer} has no Affinity account yet.")
    return payload


def site_id_of(asset: Asset) -> str | None:
    site = asset_site(asset)
    return external_id_of(ROLE_SITE, Entity.SITE, site.pk) if site is not None else None


def _ctn_payload(context: SyncContext | None, asset: Asset) -> dict[str, Any] | None:
    """The CTN of the asset's CLI (none without one). Its end date stays empty while
    another live asset of the customer uses the number."""
    number = mappers.asset_cli(asset)
    if not number:
        return None
    payload = dict(mappers.ctn_payload(asset, site_id=site_id_of(asset) or "", number=number))
    if context is not None and payload["end_date"] and _number_still_used(asset, number):
        payload["end_date"] = None
        context.notes.append(
            f"CTN {number} stays live in Affinity: another live asset of {asset.customer} uses it."
        )
    return payload


def _number_still_used(asset: Asset, number: str) -> bool:
    return (
        Asset.objects.filter(
            customer_id=asset.customer_id,
            status=AssetStatus.LIVE,
            identifier__in={asset.identifier, number},
        )
        .filter(routed_to_affinity())
        .exclude(pk=asset.pk)
        .exists()
    )


def _site_product_payload(context: SyncContext | None, asset: Asset) -> dict[str, Any]:
    """The site product, with the CTN pushed before it in the job (in a preview: the one
    bound, or last sent)."""
    if context is not None:
        ctn_id = context.record_ids.get(ROLE_CTN)
    else:
        binding = binding_for(PLATFORM, ROLE_SITE_PRODUCT, Entity.ASSET, asset.pk)
        own = external_id_of(ROLE_CTN, Entity.ASSET, asset.pk)
        ctn_id = own or (binding.payload.get("ctn_id") if binding else None)
    return dict(mappers.site_product_payload(asset, site_id=site_id_of(asset) or "", ctn_id=ctn_id))


def _ceased_now(asset: Asset, payload: dict[str, Any], before: dict[str, Any]) -> bool:
    """A ceased asset's site product takes its end date: the push that sends it ceases."""
    return bool(
        asset.status == AssetStatus.CEASED and payload["end_date"] and not before.get("end_date")
    )


def _live_ctn(context: SyncContext, asset: Asset, payload: dict[str, Any]) -> str | None:
    live = [
        c for c in context.client.ctns_find(payload["site_id"], payload["number"]) if not ended(c)
    ]
    return first_id(live)


# Every Affinity record is found by its natural key (our reference; a CTN's number on its
# site) before it is created, and an update sends only the repeated fields that changed.
ACCOUNT = PlatformRecord(
    role=ROLE_ACCOUNT,
    entity=Entity.CUSTOMER,
    fields=FIELD_RULES[ROLE_ACCOUNT],
    payload=lambda context, customer: dict(mappers.account_payload(customer)),
    lookup=lambda context, customer, payload: first_id(
        context.client.accounts_find(payload["reference"])
    ),
    create=lambda context, customer, payload: context.client.account_create(payload),
    update=lambda context, customer, external_id, body: context.client.account_update(
        external_id, body
    ),
    sends_changed=True,
)
SITE = PlatformRecord(
    role=ROLE_SITE,
    entity=Entity.SITE,
    fields=FIELD_RULES[ROLE_SITE],
    payload=_site_payload,
    lookup=lambda context, site, payload: first_id(
        context.client.sites_find(payload["account_id"], payload["reference"])
    ),
    create=lambda context, site, payload: context.client.site_create(payload),
    update=lambda context, site, external_id, body: context.client.site_update(external_id, body),
    sends_changed=True,
)
CONTACT = PlatformRecord(
    role=ROLE_CONTACT,
    entity=Entity.CONTACT,
    fields=FIELD_RULES[ROLE_CONTACT],
    payload=_contact_payload,
    lookup=lambda context, contact, payload: first_id(
        context.client.contacts_find(payload["account_id"], payload["reference"])
    ),
    create=lambda context, contact, payload: context.client.contact_create(payload),
    update=lambda context, contact, external_id, body: context.client.contact_update(
        external_id, body
    ),
    sends_changed=True,
)
# A CTN of another asset (two products on one line) is shared, not taken over.
CTN = PlatformRecord(
    role=ROLE_CTN,
    entity=Entity.ASSET,
    label="CTN",
    fields=FIELD_RULES[ROLE_CTN],
    payload=_ctn_payload,
    lookup=_live_ctn,
    create=lambda context, asset, payload: context.client.ctn_create(payload),
    update=lambda context, asset, external_id, body: context.client.ctn_update(external_id, body),
    sends_changed=True,
    shared=True,
)
SITE_PRODUCT = PlatformRecord(
    role=ROLE_SITE_PRODUCT,
    entity=Entity.ASSET,
    fields=FIELD_RULES[ROLE_SITE_PRODUCT],
    payload=_site_product_payload,
    lookup=lambda context, asset, payload: first_id(
        context.client.site_products_find(payload["site_id"], payload["reference"])
    ),
    create=lambda context, asset, payload: context.client.site_product_create(payload),
    update=lambda context, asset, external_id, body: context.client.site_product_update(
        external_id, body
    ),
    depends_on=(ROLE_CTN,),
    sends_changed=True,
    ends=_ceased_now,
)
ASSET_RECORDS = (CTN, SITE_PRODUCT)
RECORDS: dict[str, tuple[PlatformRecord, ...]] = {
    Entity.CUSTOMER: (ACCOUNT,),
    Entity.SITE: (SITE,),
    Entity.CONTACT: (CONTACT,),
    Entity.ASSET: ASSET_RECORDS,
}
