"""Seed 001 for Abillity: service assets → billing IDs (CLIs) and service charges.

What is sent when:

- An asset routed to Abillity (up-front or recurring route) goes when the Billing Export
  sends its line (*Transfer to Billing* on the Abillity route: ``billing.export``'s
  direct route), and again on every later change (a cease, a price, a date). Until then
  its jobs are skipped, saying so.
- The asset's identifier (MSISDN, or what its base category calls it) is a **billing
  ID** on its site, sent with its charges, never on its own; once per site: a second
  asset on the same number reuses the billing ID that is not ended.
- Up to two **service charges**: up-front (a one-off charge) and recurring (a rental);
  a product has no recurring one, and a component priced £0 makes none. The charge type
  is the id in the item's up-front field (Data Description by default) or recurring
  field (Pricing Tier), as the company settings name them (*Charge types*). Without it
  the rest is still sent and the job fails naming the item and the field; a retry once
  it is added sends the charge.
- Each component the platform accepted becomes In Billing
  (``billing.bill_status.line_components_accept``); £0 components with the asset.
- **New & Cease**: the target asset is ceased (its cease date the day before the new
  connection date); its billing ID gets its End Date and its charges their Last Payment,
  before the new asset creates a new billing ID with the same number and its charges.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from billing.bill_status import line_components_accept
from billing.choices import BillComponent, ItemType, LineAction
from billing.direct_routes import DirectRoute
from billing.models import Asset, BillingPlatform, BillingTransferItem
from billing.signals import lines_transferred

from ..choices import Entity, FieldRule, Operation
from ..engine.publish import changes_enqueue
from ..engine.records import PlatformRecord, operations_combined, record_push
from ..engine.run import SyncContext
from ..errors import PermanentError
from ..models import Binding
from ..selectors import binding_for, platform_exports, record_bindings
from . import mappers
from .charge_types import charge_type_problem
from .client import AbillityClient
from .constants import PLATFORM
from .roles import ROLE_BILLING_SITE, ROLE_SITE

ROLE_BILLING_ID = "billing_id"
ROLE_CHARGES = {
    BillComponent.UPFRONT: "upfront_charge",
    BillComponent.RECURRING: "recurring_charge",
}
# An asset with one of these bound is on Abillity (``assets_taken``).
TAKEN_ROLES = (ROLE_BILLING_ID, *ROLE_CHARGES.values())

ONE_OFF, REPEATED = FieldRule.ONE_OFF, FieldRule.REPEATED

# Seed 001's tables as field rules. aBILLity's CLI update (CLIPatch) takes neither the
# cost centre nor Suppress: they are sent when the billing ID is made.
BILLING_ID_RULES: dict[str, FieldRule] = {
    "SiteId": ONE_OFF,
    "CLI": ONE_OFF,  # MSISDN → Billing ID
    "PresentationAlias": ONE_OFF,  # MSISDN → Presentation Alias
    "StartDate": REPEATED,  # Connection Date → Start Date
    "ContractStartDate": REPEATED,  # Connection Date → Contract Start Date
    "EndDate": REPEATED,  # End Date (ceased or fixed billing) → End Date
    "ContractEndDate": REPEATED,  # → Contract End Date
    "CostCentre1": ONE_OFF,  # Cost Centre → Cost Centre 1
    "Suppress": ONE_OFF,  # Do Not Bill → Suppress
}
CHARGE_RULES: dict[str, FieldRule] = {
    "SiteId": ONE_OFF,  # a charge cannot move site
    "CLI": ONE_OFF,
    "ChargeId": REPEATED,  # Data Description / Pricing Tier → Charge Type
    "Description": REPEATED,  # Product Name → Description
    "FrequencyTypeId": REPEATED,  # Billing Frequency → Frequency
    "SalesPrice": REPEATED,  # Sell Price / Recurring Sell Price → Unit Sell Price
    "BaselineCost": REPEATED,  # RRP (0 when unset) → Unit Baseline Price
    "FirstPayment": REPEATED,  # Bill Start (the override when set) → First Payment
    "LastPayment": REPEATED,  # End Date (ceased or fixed billing) → Last Payment
    "Rental": REPEATED,  # recurring → Rental
    "RefundRental": REPEATED,  # always No
    "BackDatable": REPEATED,  # always Yes
}
FIELD_RULES = {
    ROLE_BILLING_ID: BILLING_ID_RULES,
    **{role: CHARGE_RULES for role in ROLE_CHARGES.values()},
}
CLI_PATCH_FIELDS = ("StartDate", "ContractStartDate", "EndDate", "ContractEndDate")


# --- which assets, and when ------------------------------------------------------------------


def _on_abillity() -> Q:
    return Q(upfront_route__code=PLATFORM) | Q(recurring_route__code=PLATFORM)


def _bound() -> Exists:
    return Exists(
        Binding.objects.filter(
            platform=PLATFORM,
            entity=Entity.ASSET,
            object_id=OuterRef("pk"),
            role__in=TAKEN_ROLES,
        ).exclude(external_id="")
    )


def _sent(line: Any) -> QuerySet[BillingTransferItem]:
    """The Billing Export's transfers of a sales order line (or ``OuterRef``) to Abillity."""
    return BillingTransferItem.objects.filter(line=line, transfer__route__code=PLATFORM)


