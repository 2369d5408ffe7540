"""Writes of the billing app: sales orders, their lines, and assets made from them."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from customers.choices import CustomerStage, CustomerStatus, QuoteStatus
from customers.models import CompanySettings, Customer, Quote, Site

from .choices import AssetStatus, LineAction
from .models import Asset, InventoryItem, SalesOrder, SalesOrderLine
from .signals import sales_order_created

User = AbstractBaseUser


@dataclass(frozen=True)
class LineSpec:
    """What a new sales order line is made of."""

    inventory_item: InventoryItem
    quantity: int = 1
    sell_price: Decimal | None = None
    recurring_sell_price: Decimal | None = None
    site: Site | None = None
    cli: str = ""


def _line_from_spec(*, order: SalesOrder, spec: LineSpec) -> SalesOrderLine:
    item = spec.inventory_item
    return SalesOrderLine(
        order=order,
        inventory_item=item,
        quantity=spec.quantity,
        sell_price=item.sell_price if spec.sell_price is None else spec.sell_price,
        recurring_sell_price=(
            item.recurring_sell_price
            if spec.recurring_sell_price is None
            else spec.recurring_sell_price
        ),
        site=spec.site,
        cli=spec.cli,
    )


@transaction.atomic
def sales_order_create(
    *,
    customer: Customer,
    lines: Sequence[LineSpec] = (),
    quote: Quote | None = None,
    reference: str = "",
    user: User | None = None,
) -> SalesOrder:
    """Create a sales order with its lines and send `sales_order_created` (an initial sync event).

    A lead must be converted first (a won quote does that). With `quote`,
    the quote must be this customer's, won, and not already ordered.
    """
    # The customer lock serialises order creation for one customer, so two requests
    # ordering the same quote cannot both pass the "already ordered" check.
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if quote is not None:
        # The caller's copy may be stale (won or ordered since it was loaded).
        quote = Quote.objects.get(pk=quote.pk)
        if quote.customer_id != customer.pk:
            raise ValidationError({"quote": "The quote belongs to another customer."})
        if quote.status != QuoteStatus.WON:
            raise ValidationError({"quote": f"Quote {quote} is not won."})
        if SalesOrder.objects.filter(quote=quote).exists():
            raise ValidationError({"quote": f"Quote {quote} already has a sales order."})
    if customer.stage == CustomerStage.LEAD:
        raise ValidationError(
            {"customer": f'"{customer.name}" is still a lead: win a quote or convert it first.'}
        )
    order = SalesOrder(customer=customer, quote=quote, reference=reference, created_by=user)
    order.full_clean()
    order.save()
    if not order.reference:
        order.reference = f"SO{order.pk:06d}"
        order.save(update_fields=["reference"])
    for spec in lines:
        sales_order_line_save(line=_line_from_spec(order=order, spec=spec))
    sales_order_created.send(sender=SalesOrder, order=order, customer=customer, user=user)
    return order


@transaction.atomic
def sales_order_create_from_quote(*, quote: Quote, user: User | None = None) -> SalesOrder:
    """Create the sales order of a won quote, one line per quote line."""
    specs = [
        LineSpec(
            inventory_item=line.inventory_item,
            quantity=line.quantity,
            sell_price=line.sell_price,
            recurring_sell_price=line.recurring_sell_price,
            site=line.site,
            cli=line.cli,
        )
        for line in quote.lines.select_related("inventory_item", "site")
    ]
    return sales_order_create(customer=quote.customer, lines=specs, quote=quote, user=user)


def _line_validate(
    *, line: SalesOrderLine, company: CompanySettings, stored: SalesOrderLine | None = None
) -> None:
    """The data-capture rules of a line (seed 001).

    `stored` is the line as saved before this edit (None for a new line, and
    when converting: every rule applies then). An edit does not re-check a
    company setting for an action chosen earlier, and a converted line keeps
    its action and target (the target may be ceased by then).
    """
    errors: dict[str, str] = {}
    customer_id = line.order.customer_id
    converted = stored is not None and Asset.objects.filter(sales_order_line_id=line.pk).exists()
    if line.site_id and line.site.customer_id != customer_id:
        errors["site"] = "The site belongs to another customer."
    if converted and (
        line.action != stored.action or line.target_asset_id != stored.target_asset_id
    ):
        errors["action"] = (
            "The line is already converted to an asset: its action and target asset can no "
            "longer change."
        )
        raise ValidationError(errors)
    action_chosen_now = stored is None or line.action != stored.action
    if line.action == LineAction.NEW:
        if line.target_asset_id:
            errors["target_asset"] = "A New line creates a new asset: it takes no target asset."
    else:
        label = LineAction(line.action).label
        if action_chosen_now:
            if line.action == LineAction.UPDATE and not company.update_action_enabled:
                errors["action"] = "The Update action is disabled in company settings."
            if line.action == LineAction.NEW_AND_CEASE and not company.new_and_cease_enabled:
                errors["action"] = "New & Cease is not enabled in company settings."
        if not line.target_asset_id:
            errors["target_asset"] = f"{label} needs a target asset."
        elif line.target_asset.customer_id != customer_id:
            errors["target_asset"] = "The target asset belongs to another customer."
        elif not line.target_asset.is_live and not converted:
            errors["target_asset"] = f"The target asset {line.target_asset} is already ceased."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def sales_order_line_save(*, line: SalesOrderLine) -> SalesOrderLine:
    """Create or update a line. New lines take their billing routes from the inventory item.

    Action rules: New takes no target; Update and New & Cease need a live
    target asset of the same customer, and need their company setting on.
    """
    stored = None
    if line._state.adding:
        if line.inventory_item_id is not None:
            item = line.inventory_item
            if line.upfront_route_id is None:
                line.upfront_route = item.upfront_route
            if line.recurring_route_id is None:
                line.recurring_route = item.recurring_route
    else:
        stored = SalesOrderLine.objects.select_for_update().get(pk=line.pk)
    # Field validation first: the action rules below read the order, item and choices.
    line.full_clean()
    if line.target_asset_id:
        # Judge the target as stored, not by the caller's copy (it may have been ceased since).
        line.target_asset = Asset.objects.get(pk=line.target_asset_id)
    _line_validate(line=line, company=CompanySettings.load(), stored=stored)
    line.save()
    return line


@transaction.atomic
def sales_order_line_convert_to_asset(
    *,
    line: SalesOrderLine,
    identifier: str = "",
    connection_date: date | None = None,
    issue_date: date | None = None,
) -> Asset:
    """Convert a line to its asset.

    New & Cease also ceases the target asset, its cease date the day before
    the new asset's connection date. A Pending customer becomes Live.
    """
    # of=("self",): PostgreSQL refuses FOR UPDATE on the nullable side of an outer join
    # (target_asset); the rows that change are locked one by one below.
    line = (
        SalesOrderLine.objects.select_for_update(of=("self",))
        .select_related("order", "inventory_item", "target_asset")
        .get(pk=line.pk)
    )
    if Asset.objects.filter(sales_order_line=line).exists():
        raise ValidationError({"line": f"Line {line.pk} is already converted to an asset."})
    customer = Customer.objects.select_for_update().get(pk=line.order.customer_id)
    line.order.customer = customer
    if line.target_asset_id:
        # Two lines ceasing one asset at once: the second must see it ceased.
        line.target_asset = Asset.objects.select_for_update().get(pk=line.target_asset_id)
    _line_validate(line=line, company=CompanySettings.load())
    if line.action == LineAction.NEW_AND_CEASE and connection_date is None:
        raise ValidationError(
            {
                "connection_date": "New & Cease needs the new asset's connection date: the target "
                "is ceased the day before it."
            }
        )
    if line.action == LineAction.UPDATE:
        raise ValidationError(
            {"action": "An Update line changes its target asset; it does not make a new one."}
        )
    asset = Asset(
        customer=customer,
        site=line.site,
        inventory_item=line.inventory_item,
        sales_order_line=line,
        identifier=identifier or line.cli,
        connection_date=connection_date,
        issue_date=issue_date,
        quantity=line.quantity,
        sell_price=line.sell_price,
        recurring_sell_price=line.recurring_sell_price,
        upfront_route=line.upfront_route,
        recurring_route=line.recurring_route,
    )
    asset.full_clean()
    asset.save()
    if line.action == LineAction.NEW_AND_CEASE:
        target = line.target_asset
        target.status = AssetStatus.CEASED
        target.cease_date = connection_date - timedelta(days=1)
        target.save(update_fields=["status", "cease_date", "updated_at"])
    if customer.status == CustomerStatus.PENDING:
        customer.status = CustomerStatus.LIVE
        customer.save(update_fields=["status", "updated_at"])
    return asset
