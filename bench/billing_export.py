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

BATCH = 5000


def lines_ensure(count: int) -> None:
    """At least ``count`` lines Ready to Bill on Affinity (bulk-made: benchmark data)."""
    from datetime import date
    from decimal import Decimal

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
        customers = list(Customer.objects.filter(name__startswith="Bench customer "))
        Site.objects.bulk_create(
            Site(customer=c, name=f"{c.name} HQ", site_ref=f"B{c.pk:06d}", is_default=True)
            for c in customers
        )
    sites = {s.customer_id: s for s in Site.objects.filter(customer__in=customers)}
    made = have
    while made < count:
        batch = min(BATCH, count - made)
        orders = SalesOrder.objects.bulk_create(
            SalesOrder(customer=customers[(made + n) % len(customers)], reference=f"B{made + n}")
            for n in range(batch)
        )
        lines = SalesOrderLine.objects.bulk_create(
            SalesOrderLine(
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
            for order in orders
        )
        Asset.objects.bulk_create(
            Asset(
                customer_id=line.order.customer_id,
                site=line.site,
                inventory_item=item,
                sales_order_line=line,
                identifier=f"077{made + n:08d}",
                connection_date=date(2026, 1, 5),
                upfront_route=affinity,
                recurring_route=affinity,
            )
            for n, line in enumerate(lines)
        )
        made += batch
        print(f"  made {made:,} lines", file=sys.stderr)


def _lines(count: int):
    """The first ``count`` lines, selected by an id bound (not a list of ids: the page's
    and the API's own selections are a route and a search)."""
    from billing import export
    from billing.choices import PlatformCode
    from billing.models import BillingPlatform

    affinity = BillingPlatform.objects.get(code=PlatformCode.AFFINITY)
    lines = export.billing_export_lines(route=affinity)
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
    from billing import export

    route, lines = _lines(count)
    file = export.product_file(lines, route)
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
    from billing import export

    route, lines = _lines(count)
    file = export.product_file(lines, route)
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