def _released() -> Exists:
    return Exists(_sent(OuterRef("sales_order_line")))


def assets_taken() -> QuerySet[Asset]:
    """Assets routed to Abillity that the Billing Export sent, or that Abillity has."""
    return Asset.objects.filter(_on_abillity()).filter(_released() | _bound())


def asset_skip_reason(asset: Asset) -> str:
    """Why Abillity does not take the asset ("" when it does): ``assets_taken`` for one
    asset, reading its routes and bindings as its job has them (joined in, read once)."""
    routes = (asset.upfront_route, asset.recurring_route)
    if not any(route is not None and route.code == PLATFORM for route in routes):
        return f"Asset {asset} is not routed to Abillity."
    bindings = record_bindings(PLATFORM, Entity.ASSET, asset.pk)
    bound = any(bindings[role].external_id for role in TAKEN_ROLES if role in bindings)
    line = asset.sales_order_line_id
    replacing = _replacing_line_unsent(asset)
    if replacing is not None:
        # Seed 001: "The sync will include instructions to Abillity to cease the existing
        # Billing ID and Service Charge": the end goes with the new line, not before it.
        return (
            f"Asset {asset} is ceased by New & Cease line {replacing}: its end is sent with "
            "that line's sync, once the Billing Export sends it."
        )
    if not bound and not (line is not None and _sent(line).exists()):
        return (
            f"Asset {asset} waits for the Billing Export: Transfer to Billing on the Abillity "
            "route sends it."
        )
    return ""


# The annotation a job's asset carries: whether a New & Cease line targets it at all.
REPLACEMENT_KNOWN = "abillity_replaced"


def _replacements(asset: Any) -> QuerySet[Asset]:
    return Asset.objects.filter(
        sales_order_line__target_asset=asset,
        sales_order_line__action=LineAction.NEW_AND_CEASE,
    )


def with_replacement_known(assets: QuerySet[Asset]) -> QuerySet[Asset]:
    """``assets`` with whether a New & Cease line replaces each joined in, so that an asset
    no line replaces (nearly all) costs no query in ``asset_skip_reason``."""
    return assets.annotate(**{REPLACEMENT_KNOWN: Exists(_replacements(OuterRef("pk")))})


def _replacing_line_unsent(asset: Asset) -> int | None:
    """The New & Cease line that ceases ``asset`` and whose new asset Abillity does not
    take yet (its line not sent, nothing bound), if any."""
    if getattr(asset, REPLACEMENT_KNOWN, True) is False:
        return None
    replacing = _replacements(asset).values_list("pk", "sales_order_line_id")
    for new_id, line_id in replacing:
        if not assets_taken().filter(pk=new_id).exists():
            return line_id
    return None


def asset_dependencies(asset: Asset) -> list[tuple[str, Any]]:
    found = [(Entity.CUSTOMER, asset.customer)]
    site = _layer_site(asset)
    if site is not None:
        found.append((Entity.SITE, site))
    return found


def _layer_site(asset: Asset):
    """The site the asset is billed at: its own, or the parent of a Layer subsite."""
    site = asset.site
    if site is not None and site.parent_id:
        return site.parent
    return site


def _site_id(asset: Asset) -> int:
    site = _layer_site(asset)
    if site is not None:
        binding = binding_for(PLATFORM, ROLE_SITE, Entity.SITE, site.pk)
    else:
        binding = binding_for(PLATFORM, ROLE_BILLING_SITE, Entity.CUSTOMER, asset.customer_id)
    if binding is None or not binding.external_id:
        raise PermanentError(f"Asset {asset}: its site is not on Abillity yet.")
    return int(binding.external_id)


