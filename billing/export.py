"""The Billing Export's files and *Transfer to Billing* (seed 002). What the files hold
(the lines, the rows' queries, the columns) is read in ``billing.selectors``; here the
rows become CSV bytes, and lines move to In Billing (through ``billing.bill_status``).

The files are streamed: rows are read from the database in chunks and written as they
come, so memory stays flat however many lines there are. On PostgreSQL the database
itself writes the CSV (``COPY (the same query) TO STDOUT``) with every conversion done
in SQL; elsewhere Python's csv module writes it from the same query. Both give the same
bytes (a test compares them).

Text cells that begin with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return are
neutralised with a leading apostrophe, so a spreadsheet never runs them as formulas
(numbers and dates are ours, never text a user typed, and are left as they are).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from .bill_status import line_billable_now_q, line_components_transfer
from .choices import BillComponent
from .direct_routes import direct_route
from .models import BillingPlatform, BillingTransfer, BillingTransferItem, SalesOrderLine
from .selectors import ExportFile, transfer_refusals
from .signals import lines_transferred

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 2000
# What the streams hand the WSGI server at once: tens of kilobytes, not one row.
CHUNK_BYTES = 64 * 1024
# The largest id a line can have (a 64-bit signed primary key): larger ones are not ids.
MAX_LINE_ID = 2**63 - 1


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


# --- the files ------------------------------------------------------------------------------


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
    # ascii() reads the first character's code in place (left() copied a string per cell);
    # '' gives 0 and NULL gives NULL, neither of them a formula's start.
    starts = ", ".join(str(ord(c)) for c in FORMULA_STARTS)
    return (
        f"CASE WHEN ascii({column}) IN ({starts}) THEN '''' || {column} "
        f"ELSE NULLIF({column}, '') END"
    )


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


def _file_rows(export: ExportFile) -> Iterator[Sequence[Any]]:
    """The file's rows (values in the columns' order) from ``export.rows``, read in chunks;
    with variants, each row's one per variant whose ``when`` is true."""
    rows = export.rows.iterator(chunk_size=CHUNK_ROWS)
    if not export.variants:
        yield from rows
        return
    at = {name: index for index, name in enumerate(export.row_names)}
    picks = [(at[v.when], [at[name] for name in v.cells]) for v in export.variants]
    for row in rows:
        for when, cells in picks:
            if row[when]:
                yield [row[index] for index in cells]


def _python_stream(export: ExportFile) -> Iterator[bytes]:
    kinds = [column.kind for column in export.columns]
    buffer = [",".join(_csv_cell(column.header) for column in export.columns) + "\n"]
    for count, row in enumerate(_file_rows(export), start=1):
        cells = (_csv_cell(_as_text(value, kind)) for value, kind in zip(row, kinds, strict=True))
        buffer.append(",".join(cells) + "\n")
        if count % CHUNK_ROWS == 0:
            yield "".join(buffer).encode()
            buffer.clear()
    yield "".join(buffer).encode()


def _copy_sql(export: ExportFile) -> tuple[str, tuple]:
    order = ", ".join(_outer_order(export))
    if not export.variants:
        inner, params = export.rows.query.sql_with_params()
        cells = [f"c{i}" for i in range(len(export.columns))]
        source = f"({inner}) AS export_rows"
    else:
        # Each row of the inner query gives one file row per variant whose flag is true,
        # in the variants' order: the inner order plus the variant's number. The inner
        # query is left unordered so that PostgreSQL plans it with the outer one (in
        # parallel, and read in the order of the index), not as a subquery of its own.
        inner, params = export.rows.order_by().query.sql_with_params()
        cells, own = [], []
        for i, names in enumerate(zip(*(v.cells for v in export.variants), strict=True)):
            if len(set(names)) == 1:
                cells.append(names[0])  # the same in every variant: read as it is
            else:
                cells.append(f"k{i}")
                own.append(i)
        values = ", ".join(
            "(" + ", ".join([str(n), f'x."{v.when}"', *(f'x."{v.cells[i]}"' for i in own)]) + ")"
            for n, v in enumerate(export.variants)
        )
        names = ", ".join(["variant", "written", *(f"k{i}" for i in own)])
        source = (
            f"({inner}) AS x CROSS JOIN LATERAL (VALUES {values}) AS v({names}) WHERE v.written"
        )
        order += ", v.variant"
    outer = ", ".join(
        f'{_sql_as_text(cell, column.kind)} AS "{column.header}"'
        for cell, column in zip(cells, export.columns, strict=True)
    )
    # Only our own column names and Django's compiled query (its values are parameters).
    return (
        f"COPY (SELECT {outer} FROM {source} ORDER BY {order}) "  # noqa: S608
        "TO STDOUT WITH (FORMAT csv, HEADER true)",
        params,
    )


def _outer_order(export: ExportFile) -> list[str]:
    terms = []
    for term in export.rows.query.order_by:
        descending = term.startswith("-")
        terms.append(f'"{term.lstrip("-")}"' + (" DESC" if descending else ""))
    return terms


# How PostgreSQL runs a file whose rows are read in the order of an index
# (``ExportFile.in_index_order``, the product file): without a sort of the whole file
# (costed cheaper than reading in index order, it spilled hundreds of megabytes to disk
# at a million lines; a sort is still used where nothing else can give the order), and
# without JIT compilation (seconds spent compiling a query that streams).
INDEX_ORDER_SETTINGS = {"enable_sort": "off", "jit": "off"}


def _copy_stream(export: ExportFile) -> Iterator[bytes]:
    sql, params = _copy_sql(export)
    settings = INDEX_ORDER_SETTINGS if export.in_index_order else {}
    # A transaction of its own (or the caller's): COPY reads one snapshot.
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        before = _settings_apply(raw, settings)
        buffer = bytearray()
        with raw.copy(sql, params or None) as copy:
            # COPY hands over one row at a time: gathered into chunks of CHUNK_BYTES, so a
            # WSGI server writes (and frames) tens of kilobytes at once, not one row.
            for chunk in copy:
                buffer += chunk
                if len(buffer) >= CHUNK_BYTES:
                    yield bytes(buffer)
                    buffer.clear()
        # Restored for the rest of a caller's transaction (a rollback restores them too).
        _settings_apply(raw, before)
        if buffer:
            yield bytes(buffer)


def _settings_apply(raw: Any, settings: dict[str, str]) -> dict[str, str]:
    """Set planner settings for this transaction only; return their values before."""
    before = {}
    for name, value in settings.items():
        row = raw.execute(
            "SELECT current_setting(%s), set_config(%s, %s, true)", (name, name, value)
        ).fetchone()
        before[name] = row[0]
    return before


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
            line_billable_now_q(route, component), pk__in=ids
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
        line_components_transfer(moves=[(line.pk, component) for line, component in moves])
    transfer.deferred = direct is not None  # In Billing once the platform accepts them
    lines_transferred.send(
        sender=BillingTransfer, transfer=transfer, route=route, line_ids=sorted(lines)
    )
    return transfer
