"""Bill status and the Bill Start Date: one place for seed 002's rules (and the
reference's §3 and §4, where the seed's own tables were not available).

Each sales order line has two billed components, up-front and recurring, each with
its own billing route and bill status:

| from          | to            | when                                                      |
|---------------|---------------|-----------------------------------------------------------|
| Not Billed    | Ready to Bill | the line is converted to an asset **and** its item-type   |
|               |               | trigger happened (service: connected; product: issued;    |
|               |               | or a Bill Start Override is set)                          |
| Ready to Bill | Not Billed    | the conversion is undone (the asset deleted), or the      |
|               |               | trigger is undone (the date cleared)                      |
| Ready to Bill | In Billing    | a Transfer to Billing (``billing.export``), or, on a      |
|               |               | route that takes lines through its API, the platform      |
|               |               | accepting them (``line_components_accept``)               |
| any           | any           | a manual edit by a user with "Allow update billing"       |

Only components that take part move: a component whose route is an external platform
(not The Layer, not blank: those are invoiced in The Layer), and for a product the
up-front one only (products carry no recurring charge). In Billing is never left
automatically. This module is the only writer of the bill statuses (the admin's manual
edit aside, a form field guarded by its permission).

**Billable now** (one rule, ``asset_bill_span_open`` and its SQL form
``line_billable_now_q``, used by the Billing Export's page, API, command and files, the
bill status above, and the connectors): an asset is billed for the span [Bill Start Date,
end]. A ceased asset (a cease date: New & Cease, a cease import, staff) ends on its cease
date; a ceased asset without a cease date, or whose cease date is before its Bill Start
Date, has nothing to bill: its components never become (or stay) Ready to Bill, and the
Billing Export never lists them. The end the platforms are told
(``asset_billing_end_date``) is the cease date, else the fixed-billing end date.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, DateField, F, Q, When
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThanOrEqual, IsNull

from .choices import AssetStatus, BillComponent, BillStatus, ItemType, PlatformCode
from .models import Asset, BillingPlatform, SalesOrderLine

STATUS_FIELDS = {
    BillComponent.UPFRONT: "upfront_bill_status",
    BillComponent.RECURRING: "recurring_bill_status",
}
ROUTE_FIELDS = {
    BillComponent.UPFRONT: "upfront_route",
    BillComponent.RECURRING: "recurring_route",
}


def route_is_external(route: BillingPlatform | None) -> bool:
    """A route to another platform: The Layer and a blank route invoice in The Layer."""
    return route is not None and route.code != PlatformCode.THE_LAYER


def line_billed_components(line: SalesOrderLine) -> list[str]:
    """The components of a line that take part in bill status (see the module's rules)."""
    components = []
    if route_is_external(line.upfront_route):
        components.append(BillComponent.UPFRONT)
    if line.inventory_item.item_type == ItemType.SERVICE and route_is_external(
        line.recurring_route
    ):
        components.append(BillComponent.RECURRING)
    return components


def asset_bill_start_date(asset: Asset) -> date | None:
    """The day billing begins: the Bill Start Override if set (it always wins), else a
    service's connection date or a product's issue date."""
    if asset.billing_start_date_override:
        return asset.billing_start_date_override
    if asset.inventory_item.item_type == ItemType.SERVICE:
        return asset.connection_date
    return asset.issue_date


def asset_billing_triggered(asset: Asset) -> bool:
    """The item-type trigger of Ready to Bill: a service connected, a product issued (or a
    Bill Start Override set, which is the date billing starts), and something to bill
    (``asset_bill_span_open``: not ceased before that date)."""
    return asset_bill_span_open(asset)


def asset_is_ceased(asset: Asset) -> bool:
    """Ceased, or ceasing: its status says so, or it has a cease date (a cease import sets
    a future one and leaves the asset live until then)."""
    return asset.status == AssetStatus.CEASED or asset.cease_date is not None


def asset_billing_end_date(asset: Asset) -> date | None:
    """The day billing ends, as the platforms are told (seed 001: "End Date: when ceased
    or synced service had fixed billing"): the cease date once ceased, else the fixed
    billing end date; None while the asset bills on."""
    if asset.cease_date is not None:
        return asset.cease_date
    if asset.fixed_billing and asset.end_date is not None:
        return asset.end_date
    return None


def asset_bill_span_open(asset: Asset) -> bool:
    """Whether the asset has a span to bill: a Bill Start Date, and if ceased a cease date
    on or after it (``line_billable_now_q`` is the same rule in SQL)."""
    start = asset_bill_start_date(asset)
    if start is None:
        return False
    if asset_is_ceased(asset):
        return asset.cease_date is not None and asset.cease_date >= start
    return True


def bill_start_date_expression(prefix: str = "asset__", item: str = "inventory_item__") -> Coalesce:
    """``asset_bill_start_date`` in SQL, for a query on sales order lines (``prefix``: the
    path to the asset; ``item``: to the inventory item)."""
    return Coalesce(
        F(f"{prefix}billing_start_date_override"),
        Case(
            When(**{f"{item}item_type": ItemType.SERVICE}, then=F(f"{prefix}connection_date")),
            default=F(f"{prefix}issue_date"),
            output_field=DateField(),
        ),
        output_field=DateField(),
    )


def billing_end_date_expression(prefix: str = "asset__") -> Coalesce:
    """``asset_billing_end_date`` in SQL."""
    return Coalesce(
        F(f"{prefix}cease_date"),
        Case(
            When(**{f"{prefix}fixed_billing": True}, then=F(f"{prefix}end_date")),
            default=None,
            output_field=DateField(),
        ),
        output_field=DateField(),
    )


def bill_span_open_q(prefix: str = "asset__") -> Q:
    """``asset_bill_span_open`` in SQL: the asset has a Bill Start Date and, if ceased, a
    cease date on or after it."""
    start = bill_start_date_expression(prefix)
    not_ceased = Q(
        **{
            f"{prefix}status__in": [s for s in AssetStatus.values if s != AssetStatus.CEASED],
            f"{prefix}cease_date__isnull": True,
        }
    )
    within = GreaterThanOrEqual(F(f"{prefix}cease_date"), start)
    return Q(IsNull(start, False)) & (not_ceased | Q(within))


def line_billable_now_q(route: BillingPlatform, component: str) -> Q:
    """The one rule of "billable now" for a line's component, in SQL: Ready to Bill, on
    ``route``, and its asset has a span to bill (``asset_bill_span_open``). Do Not Bill is
    not part of it: such a line is still handed to the platform, flagged (see
    docs/billing-export.md, Decisions)."""
    return line_ready_on_q(route, component) & bill_span_open_q()


def line_ready_on_q(route: BillingPlatform, component: str) -> Q:
    """The component's own half of ``line_billable_now_q``: Ready to Bill on ``route`` (the
    other half, the asset's span, is the line's, whichever component)."""
    ready = Q(**{STATUS_FIELDS[component]: BillStatus.READY_TO_BILL})
    return ready & Q(**{ROUTE_FIELDS[component]: route})


def line_bill_statuses_due(line: SalesOrderLine, asset: Asset | None) -> dict[str, str]:
    """What each taking-part component's status should now be, from the table above.

    Components In Billing, and those not taking part, are not in the answer.
    """
    ready = asset is not None and asset_billing_triggered(asset)
    due = {}
    for component in line_billed_components(line):
        current = getattr(line, STATUS_FIELDS[component])
        if current == BillStatus.IN_BILLING:
            continue
        due[component] = BillStatus.READY_TO_BILL if ready else BillStatus.NOT_BILLED
    return due


def line_bill_status_refresh(*, line: SalesOrderLine, asset: Asset | None) -> list[str]:
    """Apply the transitions to a line from its asset (None: it has none, or no longer);
    return the status fields that changed. Called by the services that convert a line,
    save an asset or delete it; the caller holds the transaction and the line's lock."""
    changed = []
    for component, status in line_bill_statuses_due(line, asset).items():
        field = STATUS_FIELDS[component]
        if getattr(line, field) != status:
            setattr(line, field, status)
            changed.append(field)
    if changed:
        line.save(update_fields=changed)
    return changed


def line_bill_circle(upfront: str, recurring: str, components: list[str]) -> str:
    """The sales order grid's circle for one line: "green" when every taking-part component
    is In Billing, "orange" while one is Not Billed or Ready to Bill, "" when none takes
    part (invoiced in The Layer)."""
    statuses = {BillComponent.UPFRONT: upfront, BillComponent.RECURRING: recurring}
    taking_part = [statuses[c] for c in components]
    if not taking_part:
        return ""
    return "green" if all(s == BillStatus.IN_BILLING for s in taking_part) else "orange"


def line_not_invoiceable_reason(line: SalesOrderLine) -> str:
    """Why The Layer may not invoice the line ("" when it may). Seed 002: "Only items with
    an up-front billing route of The Layer, or with no up-front billing route set, will be
    invoiceable in The Layer"."""
    if route_is_external(line.upfront_route):
        return (
            f"Line {line.pk} ({line.inventory_item}) is billed by {line.upfront_route}, its "
            "up-front billing route: it cannot be invoiced in The Layer."
        )
    return ""


def line_invoice_in_layer_validate(*, line: SalesOrderLine) -> None:
    """Only a line whose up-front route is The Layer, or blank, may be invoiced in The Layer;
    anything else is billed by its platform (``line_not_invoiceable_reason``)."""
    reason = line_not_invoiceable_reason(line)
    if reason:
        raise ValidationError({"upfront_route": reason})


def line_components_transfer(*, moves: Iterable[tuple[int, str]]) -> None:
    """A Transfer to Billing: each (line id, component) becomes In Billing. The caller
    (``billing.export.billing_transfer``) has checked them and holds the lines' locks."""
    by_component: dict[str, list[int]] = {}
    for line_id, component in moves:
        by_component.setdefault(component, []).append(line_id)
    for component, line_ids in by_component.items():
        SalesOrderLine.objects.filter(pk__in=line_ids).update(
            **{STATUS_FIELDS[component]: BillStatus.IN_BILLING}
        )


@transaction.atomic
def line_components_accept(
    *, line_id: int, route_code: str, components: Iterable[str]
) -> list[str]:
    """The platform of ``route_code`` accepted these components of a line: those Ready to
    Bill on that route become In Billing. Returns the status fields that changed."""
    line = (
        SalesOrderLine.objects.select_for_update(of=("self",))
        .select_related("upfront_route", "recurring_route")
        .get(pk=line_id)
    )
    changed = []
    for component in components:
        field = STATUS_FIELDS[component]
        route = getattr(line, f"{component}_route")
        on_route = route is not None and route.code == route_code
        if on_route and getattr(line, field) == BillStatus.READY_TO_BILL:
            setattr(line, field, BillStatus.IN_BILLING)
            changed.append(field)
    if changed:
        line.save(update_fields=changed)
    return changed