# --- what is sent -----------------------------------------------------------------------------


def charged_components(asset: Asset) -> list[str]:
    """The components that make a service charge: routed to Abillity, priced above £0, and
    for a product the up-front one only."""
    found = []
    item = asset.inventory_item
    if asset.upfront_route and asset.upfront_route.code == PLATFORM and asset.sell_price:
        found.append(BillComponent.UPFRONT)
    if (
        item.item_type == ItemType.SERVICE
        and asset.recurring_route
        and asset.recurring_route.code == PLATFORM
        and asset.recurring_sell_price
    ):
        found.append(BillComponent.RECURRING)
    return found


# --- the push ----------------------------------------------------------------------------------


# What an asset's push reads of its related records, joined in when its job loads it.
ASSET_JOINS = (
    "inventory_item__base_category",
    "upfront_route",
    "recurring_route",
    "site__parent",
    "sales_order_line__target_asset",
    "customer",
)


def asset_push(context: SyncContext, asset: Asset) -> Operation:
    """Send an asset's billing ID and charges (a New & Cease target first), then mark what
    Abillity accepted In Billing. Fails, after sending the rest, when a charge type id is
    missing."""
    operations: list[str] = []
    line = asset.sales_order_line
    if line is not None and line.action == LineAction.NEW_AND_CEASE and line.target_asset:
        target = line.target_asset
        if assets_taken().filter(pk=target.pk).exists():
            # The old billing ID must end before a new one of the same number is made:
            # through the target's own job (claimed here, or waited for while another
            # worker has it), so two workers never push the target at once.
            context.sync_first(Entity.ASSET, target)
    site_id = _site_id(asset)
    if asset.identifier.strip():
        payload = dict(mappers.billing_id_payload(asset, site_id=site_id))
        operations.append(record_push(context, BILLING_ID, payload=payload))
    problems = []
    accepted = []
    for component in charged_components(asset):
        charge_type, problem, send_anyway = charge_type_problem(asset.inventory_item, component)
        if problem:
            problems.append(problem)
            if not send_anyway:
                continue
        payload = dict(
            mappers.service_charge_payload(
                asset, component=component, site_id=site_id, charge_type_id=charge_type
            )
        )
        operations.append(record_push(context, CHARGES[component], payload=payload))
        if not problem:
            accepted.append(component)
    if line is not None:
        # £0 components make no charge: accepted with the asset, unless something failed.
        free = [
            c
            for c in (BillComponent.UPFRONT, BillComponent.RECURRING)
            if c not in charged_components(asset) and not problems
        ]
        if accepted or free:
            line_components_accept(
                line_id=line.pk, route_code=PLATFORM, components=[*accepted, *free]
            )
    if problems:
        sent = "; the rest was sent" if operations else ""
        raise PermanentError(
            " ".join(f"{problem} and retry this job." for problem in problems)
            + (" The rest was sent." if sent else "")
        )
    return operations_combined(operations)


def _active_cli(client: AbillityClient, site_id: int, number: str) -> dict | None:
    for cli in client.clis_by_number(number):
        if cli.get("SiteId") == site_id and not cli.get("EndDate"):
            return cli
    return None


def _find_charge(client: AbillityClient, payload: dict[str, Any]) -> int | None:
    """A charge made by an earlier try whose answer was lost: the same type, description,
    frequency and first payment on the same site and CLI, not bound to another asset.
    (aBILLity lists charges only by CLI: a charge without one cannot be looked up.)"""
    if not payload.get("CLI"):
        return None
    for charge in client.site_charges_for_cli(payload["SiteId"], payload["CLI"]):
        # ServiceChargeView (abillity-api.md §10) lists Description … SerialNo: the type,
        # description and frequency (rental or one-off) are compared, and the first payment.
        same = (
            all(
                charge.get(name) == payload.get(name)
                for name in ("ChargeId", "Description", "FrequencyTypeId")
            )
            and str(charge.get("FirstPayment") or "")[:10] == str(payload["FirstPayment"])[:10]
        )
        taken = Binding.objects.filter(
            platform=PLATFORM, role__in=ROLE_CHARGES.values(), external_id=str(charge["Id"])
        ).exists()
        if same and not taken:
            return int(charge["Id"])
    return None


def _preview_site_id(asset: Asset) -> int:
    try:
        return _site_id(asset)
    except PermanentError:
        return 0  # not on Abillity yet: the preview shows the rest


