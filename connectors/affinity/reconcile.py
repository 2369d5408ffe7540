"""Reconciliation of billing assets between The Layer and Affinity (seed 002: "improve
ceases by facilitating reconciliation of billing assets between systems").

Compares the assets Affinity should bill (bound to a site product, or live, routed to
Affinity and transferred to billing) with Affinity's site products, and reports:

| kind | when |
|---|---|
| ``live_unknown_there`` | live here, but Affinity has no site product for it |
| ``ceased_billed_there`` | ceased here, but its site product has no end date, or a later one |
| ``ended_there_live_here`` | its site product has ended in Affinity, but it is live here |
| ``cli_differs`` | its CLI is not the number of its site product's CTN |
| ``product_differs`` | its item's External SKU is not its site product's product code |
| ``unknown_here`` | a live site product in Affinity bound to no asset here |
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db.models import Q

from billing.choices import AssetStatus, BillStatus, PlatformCode
from billing.cli import cli_normalise
from billing.models import Asset
from billing.platform_rules import item_is_cli_based

from ..base import ReconcileDifference
from ..choices import Entity
from ..models import Binding
from .client import AffinityClient, ended
from .constants import PLATFORM
from .sync import ROLE_SITE_PRODUCT

KIND_LABELS = {
    "live_unknown_there": "Live here, unknown to Affinity",
    "ceased_billed_there": "Ceased here, still billed in Affinity",
    "ended_there_live_here": "Ended in Affinity, live here",
    "cli_differs": "Different CLI",
    "product_differs": "Different product",
    "unknown_here": "Billed in Affinity, unknown here",
}


def _cli_of(asset: Asset) -> str:
    if not item_is_cli_based(asset.inventory_item) or not asset.identifier.strip():
        return ""
    try:
        return cli_normalise(asset.identifier)
    except ValidationError:
        return asset.identifier.strip()


def affinity_differences(
    *, client: AffinityClient, today: date | None = None
) -> list[ReconcileDifference]:
    """Every difference between the assets Affinity should bill and its site products."""
    remote = {str(sp["id"]): sp for sp in client.site_products_list()}
    bindings = {
        b.object_id: b
        for b in Binding.objects.filter(
            platform=PLATFORM, role=ROLE_SITE_PRODUCT, entity=Entity.ASSET
        ).exclude(external_id="")
    }
    in_billing = Q(
        sales_order_line__upfront_bill_status=BillStatus.IN_BILLING,
        sales_order_line__upfront_route__code=PlatformCode.AFFINITY,
    ) | Q(
        sales_order_line__recurring_bill_status=BillStatus.IN_BILLING,
        sales_order_line__recurring_route__code=PlatformCode.AFFINITY,
    )
    assets = (
        Asset.objects.filter(Q(pk__in=list(bindings)) | (Q(status=AssetStatus.LIVE) & in_billing))
        .select_related("customer", "inventory_item__base_category")
        .order_by("customer__name", "pk")
        .distinct()
    )
    found: list[ReconcileDifference] = []
    seen: set[str] = set()

    def add(kind: str, asset: Asset | None, external_id: str, **values: str) -> None:
        found.append(
            ReconcileDifference(
                kind=kind,
                label=KIND_LABELS[kind],
                entity=Entity.ASSET,
                object_id=asset.pk if asset is not None else None,
                external_id=external_id,
                record=str(asset) if asset is not None else values.pop("record", ""),
                customer=str(asset.customer) if asset is not None else "",
                **values,
            )
        )

    for asset in assets:
        binding = bindings.get(asset.pk)
        site_product = remote.get(binding.external_id) if binding is not None else None
        if site_product is None:
            if asset.status == AssetStatus.LIVE:
                add(
                    "live_unknown_there",
                    asset,
                    binding.external_id if binding is not None else "",
                    layer_value="live",
                    platform_value="no site product",
                    message=f"Asset {asset} is live and in billing here, but Affinity has no "
                    "site product for it: sync it (or retry its job in the error queue).",
                )
            continue
        external_id = str(site_product["id"])
        seen.add(external_id)
        end = site_product.get("end_date") or ""
        if asset.status == AssetStatus.CEASED:
            cease = asset.cease_date.isoformat() if asset.cease_date else ""
            if not end or (cease and end > cease):
                add(
                    "ceased_billed_there",
                    asset,
                    external_id,
                    layer_value=f"ceased {cease}".strip(),
                    platform_value=f"billed until {end}" if end else "no end date",
                    message=f"Asset {asset} is ceased here, but Affinity still bills site "
                    f"product {external_id}: resync the asset, or end it in Affinity.",
                )
        elif ended(site_product, today):
            add(
                "ended_there_live_here",
                asset,
                external_id,
                layer_value="live",
                platform_value=f"ended {end}",
                message=f"Site product {external_id} ended in Affinity on {end}, but asset "
                f"{asset} is live here: cease it here (a cease import) or re-add it there.",
            )
        ours, theirs = _cli_of(asset), site_product.get("ctn_number") or ""
        if ours != theirs:
            add(
                "cli_differs",
                asset,
                external_id,
                layer_value=ours or "no CLI",
                platform_value=theirs or "no CTN",
                message=f"Asset {asset} has CLI {ours or '(none)'}; its Affinity site "
                f"product is on CTN {theirs or '(none)'}.",
            )
        sku = asset.inventory_item.external_sku.strip()
        code = site_product.get("product_code") or ""
        if sku != code:
            add(
                "product_differs",
                asset,
                external_id,
                layer_value=sku or "no External SKU",
                platform_value=code,
                message=f"Asset {asset} is {asset.inventory_item} (External SKU "
                f"{sku or '(none)'}); its Affinity site product is product {code}.",
            )
    bound_ids = {b.external_id for b in bindings.values()}
    for external_id, site_product in sorted(remote.items()):
        if external_id in seen or external_id in bound_ids or ended(site_product, today):
            continue
        add(
            "unknown_here",
            None,
            external_id,
            record=f"{site_product.get('description') or site_product.get('product_code')} "
            f"({site_product.get('reference') or 'no reference'})",
            layer_value="no asset",
            platform_value=f"live, product {site_product.get('product_code')}",
            message=f"Affinity bills site product {external_id} on site "
            f"{site_product.get('site_id')}, which no asset here is bound to: cease it in "
            "Affinity, or link it.",
        )
    return found
