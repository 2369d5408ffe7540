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
| Ready to Bill | In Billing    | a Transfer to Billing (``billing.export``)                |
| any           | any           | a manual edit by a user with "Allow update billing"       |

Only components that take part move: a component whose route is an external platform
(not The Layer, not blank: those are invoiced in The Layer), and for a product the
up-front one only (products carry no recurring charge). In Billing is never left
automatically.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError

from .choices import BillComponent, BillStatus, ItemType, PlatformCode
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
    Bill Start Override set, which is the date billing starts)."""
    return asset_bill_start_date(asset) is not None


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


def line_invoice_in_layer_validate(*, line: SalesOrderLine) -> None:
    """Only a line whose up-front route is The Layer, or blank, may be invoiced in The Layer;
    anything else is billed by its platform."""
    if route_is_external(line.upfront_route):
        raise ValidationError(
            {
                "upfront_route": f"Line {line.pk} ({line.inventory_item}) is billed by "
                f"{line.upfront_route}, its up-front billing route: it cannot be invoiced in "
                "The Layer."
            }
        )