def _billing_id_payload(context: SyncContext | None, asset: Asset) -> dict[str, Any] | None:
    if not asset.identifier.strip():
        return None
    return dict(mappers.billing_id_payload(asset, site_id=_preview_site_id(asset)))


def _charge_payload(component: str):
    def payload(context: SyncContext | None, asset: Asset) -> dict[str, Any] | None:
        if component not in charged_components(asset):
            return None
        charge_type, _, _ = charge_type_problem(asset.inventory_item, component)
        return dict(
            mappers.service_charge_payload(
                asset,
                component=component,
                site_id=_preview_site_id(asset),
                charge_type_id=charge_type,
            )
        )

    return payload


def _found_cli(context: SyncContext, asset: Asset, payload: dict[str, Any]) -> str | None:
    existing = _active_cli(context.client, payload["SiteId"], payload["CLI"])
    return str(existing["Id"]) if existing is not None else None


def _found_charge(context: SyncContext, asset: Asset, payload: dict[str, Any]) -> str | None:
    found = _find_charge(context.client, payload)
    return str(found) if found is not None else None


# The billing ID is found by number on its site; a billing ID of another asset on the site
# (a second product on one number) is shared, never duplicated. aBILLity's CLI update
# (CLIPatch) takes the dates only.
BILLING_ID = PlatformRecord(
    role=ROLE_BILLING_ID,
    entity=Entity.ASSET,
    label="billing ID",
    fields=BILLING_ID_RULES,
    payload=_billing_id_payload,
    lookup=_found_cli,
    create=lambda context, asset, payload: str(context.client.cli_create(payload)),
    update=lambda context, asset, external_id, body: context.client.cli_update(
        int(external_id), {k: body[k] for k in CLI_PATCH_FIELDS}
    ),
    shared=True,
    ends=lambda asset, payload, before: bool(payload.get("EndDate")),
)
CHARGES = {
    component: PlatformRecord(
        role=role,
        entity=Entity.ASSET,
        fields=CHARGE_RULES,
        payload=_charge_payload(component),
        lookup=_found_charge,
        create=lambda context, asset, payload: str(context.client.service_charge_create(payload)),
        update=lambda context, asset, external_id, body: context.client.service_charge_update(
            int(external_id), body
        ),
        depends_on=(ROLE_BILLING_ID,),
        ends=lambda asset, payload, before: bool(payload.get("LastPayment")),
    )
    for component, role in ROLE_CHARGES.items()
}
RECORDS = (BILLING_ID, *CHARGES.values())


# --- the Billing Export's direct route -----------------------------------------------------------


def _integration_on() -> bool:
    return platform_exports(PLATFORM, Entity.ASSET)


def export_line_filter(lines: QuerySet) -> QuerySet:
    """Seed 001: a line with no up-front or recurring charge is in the export only while it
    carries a billing ID never sent to Abillity (so a new billing ID still goes); with no
    billing ID at all it has nothing to send, and is not listed."""
    sent_ids = Binding.objects.filter(
        platform=PLATFORM, role=ROLE_BILLING_ID, entity=Entity.ASSET
    ).exclude(external_id="")
    sent_here = Exists(
        Asset.objects.filter(
            site=OuterRef("site"),
            identifier=OuterRef("asset__identifier"),
            pk__in=sent_ids.values("object_id"),
        ).exclude(identifier="")
    )
    no_charge = Q(sell_price=0) & (
        Q(recurring_sell_price=0) | ~Q(inventory_item__item_type=ItemType.SERVICE)
    )
    no_billing_id = Q(asset__isnull=True) | Q(asset__identifier="")
    return lines.exclude(no_charge & (no_billing_id | Q(sent_here)))


# The Billing Export's route to Abillity (registered by Abillity's AppConfig.ready).
DIRECT_ROUTE = DirectRoute(is_active=_integration_on, line_filter=export_line_filter)


def lines_sent_to_abillity(sender, transfer, route: BillingPlatform, line_ids, **kwargs) -> None:
    """Transfer to Billing on the Abillity route: queue each line's asset."""
    if route.code != PLATFORM or not _integration_on():
        return
    asset_ids = list(
        Asset.objects.filter(sales_order_line__in=line_ids).values_list("pk", flat=True)
    )
    changes_enqueue(
        entity=Entity.ASSET,
        object_ids=asset_ids,
        reason=f"sent by the Billing Export (transfer #{transfer.pk})",
        platforms=[PLATFORM],
    )


lines_transferred.connect(lines_sent_to_abillity, dispatch_uid="abillity_lines_transferred")
