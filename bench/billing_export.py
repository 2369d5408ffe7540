"""Billing Export benchmark: the product file of N lines, streamed, against PostgreSQL's own
``COPY (the same rows) TO STDOUT WITH CSV`` in the same run; and peak memory as lines grow.

    .venv/bin/python bench/billing_export.py [--lines 100000] [--repeat 5]

It builds N lines Ready to Bill on Affinity in the benchmark database (once; later runs
reuse them), then times, best of --repeat each, side by side:

- ``copy``: PostgreSQL's COPY of the export's rows (its SELECT with no conversions): the
  floor a CSV of these rows can cost;
- ``export``: ``billing.export`` as the page, API and command stream it;
- ``python``: the Python writer (what SQLite uses), for comparison.

Peak memory is Python's own allocations (tracemalloc) while streaming the file, at 10,000
lines and at N: flat means streaming works.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.setup import django_setup


def lines_ensure(count: int) -> None:
    """At least ``count`` lines Ready to Bill on Affinity (benchmark data).

    The first line, its order and its asset are made through the ORM (so every column gets
    its model default); the rest are copies of them made by PostgreSQL itself
    (``INSERT ... SELECT ... FROM generate_series``), a few seconds per million lines
    where ``bulk_create`` took minutes. Then the tables are ANALYZEd: the planner chooses
    the export's plan from statistics, as on a live database (autovacuum keeps them there).
    """
    from datetime import date
    from decimal import Decimal

    from django.db import connection

    from billing.choices import BillStatus, PlatformCode
    from billing.models import (
        Asset,
        BaseCategory,
        BillingPlatform,
        InventoryItem,
        SalesOrder,
        SalesOrderLine,
    )
    from customers.models import Customer, Site

    affinity = BillingPlatform.objects.get(code=PlatformCode.AFFINITY)
    have = SalesOrderLine.objects.filter(upfront_route=affinity).count()
    if have >= count:
        _analyze()
        return
    item, _ = InventoryItem.objects.get_or_create(
        name="Bench Mobile",
        defaults={
            "item_type": "service",
            "base_category": BaseCategory.objects.get(name="Mobile"),
            "upfront_route": affinity,
            "recurring_route": affinity,
            "external_sku": "AFF-BENCH",
            "sell_price": Decimal("10.00"),
            "recurring_sell_price": Decimal("12.50"),
        },
    )
    customers = list(Customer.objects.filter(name__startswith="Bench customer "))
    if not customers:
        Customer.objects.bulk_create(
            Customer(name=f"Bench customer {n}", stage="customer") for n in range(1000)
        )
        customers = list(Customer.objects.filter(name__startswith="Bench customer ").order_by("pk"))
        Site.objects.bulk_create(
            Site(customer=c, name=f"{c.name} HQ", site_ref=f"B{c.pk:06d}", is_default=True)
            for c in customers
        )
    customers.sort(key=lambda c: c.pk)
    sites = {s.customer_id: s for s in Site.objects.filter(customer__in=customers)}
    if have == 0:
        order = SalesOrder.objects.create(customer=customers[0], reference="B0")
        line = SalesOrderLine.objects.create(
            order=order,
            inventory_item=item,
            site=sites[order.customer_id],
            sell_price=item.sell_price,
            recurring_sell_price=item.recurring_sell_price,
            upfront_route=affinity,
            recurring_route=affinity,
            upfront_bill_status=BillStatus.READY_TO_BILL,
            recurring_bill_status=BillStatus.READY_TO_BILL,
        )
        Asset.objects.create(
            customer_id=order.customer_id,
            site=line.site,
            inventory_item=item,
            sales_order_line=line,
            identifier=f"077{0:08d}",
            connection_date=date(2026, 1, 5),
            upfront_route=affinity,
            recurring_route=affinity,
        )
        have = 1
    template = SalesOrderLine.objects.filter(upfront_route=affinity).order_by("pk").first()
    template_asset = Asset.objects.get(sales_order_line_id=template.pk).pk
    customer_ids = [c.pk for c in customers]
    site_ids = [sites[pk].pk for pk in customer_ids]
    arrays = {"customers": customer_ids, "sites": site_ids, "size": len(site_ids)}
    by_n = {
        "customer_id": "(%(customers)s::bigint[])[1 + s.n %% %(size)s]",
        "site_id": "(%(sites)s::bigint[])[1 + s.n %% %(size)s]",
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM billing_salesorder")
        orders_after = cursor.fetchone()[0]
        cursor.execute("SELECT max(id) FROM billing_salesorderline")
        lines_after = cursor.fetchone()[0]
        _copies(
            cursor,
            SalesOrder,
            template.order_id,
            {"customer_id": by_n["customer_id"], "reference": "'B' || s.n"},
            "generate_series(%(first)s, %(last)s) AS s(n)",
            {**arrays, "first": have, "last": count - 1},
        )
        print(f"  made {count:,} orders", file=sys.stderr)
        _copies(
            cursor,
            SalesOrderLine,
            template.pk,
            {"order_id": "s.order_id", "site_id": by_n["site_id"]},
            "(SELECT o.id AS order_id, substr(o.reference, 2)::bigint AS n"
            " FROM billing_salesorder o WHERE o.id > %(after)s) s",
            {**arrays, "after": orders_after},
        )
        print(f"  made {count:,} lines", file=sys.stderr)
        _copies(
            cursor,
            Asset,
            template_asset,
            {
                "sales_order_line_id": "s.line_id",
                **by_n,
                "identifier": "'077' || lpad(s.n::text, 8, '0')",
            },
            "(SELECT l.id AS line_id, substr(o.reference, 2)::bigint AS n"
            " FROM billing_salesorderline l JOIN billing_salesorder o ON o.id = l.order_id"
            " WHERE l.id > %(after)s) s",
            {**arrays, "after": lines_after},
        )
        print(f"  made {count:,} assets", file=sys.stderr)
    _analyze()


def _copies(cursor, model, template_pk: int, overrides: dict, source: str, params) -> None:
    """Copies of one row of ``model``, one per row of ``source`` (SQL naming its rows
    ``s``, ordered by ``s.n``), with ``overrides`` (column -> SQL) in place of the
    template's values."""
    table = model._meta.db_table
    columns = [f.column for f in model._meta.concrete_fields if not f.primary_key]
    values = ", ".join(overrides.get(column, f't."{column}"') for column in columns)
    names = ", ".join(f'"{column}"' for column in columns)
    # Benchmark data only: table and column names from the models' own metadata.
    cursor.execute(
        f'INSERT INTO "{table}" ({names}) SELECT {values} FROM "{table}" t, '  # noqa: S608
        f"{source} WHERE t.id = %(template)s ORDER BY s.n",
        {**params, "template": template_pk},
    )


