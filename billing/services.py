"""Writes of the billing app: sales orders, their lines, and assets made from them.

As in customers.services, the rules of a record are its read-only
`<record>_validate` function (`sales_order_create_validate` for a new order),
which its save service calls and which an adapter may call first.
"""

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from customers.choices import CustomerStage, CustomerStatus, QuoteStatus
from customers.models import CompanySettings, Customer, Quote, Site

from .bill_status import line_bill_status_refresh, line_invoice_in_layer_validate
from .change_queue import change_queue_record
from .choices import AssetStatus, ChangeSource, Classification, LineAction
from .models import Asset, BillingPlatform, InventoryItem, SalesOrder, SalesOrderLine
from .platform_rules import Stage, item_is_cli_based, platform_line_check, platform_line_errors
from .signals import assets_bulk_updated, sales_order_created

User = AbstractBaseUser


@dataclass(frozen=True)
class LineSpec:
    """What a new sales order line is made of.

    Prices left None take the inventory item's; routes left None take the
    item's billing routes (as `sales_order_line_save` gives every new line).
    """

    inventory_item: InventoryItem
    quantity: int = 1
    sell_price: Decimal | None = None
    recurring_sell_price: Decimal | None = None
    site: Site | None = None
    cli: str = ""
    action: str = LineAction.NEW
    target_asset: Asset | None = None
    classification: str = Classification.NEW
    upfront_route: BillingPlatform | None = None
    recurring_route: BillingPlatform | None = None


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
        action=spec.action,
        target_asset=spec.target_asset,
        classification=spec.classification,
        upfront_route=spec.upfront_route,
        recurring_route=spec.recurring_route,
    )


