"""The Billing Export app (seed 002): the lines Ready to Bill on a billing route, the CLI and
product files staff upload to the platform, and *Transfer to Billing*.

The files' columns are declared once (``CLI_COLUMNS``, ``PRODUCT_COLUMNS``; documented
in docs/billing-export.md). They are streamed: rows are read from the database in
chunks and written as they come, so memory stays flat however many lines there are.
On PostgreSQL the database itself writes the CSV (``COPY (the same query) TO STDOUT``)
with every conversion done in SQL; elsewhere Python's csv module writes it from the
same query. Both give the same bytes (a test compares them).

Text cells that begin with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return are
neutralised with a leading apostrophe, so a spreadsheet never runs them as formulas
(numbers and dates are ours, never text a user typed, and are left as they are).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Concat, NullIf, RowNumber
from django.utils import timezone

from layer_sync.registry import registry

from .bill_status import (
    STATUS_FIELDS,
    bill_start_date_expression,
    billing_end_date_expression,
    line_billable_now_q,
)
from .choices import AssetStatus, BillComponent, BillingFrequency, BillStatus
from .models import BillingPlatform, BillingTransfer, BillingTransferItem, SalesOrderLine
from .platform_rules import cli_identifier_fields
from .signals import lines_transferred

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 2000
# The largest id a line can have (a 64-bit signed primary key): larger ones are not ids.
MAX_LINE_ID = 2**63 - 1

# --- routes whose platform takes lines through its API ------------------------------------


@dataclass(frozen=True)
class DirectRoute:
    """A billing route whose platform takes the lines through its API (a connector sends
    them), instead of the files staff upload.

    A connector registers one (``register_direct_route``); billing never imports the
    connectors. While ``is_active()``, *Transfer to Billing* records the transfer and tells
    the connector (``billing.signals.lines_transferred``) but leaves the components Ready
    to Bill: the connector moves each to In Billing once the platform accepted it
    (``line_components_accept``). ``line_filter`` narrows the lines the export shows.
    """

    is_active: Callable[[], bool]
    line_filter: Callable[[QuerySet], QuerySet] | None = None
    needs_external_sku: bool = False


def register_direct_route(code: str, route: DirectRoute) -> None:
    """Make ``route`` the direct route of billing route ``code`` (``registry["direct_routes"]``),
    from the platform's ``AppConfig.ready``."""
    registry["direct_routes"][code] = route


def direct_route(route: BillingPlatform) -> DirectRoute | None:
    """The route's registration while its platform takes lines through its API now."""
    found = registry["direct_routes"].get(route.code)
    return found if found is not None and found.is_active() else None


def route_needs_external_sku(route: BillingPlatform | None) -> bool:
    """Whether lines on ``route`` need their product's External SKU: a route whose
    platform takes files does (seed 002: "otherwise the upload into Affinity will fail");
    a route that takes the lines through its API does not, unless it says so."""
    if route is None:
        return True
    direct = direct_route(route)
    return direct is None or direct.needs_external_sku


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


# --- which lines -------------------------------------------------------------------------


def _ready_on(route: BillingPlatform, component: str) -> Q:
    # The one rule of "billable now" (billing.bill_status.line_billable_now_q).
    return line_billable_now_q(route, component)


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
            _ready_on(route, BillComponent.UPFRONT) | _ready_on(route, BillComponent.RECURRING)
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
    registered = registry["direct_routes"].get(route.code)
    if registered is not None and registered.line_filter is not None:
        lines = registered.line_filter(lines)
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


def line_ids_parse(text: str | Iterable[Any] | None) -> list[int] | None:
    """Line ids from "1,2,3" or a list (None: all lines); a clear error for anything else."""
    if text is None or text == "":
        return None
    parts = text.split(",") if isinstance(text, str) else list(text)
    ids = []
    for part in parts:
        value = str(part).strip()
        # ASCII digits only ("²".isdigit() is true, int() refuses it), within a database id.
        if not (value.isascii() and value.isdigit()) or int(value) > MAX_LINE_ID:
            raise ValidationError({"lines": f'"{value[:20]}" is not a line id.'})
        ids.append(int(value))
    if len(ids) > 100_000:
        raise ValidationError({"lines": "At most 100,000 lines at a time."})
    return ids


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


def _as_text(value: Any, kind: str) -> str:
    """A value as the file shows it (the Python writer's half of the SQL conversions)."""
    if value is None or value == "":
        return ""
    if kind == "flag":
        return "Yes" if value else "No"
    if kind == "money":
        return f"{Decimal(value):.2f}"
    if kind == "date":
        return value.isoformat() if isinstance(value, date) else str(value)[:10]
    text = str(value)
    if kind == "text" and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _sql_as_text(name: str, kind: str) -> str:
    """The SQL (PostgreSQL) that turns column ``name`` into the file's text; NULL for an
    empty cell, which COPY writes unquoted, as Python's csv writer does."""
    column = f'"{name}"'
    if kind == "flag":
        return f"CASE WHEN {column} THEN 'Yes' WHEN NOT {column} THEN 'No' END"
    if kind == "money":
        return f"to_char({column}, 'FM999999999990.00')"
    if kind == "date":
        return f"to_char({column}, 'YYYY-MM-DD')"
    if kind == "int":
        return f"{column}::text"
    starts = ", ".join(f"chr({ord(c)})" for c in FORMULA_STARTS)
    return (
        f"CASE WHEN left({column}, 1) IN ({starts}) THEN '''' || {column} "
        f"ELSE NULLIF({column}, '') END"
    )