def _analyze() -> None:
    """Statistics for the planner on every table the export reads."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _lines(count: int):
    """The first ``count`` lines, selected by an id bound (not a list of ids: the page's
    and the API's own selections are a route and a search)."""
    from billing import selectors
    from billing.choices import PlatformCode
    from billing.models import BillingPlatform

    affinity = BillingPlatform.objects.get(code=PlatformCode.AFFINITY)
    lines = selectors.billing_export_lines(route=affinity)
    last = lines.order_by("id").values_list("pk", flat=True)[count - 1]
    return affinity, lines.filter(pk__lte=last)


def _consume(chunks) -> int:
    return sum(len(chunk) for chunk in chunks)


def _best(fn, repeat: int) -> tuple[float, int]:
    best, size = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        size = fn()
        best = min(best, time.perf_counter() - start)
    return best, size


def _raw_copy(file) -> int:
    """COPY of the export's own rows, no conversions: PostgreSQL's floor for this file."""
    from django.db import connection, transaction

    inner, params = file.rows.query.sql_with_params()
    statement = f"COPY ({inner}) TO STDOUT WITH (FORMAT csv, HEADER true)"
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(statement, params or None) as copy,
    ):
        return sum(len(chunk) for chunk in copy)


def measure(count: int, repeat: int) -> dict:
    from billing import export, selectors

    route, lines = _lines(count)
    file = selectors.product_file(lines, route)
    copy_s, copy_bytes = _best(lambda: _raw_copy(file), repeat)
    export_s, export_bytes = _best(lambda: _consume(export.export_stream(file)), repeat)
    python_s, _ = _best(lambda: _consume(export._python_stream(file)), max(1, repeat // 2))
    return {
        "lines": lines.count(),
        "rows": file.rows.count(),
        "copy_seconds": round(copy_s, 4),
        "export_seconds": round(export_s, 4),
        "python_seconds": round(python_s, 4),
        "export_vs_copy": round(export_s / copy_s, 3),
        "python_vs_copy": round(python_s / copy_s, 3),
        "copy_bytes": copy_bytes,
        "export_bytes": export_bytes,
    }


def peak_memory(count: int) -> dict:
    from billing import export, selectors

    route, lines = _lines(count)
    file = selectors.product_file(lines, route)
    result = {"lines": count}
    for name, stream in (("export", export.export_stream), ("python", export._python_stream)):
        tracemalloc.start()
        _consume(stream(file))
        result[f"{name}_peak_kib"] = round(tracemalloc.get_traced_memory()[1] / 1024, 1)
        tracemalloc.stop()
    return result


def run(lines: int = 100_000, repeat: int = 5) -> dict:
    """Build the data if need be, then measure; the dict ``bench/run.py`` tabulates."""
    django_setup()
    lines_ensure(lines)
    timing = measure(lines, repeat)
    memory = [peak_memory(10_000), peak_memory(lines)]
    return {"timing": timing, "memory": memory}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    result = run(options.lines, options.repeat)
    if options.json:
        print(json.dumps(result, indent=2))
        return
    t = result["timing"]
    print(f"Billing Export, product file of {t['lines']:,} lines ({t['rows']:,} rows):")
    print(f"  PostgreSQL COPY of the same rows  {t['copy_seconds']:.3f} s")
    print(
        f"  billing.export (streamed)         {t['export_seconds']:.3f} s"
        f"  = {t['export_vs_copy']:.2f}x COPY (target <= 1.5x)"
    )
    print(
        f"  Python writer (SQLite's path)     {t['python_seconds']:.3f} s"
        f"  = {t['python_vs_copy']:.2f}x COPY"
    )
    for m in result["memory"]:
        print(
            f"  peak Python memory at {m['lines']:>7,} lines: export {m['export_peak_kib']:>8} KiB,"
            f" python writer {m['python_peak_kib']:>8} KiB"
        )


if __name__ == "__main__":
    main()