def sales_order_create_validate(*, customer: Customer, quote: Quote | None = None) -> None:
    """Check that `customer` may be given a sales order (of `quote`), writing nothing.

    A lead must be converted first (a won quote does that). With `quote`,
    the quote must be this customer's, won, and not already ordered; it is
    judged as stored, since the caller's copy may be stale. The customer is
    judged as given (`sales_order_create` passes the row it has locked).
    """
    errors: dict[str, str] = {}
    if quote is not None:
        stored_quote = Quote.objects.get(pk=quote.pk)
        if stored_quote.customer_id != customer.pk:
            errors["quote"] = "The quote belongs to another customer."
        elif stored_quote.status != QuoteStatus.WON:
            errors["quote"] = f"Quote {stored_quote} is not won."
        elif SalesOrder.objects.filter(quote=stored_quote).exists():
            errors["quote"] = f"Quote {stored_quote} already has a sales order."
    if customer.stage == CustomerStage.LEAD:
        errors["customer"] = f'"{customer.name}" is still a lead: win a quote or convert it first.'
    if errors:
        raise ValidationError(errors)


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

    The signal is sent once the lines exist, in the same transaction. The
    rules are `sales_order_create_validate`'s, and each line's are
    `sales_order_line_save`'s.
    """
    # The customer lock serialises order creation for one customer, so two requests
    # ordering the same quote cannot both pass the "already ordered" check.
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    sales_order_create_validate(customer=customer, quote=quote)
    if quote is not None:
        # Receivers get the quote as stored, not the caller's copy.
        quote = Quote.objects.get(pk=quote.pk)
    order = SalesOrder(customer=customer, quote=quote, reference=reference, created_by=user)
    order.full_clean()
    order.save()
    if not order.reference:
        order.reference = f"SO{order.pk:06d}"
        order.save(update_fields=["reference"])
    # Read once for every line, not once per line.
    company = CompanySettings.load() if lines else None
    for spec in lines:
        sales_order_line_save(line=_line_from_spec(order=order, spec=spec), company=company)
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


def _line_rules(
    *,
    line: SalesOrderLine,
    company: CompanySettings,
    stored: SalesOrderLine | None,
    target: Asset | None,
) -> None:
    """The data-capture rules of a line (seed 001).

    `stored` is the line as saved before this edit (None for a new line, and
    when converting: every rule applies then); `target` is its target asset
    as stored. An edit does not re-check a company setting for an action
    chosen earlier, and a converted line keeps its action and target (the
    target may be ceased by then).
    """
    errors: dict[str, str] = {}
    # getattr with a default: a line whose order is not set yet raises AttributeError here.
    order = getattr(line, "order", None)
    customer_id = order.customer_id if order is not None else None
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
    if line.action not in LineAction.values:
        errors["action"] = f"{line.action!r} is not a data-capture action."
        raise ValidationError(errors)
    action_chosen_now = stored is None or line.action != stored.action
    if line.action == LineAction.NEW:
        if target is not None:
            errors["target_asset"] = "A New line creates a new asset: it takes no target asset."
    else:
        label = LineAction(line.action).label
        if action_chosen_now:
            if line.action == LineAction.UPDATE and not company.update_action_enabled:
                errors["action"] = "The Update action is disabled in company settings."
            if line.action == LineAction.NEW_AND_CEASE and not company.new_and_cease_enabled:
                errors["action"] = "New & Cease is not enabled in company settings."
        if target is None:
            errors["target_asset"] = f"{label} needs a target asset."
        elif target.customer_id != customer_id:
            errors["target_asset"] = "The target asset belongs to another customer."
        elif not target.is_live and not converted:
            errors["target_asset"] = f"The target asset {target} is already ceased."
    if stored is not None or line._state.adding:
        # A save, not a conversion (that checks the asset's identifier): the billing
        # platforms' rules (billing.platform_rules); the CLI comes back normalised.
        platform_errors, line.cli = platform_line_errors(
            stage=Stage.SALES_ORDER,
            item=line.inventory_item if line.inventory_item_id else None,
            upfront_route=line.upfront_route,
            recurring_route=line.recurring_route,
            site=line.site,
            cli=line.cli,
            customer=order.customer if order is not None and order.customer_id else None,
        )
        for field, messages in platform_errors.items():
            errors[field] = [errors[field], *messages] if field in errors else messages
    if errors:
        raise ValidationError(errors)


def sales_order_line_validate(
    *, line: SalesOrderLine, company: CompanySettings | None = None
) -> None:
    """Check a line against the rules `sales_order_line_save` keeps, writing nothing.

    Action rules (seed 001): New takes no target; Update and New & Cease
    need a live target asset of the order's customer, and need their
    company setting on when chosen. The site must be the customer's. A line
    already converted to an asset keeps its action and target. The stored
    line, its target asset and the company settings are read from the
    database; a line of an order being added in the same form is judged
    against that order's customer. `company` saves reading the settings again
    when the caller already holds them.
    """
    stored = None if line._state.adding else SalesOrderLine.objects.get(pk=line.pk)
    # Judged as stored, not by the caller's copy (it may have been ceased since).
    target = Asset.objects.get(pk=line.target_asset_id) if line.target_asset_id else None
    _line_rules(line=line, company=company or CompanySettings.load(), stored=stored, target=target)


@transaction.atomic
def sales_order_line_save(
    *, line: SalesOrderLine, company: CompanySettings | None = None
) -> SalesOrderLine:
    """Create or update a line. New lines take their billing routes from the inventory item.

    The rules are `sales_order_line_validate`'s (`company`: the settings, if already read).
    """
    if line._state.adding:
        if line.inventory_item_id is not None:
            item = line.inventory_item
            if line.upfront_route_id is None:
                line.upfront_route = item.upfront_route
            if line.recurring_route_id is None:
                line.recurring_route = item.recurring_route
    else:
        # Locked: two edits of one line (or an edit and its conversion) run one at a time.
        SalesOrderLine.objects.select_for_update().only("pk").get(pk=line.pk)
    if (
        line.action == LineAction.NEW_AND_CEASE
        and line.target_asset_id
        and not line.cli
        and line.inventory_item_id
        and item_is_cli_based(line.inventory_item)
    ):
        # Seed 001: choosing the target "will populate the MSISDN / Number or equivalent
        # field"; staff may type another.
        line.cli = Asset.objects.get(pk=line.target_asset_id).identifier
    # Field validation first: the action rules read the order, item and choices.
    line.full_clean()
    sales_order_line_validate(line=line, company=company)
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
    _line_rules(line=line, company=CompanySettings.load(), stored=None, target=line.target_asset)
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
    if not (identifier or line.cli) and line.action == LineAction.NEW_AND_CEASE:
        # Seed 001: the target asset "will populate the MSISDN / Number or equivalent
        # field": the new asset takes its identifier unless staff typed another.
        identifier = line.target_asset.identifier
    identifier = platform_line_check(
        stage=Stage.DATA_CAPTURE,
        item=line.inventory_item,
        upfront_route=line.upfront_route,
        recurring_route=line.recurring_route,
        site=line.site,
        cli=identifier or line.cli,
        customer=customer,
        cli_field="identifier",
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
    asset_save(asset=asset)
    if line.action == LineAction.NEW_AND_CEASE:
        target = line.target_asset
        target.status = AssetStatus.CEASED
        target.cease_date = connection_date - timedelta(days=1)
        target.save(update_fields=["status", "cease_date", "updated_at"])
        if target.sales_order_line_id:
            # Ceased before its bill start: nothing of it is Ready to Bill any more.
            line_bill_status_refresh(line=_line_locked(target.sales_order_line_id), asset=target)
    if customer.status == CustomerStatus.PENDING:
        customer.status = CustomerStatus.LIVE
        customer.save(update_fields=["status", "updated_at"])
    return asset


@transaction.atomic
def sales_order_line_invoice_in_layer(*, line: SalesOrderLine) -> SalesOrderLine:
    """The Layer invoices the line: refused, changing nothing, unless its up-front route is
    The Layer or blank (``bill_status.line_invoice_in_layer_validate``, seed 002), or when
    it is invoiced already."""
    line = (
        SalesOrderLine.objects.select_for_update(of=("self",))
        .select_related("inventory_item", "upfront_route")
        .get(pk=line.pk)
    )
    line_invoice_in_layer_validate(line=line)
    if line.invoiced_in_layer_at is not None:
        raise ValidationError(
            {"invoiced_in_layer_at": f"Line {line.pk} was invoiced in The Layer already."}
        )
    line.invoiced_in_layer_at = timezone.now()
    line.save(update_fields=["invoiced_in_layer_at"])
    return line


# --- assets ----------------------------------------------------------------------


def asset_validate(*, asset: Asset) -> None:
    """Check an asset against the rules `asset_save` keeps, writing nothing.

    Its site, if any, must be one of its customer's, and the sales order
    line it was made from, if any, must be on an order of that customer.
    """
    errors: dict[str, str] = {}
    if asset.site_id and asset.site.customer_id != asset.customer_id:
        errors["site"] = "The site belongs to another customer."
    if asset.sales_order_line_id and asset.sales_order_line.order.customer_id != asset.customer_id:
        errors["sales_order_line"] = "The sales order line is on another customer's order."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def asset_save(
    *, asset: Asset, source: str = ChangeSource.ASSET_EDIT, user: User | None = None
) -> Asset:
    """Create or update an asset. New assets are made by `sales_order_line_convert_to_asset`.

    The rules are `asset_validate`'s, after the fields' own (an inventory
    item is required). An in-life change of a service in billing goes to the
    Change Queue (``source`` says where it came from), and the line's bill
    status follows the asset (a connection date set makes it Ready to Bill).
    """
    asset.full_clean()
    asset_validate(asset=asset)
    before = (
        Asset.objects.select_related("site", "inventory_item").filter(pk=asset.pk).first()
        if asset.pk
        else None
    )
    asset.save()
    if before is not None:
        change_queue_record(before=before, after=asset, source=source, user=user)
    if asset.sales_order_line_id:
        line_bill_status_refresh(line=_line_locked(asset.sales_order_line_id), asset=asset)
    return asset


def _line_locked(line_id: int) -> SalesOrderLine:
    # of=("self",): the routes are nullable outer joins, which PostgreSQL cannot lock.
    return (
        SalesOrderLine.objects.select_for_update(of=("self",))
        .select_related("inventory_item", "upfront_route", "recurring_route")
        .get(pk=line_id)
    )


@transaction.atomic
def asset_delete(*, asset: Asset) -> None:
    """Delete an asset: undoes a conversion made in error. Its line is converted no longer,
    so a component not yet In Billing returns to Not Billed."""
    line_id = asset.sales_order_line_id
    asset.delete()
    if line_id:
        line_bill_status_refresh(line=_line_locked(line_id), asset=None)


@transaction.atomic
def sales_order_line_apply_update(*, line: SalesOrderLine, user: User | None = None) -> Asset:
    """Data capture's Update: the target asset takes the line's item, quantity, prices, site
    and captured CLI (an upgrade or a renewal). A Change Queue event when it is in billing."""
    line = (
        SalesOrderLine.objects.select_for_update(of=("self",))
        .select_related("order", "inventory_item")
        .get(pk=line.pk)
    )
    if line.action != LineAction.UPDATE:
        raise ValidationError(
            {"action": f"Line {line.pk} is {line.get_action_display()}, not Update."}
        )
    if line.target_asset_id is None:
        raise ValidationError({"target_asset": "An Update line needs its target asset."})
    target = Asset.objects.select_for_update().get(pk=line.target_asset_id)
    _line_rules(line=line, company=CompanySettings.load(), stored=None, target=target)
    target.inventory_item = line.inventory_item
    target.quantity = line.quantity
    target.sell_price = line.sell_price
    target.recurring_sell_price = line.recurring_sell_price
    target.site = line.site or target.site
    target.identifier = line.cli or target.identifier
    return asset_save(asset=target, source=ChangeSource.DATA_CAPTURE_UPGRADE, user=user)


# Fields a bulk update may set: an asset's own values, none of its links to orders.
BULK_UPDATE_FIELDS = frozenset(
    {
        "connection_date",
        "issue_date",
        "billing_start_date_override",
        "fixed_billing",
        "end_date",
        "cease_date",
        "cost_centre",
        "do_not_bill",
        "status",
    }
)


@transaction.atomic
def assets_bulk_update(*, asset_ids: Sequence[int], values: dict, user: User | None = None) -> int:
    """Set the same values on many assets in one UPDATE; return how many changed.

    Every asset is checked first (nothing changes if one is refused). ``QuerySet.update``
    sends no signal, so this service does what the saves would: each in-life change goes
    to the Change Queue, each line's bill status follows, and ``assets_bulk_updated``
    tells the sync engine which assets to resend.
    """
    unknown = sorted(set(values) - BULK_UPDATE_FIELDS)
    if unknown:
        raise ValidationError(
            {
                "values": f"Not fields a bulk update may set: {', '.join(unknown)}. Allowed: "
                f"{', '.join(sorted(BULK_UPDATE_FIELDS))}."
            }
        )
    befores = list(
        Asset.objects.select_for_update(of=("self",))
        .select_related("site", "inventory_item", "upfront_route", "recurring_route")
        .filter(pk__in=asset_ids)
        .order_by("pk")
    )
    missing = sorted(set(asset_ids) - {asset.pk for asset in befores})
    if missing:
        raise ValidationError({"assets": f"No such assets: {', '.join(map(str, missing))}."})
    afters = []
    for before in befores:
        after = copy.copy(before)
        for name, value in values.items():
            setattr(after, name, value)
        try:
            after.full_clean()
        except ValidationError as error:
            raise ValidationError(
                {"assets": f"Asset {before}: {' '.join(error.messages)}"}
            ) from None
        afters.append(after)
    now = timezone.now()
    Asset.objects.filter(pk__in=[a.pk for a in befores]).update(**values, updated_at=now)
    for before, after in zip(befores, afters, strict=True):
        change_queue_record(before=before, after=after, source=ChangeSource.BULK_UPDATE, user=user)
        if after.sales_order_line_id:
            line_bill_status_refresh(line=_line_locked(after.sales_order_line_id), asset=after)
    ids = [asset.pk for asset in befores]
    assets_bulk_updated.send(sender=Asset, asset_ids=ids, user=user)
    return len(ids)
