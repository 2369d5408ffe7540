"""The Billing Export's reads (seed 002): the lines billable now on a billing route, the
lines the product file leaves out and why, why *Transfer to Billing* would refuse lines,
and the queries of the CLI and product files with their columns. The page, the API, the
``billing_export`` command and the files (``billing.export`` streams them) all read here.

The files' columns are declared once (``CLI_COLUMNS``, ``PRODUCT_COLUMNS``; documented in
docs/billing-export.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Concat, NullIf, RowNumber

from .bill_status import (
    bill_span_open_q,
    bill_start_date_expression,
    billing_end_date_expression,
    line_billable_now_q,
    line_ready_on_q,
)
from .choices import AssetStatus, BillComponent, BillingFrequency
from .direct_routes import direct_route_line_filter, route_needs_external_sku
from .models import BillingPlatform, SalesOrderLine
from .platform_rules import cli_identifier_fields

# --- which lines -------------------------------------------------------------------------


def billing_export_lines(
    *, route: BillingPlatform, search: str = "", line_ids: Sequence[int] | None = None
) -> QuerySet[SalesOrderLine]:
    """Lines with a component billable now on ``route`` (Ready to Bill, and within its
    asset's span: ``billing.bill_status.line_billable_now_q``), newest first, with what
    the page shows (customer, site, item, asset) loaded, and ``missing_sku`` annotated
    (True only where the route needs the External SKU)."""
    needs_sku = route_needs_external_sku(route)
    lines = (
        SalesOrderLine.objects.filter(
            line_billable_now_q(route, BillComponent.UPFRONT)
            | line_billable_now_q(route, BillComponent.RECURRING)
        )
        .select_related("order__customer", "site", "inventory_item__base_category", "asset")
        .annotate(
            missing_sku=Case(
                When(inventory_item__external_sku="", then=Value(needs_sku)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .order_by("-id")
    )
    line_filter = direct_route_line_filter(route.code)
    if line_filter is not None:
        lines = line_filter(lines)
    if line_ids is not None:
        lines = lines.filter(pk__in=list(line_ids))
    text = search.strip()
    if text:
        lines = lines.filter(
            Q(order__customer__name__icontains=text)
            | Q(inventory_item__name__icontains=text)
            | Q(asset__identifier__icontains=text)
            | Q(cli__icontains=text)
            | Q(order__reference__iexact=text)
        )
    return lines


@dataclass(frozen=True)
class Exclusion:
    """A line left out of the product file, and why."""

    line_id: int
    reason: str


def _missing_sku(lines: QuerySet[SalesOrderLine], route: BillingPlatform | None) -> QuerySet:
    if not route_needs_external_sku(route):
        return lines.none()
    return lines.filter(inventory_item__external_sku="")


def product_file_exclusions(
    lines: QuerySet[SalesOrderLine], route: BillingPlatform | None = None
) -> list[Exclusion]:
    """The lines the product file leaves out, each with why: Do Not Bill (the platform has
    the CLI, flagged, and nothing to bill), and, where ``route`` needs it
    (``route_needs_external_sku``), a product without an External SKU (the platform could
    not match the product, and the upload would fail)."""
    found: dict[int, Exclusion] = {}
    for pk, name in _missing_sku(lines, route).values_list("pk", "inventory_item__name"):
        found[pk] = Exclusion(
            line_id=pk,
            reason=f"{name} has no External SKU: set up the product on the platform and copy "
            f"its product code into the item's External SKU.",
        )
    for pk, name in lines.filter(asset__do_not_bill=True).values_list("pk", "inventory_item__name"):
        found.setdefault(
            pk,
            Exclusion(
                line_id=pk,
                reason=f"{name} is Do Not Bill: nothing is billed for it (its CLI is in the CLI "
                "file, flagged Do Not Bill).",
            ),
        )
    return [found[pk] for pk in sorted(found, reverse=True)]


def product_file_exclusion_count(
    lines: QuerySet[SalesOrderLine], route: BillingPlatform | None = None
) -> int:
    """How many lines ``product_file_exclusions`` names (counted in the database)."""
    return (
        lines.filter(Q(pk__in=_missing_sku(lines, route).values("pk")) | Q(asset__do_not_bill=True))
        .order_by()
        .count()
    )


def transfer_refusals(*, route: BillingPlatform, line_ids: Sequence[int]) -> list[str]:
    """Why *Transfer to Billing* on ``route`` refuses lines (empty: it would not). The one
    rule the page's confirmation, the API and ``billing_transfer`` all use: a line that
    does not exist, has nothing billable now on the route, or (where the route needs it)
    whose product has no External SKU, since the product file left it out."""
    ids = sorted(set(line_ids))
    known = {
        pk: name
        for pk, name in SalesOrderLine.objects.filter(pk__in=ids).values_list(
            "pk", "inventory_item__name"
        )
    }
    listed = billing_export_lines(route=route, line_ids=ids)
    billable = set(listed.values_list("pk", flat=True))
    no_sku = set(_missing_sku(listed, route).values_list("pk", flat=True))
    problems = []
    for pk in ids:
        if pk not in known:
            problems.append(f"Line {pk} does not exist.")
        elif pk not in billable:
            problems.append(f"Line {pk} ({known[pk]}) has nothing Ready to Bill on {route}.")
        elif pk in no_sku:
            problems.append(
                f"Line {pk} ({known[pk]}) has no External SKU: it is not in the product file."
            )
    return problems


# --- the files' columns ---------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of an export file: its header, what it reads, and its kind (how the value
    becomes text: text is neutralised; money has two decimals; a date is ISO; a flag is
    Yes/No)."""

    header: str
    expression: Any
    kind: str = "text"


def _bill_start_date() -> Coalesce:
    # billing.bill_status.asset_bill_start_date, in SQL.
    return bill_start_date_expression()


def line_cli(line: SalesOrderLine) -> str:
    """``_cli`` for one line in Python (the page and the API show it): the asset's
    identifier, else the captured CLI, for a CLI-based item only."""
    if line.inventory_item.base_category.identifier_field not in cli_identifier_fields():
        return ""
    asset = getattr(line, "asset", None)
    return (asset.identifier if asset is not None else "") or line.cli


def _cli() -> Case:
    """The line's CLI: its asset's identifier, else the CLI captured on the line, and only
    where the item's base category is CLI-based (a Serial is never a CLI)."""
    return Case(
        When(
            inventory_item__base_category__identifier_field__in=cli_identifier_fields(),
            then=Coalesce(
                NullIf(F("asset__identifier"), Value("")), F("cli"), output_field=CharField()
            ),
        ),
        default=Value(""),
        output_field=CharField(),
    )


def _order_reference() -> Coalesce:
    return Coalesce(
        NullIf(F("order__reference"), Value("")),
        Concat(Value("SO"), F("order_id"), output_field=CharField()),
        output_field=CharField(),
    )


CLI_COLUMNS = (
    Column("Customer Reference", F("order__customer_id"), "int"),
    Column("Customer Name", F("order__customer__name")),
    Column("Site Reference", F("site__site_ref")),
    Column("Site Name", F("site__name")),
    Column("CLI", _cli()),
    Column("Start Date", _bill_start_date(), "date"),
    Column("Cost Centre", F("asset__cost_centre")),
    Column("Do Not Bill", F("asset__do_not_bill"), "flag"),
)


def _product_columns(component: str) -> tuple[Column, ...]:
    upfront = component == BillComponent.UPFRONT
    frequency = (
        Value(BillingFrequency.ONE_OFF.label)
        if upfront
        else Case(
            *(
                When(inventory_item__billing_frequency=value, then=Value(label))
                for value, label in BillingFrequency.choices
            ),
            default=Value(""),
            output_field=CharField(),
        )
    )
    return (
        Column("Line Reference", F("id"), "int"),
        Column("Sales Order", _order_reference()),
        Column("Customer Reference", F("order__customer_id"), "int"),
        Column("Customer Name", F("order__customer__name")),
        Column("Site Reference", F("site__site_ref")),
        Column("CLI", _cli()),
        Column("Product Code", F("inventory_item__external_sku")),
        Column("Description", F("inventory_item__name")),
        Column("Charge", Value(BillComponent(component).label)),
        Column("Quantity", F("quantity"), "int"),
        Column("Unit Price", F("sell_price" if upfront else "recurring_sell_price"), "money"),
        Column("Frequency", frequency),
        Column("Start Date", _bill_start_date(), "date"),
        Column("End Date", billing_end_date_expression(), "date"),
    )


PRODUCT_COLUMNS = _product_columns(BillComponent.UPFRONT)  # the headers; values per component


# --- the files' queries --------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One file row that a row of ``ExportFile.rows`` may give: written where its boolean
    column ``when`` is true, its cells the columns of ``rows`` named in ``cells`` (one per
    file column, in order)."""

    when: str
    cells: tuple[str, ...]


@dataclass(frozen=True)
class ExportFile:
    """A file to stream: its rows' queryset (columns c0..cN, in order) and its columns.

    With ``variants``, each row of ``rows`` gives one file row per variant whose ``when``
    is true, in the variants' order (the product file: a line's up-front row, then its
    recurring one), so the rows are read once and need no sort beyond their own order.
    ``in_index_order``: ``rows`` are ordered by an index (the line's id), so the database
    is told to read them in that order rather than sort the whole file
    (``billing.export.INDEX_ORDER_SETTINGS``).
    """

    kind: str
    columns: tuple[Column, ...]
    rows: QuerySet
    variants: tuple[Variant, ...] = ()
    row_names: tuple[str, ...] = ()  # with variants: the names of ``rows``' values, in order
    in_index_order: bool = False


def _annotated(lines: QuerySet, columns: Sequence[Column]) -> QuerySet:
    names = {f"c{i}": column.expression for i, column in enumerate(columns)}
    return lines.annotate(**names).values_list(*names)


def cli_file(lines: QuerySet[SalesOrderLine]) -> ExportFile:
    """One row per CLI per site of the lines, for CLI-based items only. Where lines of a
    site share a CLI (a New & Cease pair, two services on one number) the row is the
    earliest live line's (its Start Date, cost centre and Do Not Bill); with none live,
    the earliest line's (docs/billing-export.md, Decisions)."""
    with_cli = (
        lines.annotate(export_cli=_cli()).exclude(export_cli="").exclude(export_cli__isnull=True)
    )
    ceased = Case(
        When(
            Q(asset__status=AssetStatus.CEASED) | Q(asset__cease_date__isnull=False),
            then=Value(1),
        ),
        default=Value(0),
        output_field=IntegerField(),
    )
    ranked = with_cli.order_by().annotate(
        cli_rank=Window(
            RowNumber(),
            partition_by=[F("order__customer_id"), F("site_id"), F("export_cli")],
            order_by=[ceased.asc(), _bill_start_date().asc(nulls_last=True), F("id").asc()],
        )
    )
    rows = (
        _annotated(ranked.filter(cli_rank=1), CLI_COLUMNS).order_by(
            "c0", "c2", "c4"
        )  # customer, site, CLI
    )
    return ExportFile("cli", CLI_COLUMNS, rows)


def product_file(lines: QuerySet[SalesOrderLine], route: BillingPlatform) -> ExportFile:
    """One row per component billable now on ``route`` of the lines, except those
    ``product_file_exclusions`` names (Do Not Bill; no External SKU where the route needs
    it), each with its End Date (``billing.bill_status.asset_billing_end_date``); by line,
    the up-front row before the recurring one.

    One pass: each line is read once, in id order, with both components' values and
    whether each is billable now; ``Variant``s turn it into its one or two rows (a UNION of
    the two components needed a sort of every row, which spilled to disk at a million
    lines).
    """
    usable = lines.exclude(asset__do_not_bill=True).order_by()
    if route_needs_external_sku(route):
        usable = usable.exclude(inventory_item__external_sku="")
    components = (BillComponent.UPFRONT, BillComponent.RECURRING)
    names: dict[str, Any] = {}
    variants = []
    for n, component in enumerate(components):
        when = f"w{n}"
        # Billable now = Ready to Bill on the route (per component) and the asset's span
        # open (per line, filtered below once for both).
        names[when] = ExpressionWrapper(
            line_ready_on_q(route, component), output_field=BooleanField()
        )
        cells = []
        for i, column in enumerate(_product_columns(component)):
            shared = f"c{i}"
            if shared not in names or names[shared] == column.expression:
                names.setdefault(shared, column.expression)
                cells.append(shared)
            else:  # this component's own value (Charge, Unit Price, Frequency)
                names[f"c{i}_{n}"] = column.expression
                cells.append(f"c{i}_{n}")
        variants.append(Variant(when, tuple(cells)))
    rows = (
        usable.filter(
            bill_span_open_q(),
            line_ready_on_q(route, BillComponent.UPFRONT)
            | line_ready_on_q(route, BillComponent.RECURRING),
        )
        .annotate(**names)
        .values_list(*names)
        .order_by("c0")  # the line's id
    )
    return ExportFile(
        "products",
        PRODUCT_COLUMNS,
        rows,
        tuple(variants),
        row_names=tuple(names),
        in_index_order=True,
    )