# --- the files ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFile:
    """A file to stream: its rows' queryset (columns c0..cN, in order) and its columns."""

    kind: str
    columns: tuple[Column, ...]
    rows: QuerySet


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
    it), each with its End Date (``billing.bill_status.asset_billing_end_date``)."""
    usable = lines.exclude(asset__do_not_bill=True).order_by()
    if route_needs_external_sku(route):
        usable = usable.exclude(inventory_item__external_sku="")
    parts = [
        _annotated(usable.filter(_ready_on(route, component)), _product_columns(component))
        for component in (BillComponent.UPFRONT, BillComponent.RECURRING)
    ]
    # Line, then the up-front row before the recurring one ("Charge" sorts that way).
    rows = parts[0].union(parts[1], all=True).order_by("c0", "-c8")
    return ExportFile("products", PRODUCT_COLUMNS, rows)


def export_stream(export: ExportFile) -> Iterator[bytes]:
    """The file's bytes, in chunks, header first: by COPY on PostgreSQL, else by Python."""
    if connection.vendor == "postgresql":
        yield from _copy_stream(export)
    else:
        yield from _python_stream(export)


def _csv_cell(text: str) -> str:
    """A cell as PostgreSQL's COPY CSV writes it: quoted when it holds a comma, a quote, a
    carriage return or a newline (Python's csv module leaves a lone CR unquoted when lines
    end in LF, which breaks readers)."""
    if "," in text or '"' in text or "\r" in text or "\n" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def _python_stream(export: ExportFile) -> Iterator[bytes]:
    kinds = [column.kind for column in export.columns]
    buffer = [",".join(_csv_cell(column.header) for column in export.columns) + "\n"]
    for count, row in enumerate(export.rows.iterator(chunk_size=CHUNK_ROWS), start=1):
        cells = (_csv_cell(_as_text(value, kind)) for value, kind in zip(row, kinds, strict=True))
        buffer.append(",".join(cells) + "\n")
        if count % CHUNK_ROWS == 0:
            yield "".join(buffer).encode()
            buffer.clear()
    yield "".join(buffer).encode()


def _copy_sql(export: ExportFile) -> tuple[str, tuple]:
    inner, params = export.rows.query.sql_with_params()
    outer = ", ".join(
        f'{_sql_as_text(f"c{i}", column.kind)} AS "{column.header}"'
        for i, column in enumerate(export.columns)
    )
    order = "ORDER BY " + ", ".join(_outer_order(export))
    # Only our own column names and Django's compiled query (its values are parameters).
    return (
        f"COPY (SELECT {outer} FROM ({inner}) AS export_rows {order}) "  # noqa: S608
        "TO STDOUT WITH (FORMAT csv, HEADER true)",
        params,
    )


def _outer_order(export: ExportFile) -> list[str]:
    terms = []
    for term in export.rows.query.order_by:
        descending = term.startswith("-")
        terms.append(f'"{term.lstrip("-")}"' + (" DESC" if descending else ""))
    return terms


def _copy_stream(export: ExportFile) -> Iterator[bytes]:
    sql, params = _copy_sql(export)
    # A transaction of its own (or the caller's): COPY reads one snapshot.
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        with raw.copy(sql, params or None) as copy:
            for chunk in copy:
                yield bytes(chunk)


def export_text(export: ExportFile) -> str:
    """The whole file as text (for tests and small files)."""
    return b"".join(export_stream(export)).decode()


# --- Transfer to Billing ----------------------------------------------------------------------


@transaction.atomic
def billing_transfer(
    *, route: BillingPlatform, line_ids: Sequence[int], user: Any = None
) -> BillingTransfer:
    """Move the Ready to Bill components on ``route`` of the lines given to In Billing, all or
    none, recording who did it and when.

    Refused, changing nothing, when a line is unknown, has nothing Ready to Bill on the
    route, or its product has no External SKU (it was left out of the product file, so the
    platform does not have it). On a direct route (``DirectRoute``) the components stay
    Ready to Bill until the platform accepts them, and ``transfer.deferred`` is True.
    """
    ids = sorted(set(line_ids))
    if not ids:
        raise ValidationError({"lines": "Select the lines to transfer."})
    direct = direct_route(route)
    lines = {
        line.pk: line
        for line in SalesOrderLine.objects.select_for_update(of=("self",))
        .select_related("inventory_item")
        .filter(pk__in=ids)
    }
    problems = transfer_refusals(route=route, line_ids=ids)
    if problems:
        raise ValidationError({"lines": problems})
    moves: list[tuple[SalesOrderLine, str]] = []
    for component in (BillComponent.UPFRONT, BillComponent.RECURRING):
        billable = SalesOrderLine.objects.filter(
            _ready_on(route, component), pk__in=ids
        ).values_list("pk", flat=True)
        moves.extend((lines[pk], component) for pk in billable)
    transfer = BillingTransfer.objects.create(
        route=route,
        transferred_by=user if getattr(user, "is_authenticated", False) else None,
        transferred_at=timezone.now(),
    )
    BillingTransferItem.objects.bulk_create(
        BillingTransferItem(transfer=transfer, line=line, component=component)
        for line, component in moves
    )
    if direct is None:
        for component, field in STATUS_FIELDS.items():
            moved = [line.pk for line, which in moves if which == component]
            SalesOrderLine.objects.filter(pk__in=moved).update(**{field: BillStatus.IN_BILLING})
    transfer.deferred = direct is not None  # In Billing once the platform accepts them
    lines_transferred.send(
        sender=BillingTransfer, transfer=transfer, route=route, line_ids=sorted(lines)
    )
    return transfer
