"""Billing Export benchmark: the product file at 1,000,000 lines against PostgreSQL's COPY of
the simplest query that gives the same bytes, with peak memory of a fresh process and an
HTTP download of the whole route (2,000,000 lines) through gunicorn.

    .venv/bin/python bench/billing_export.py [--lines 1000000] [--small 100000]
        [--http-lines 2000000] [--repeat 3] [--json]

It builds the lines Ready to Bill on Affinity in the benchmark database (once; later runs
reuse them; ``ANALYZE``d after loading, as autovacuum keeps a live database), then
measures, side by side in one run:

- ``copy``: PostgreSQL's ``COPY (q) TO STDOUT WITH CSV`` of the simplest hand-written query
  ``q`` that yields the file's exact bytes on these lines (one join, a two-row LATERAL
  for the components, ORDER BY line: no formula defence, no "billable now" rule, which
  these lines do not need); its best over the server's default settings, ``jit = off``
  and the export's own settings. The bench checks the bytes are the export's.
- ``export``: ``billing.export`` as the page, API and command stream it (best of
  --repeat);
- the export's plan, by ``EXPLAIN (ANALYZE, BUFFERS)``: any sort that spilled
  ("external merge", "Disk") and the temporary blocks written;
- peak RSS of a fresh process (``resource.getrusage``: libpq's buffers included, which
  tracemalloc cannot see) streaming the file of --small lines and of --lines lines;
- the file of every line on the route downloaded over HTTP from gunicorn (the project's
  config, a sync worker, on 127.0.0.1) against the same file streamed in process.

The machine may be shared: compare the ratios, measured side by side, not the seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import socket
import subprocess
import sys
import time
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


def _lines(count: int | None):
    """The route and its first ``count`` lines (None: all), selected by an id bound (not a
    list of ids: the page's and the API's own selections are a route and a search)."""
    from billing import selectors
    from billing.choices import PlatformCode
    from billing.models import BillingPlatform

    affinity = BillingPlatform.objects.get(code=PlatformCode.AFFINITY)
    lines = selectors.billing_export_lines(route=affinity)
    if count is None:
        return affinity, lines
    last = lines.order_by("id").values_list("pk", flat=True)[count - 1]
    return affinity, lines.filter(pk__lte=last)


def _consume(chunks) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def _best(fn, repeat: int) -> tuple[float, tuple[int, str]]:
    best, result = float("inf"), (0, "")
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


SIMPLEST = """
SELECT l.id AS "Line Reference", o.reference AS "Sales Order",
       o.customer_id AS "Customer Reference", cu.name AS "Customer Name",
       s.site_ref AS "Site Reference", a.identifier AS "CLI", i.external_sku AS "Product Code",
       i.name AS "Description", c.charge AS "Charge", l.quantity AS "Quantity",
       to_char(c.price, 'FM999999999990.00') AS "Unit Price", c.frequency AS "Frequency",
       to_char(a.connection_date, 'YYYY-MM-DD') AS "Start Date",
       to_char(a.cease_date, 'YYYY-MM-DD') AS "End Date"
FROM billing_salesorderline l
JOIN billing_salesorder o ON o.id = l.order_id
JOIN customers_customer cu ON cu.id = o.customer_id
JOIN customers_site s ON s.id = l.site_id
JOIN billing_asset a ON a.sales_order_line_id = l.id
JOIN billing_inventoryitem i ON i.id = l.inventory_item_id
CROSS JOIN LATERAL (VALUES (1, 'Up-front', l.sell_price, 'One off'),
                           (2, 'Recurring', l.recurring_sell_price, %(frequency)s))
     AS c(n, charge, price, frequency)
WHERE l.id <= %(last)s AND l.upfront_route_id = %(route)s
ORDER BY l.id, c.n
"""

# The baseline's best over these (it is not handicapped by a setting the export avoids).
BASELINE_SETTINGS = {
    "default": {},
    "jit off": {"jit": "off"},
    "export's": None,  # billing.export.INDEX_ORDER_SETTINGS
}


def _simplest_copy(route, last: int, settings: dict) -> tuple[int, str]:
    """COPY of ``SIMPLEST``: the floor a CSV of these bytes costs PostgreSQL."""
    from django.db import connection, transaction

    from billing.choices import BillingFrequency
    from billing.models import InventoryItem

    item = InventoryItem.objects.get(name="Bench Mobile")
    params = {
        "frequency": BillingFrequency(item.billing_frequency).label,
        "last": last,
        "route": route.pk,
    }
    statement = f"COPY ({SIMPLEST}) TO STDOUT WITH (FORMAT csv, HEADER true)"
    with transaction.atomic(), connection.cursor() as cursor:
        for name, value in settings.items():
            cursor.execute("SELECT set_config(%s, %s, true)", (name, value))
        with cursor.cursor.copy(statement, params) as copy:
            return _consume(bytes(chunk) for chunk in copy)


def measure(count: int, repeat: int) -> dict:
    from billing import export, selectors

    route, lines = _lines(count)
    last = lines.order_by("-id").values_list("pk", flat=True).first()
    file = selectors.product_file(lines, route)
    baselines = {}
    for name, settings in BASELINE_SETTINGS.items():
        chosen = export.INDEX_ORDER_SETTINGS if settings is None else settings
        baselines[name] = _best(lambda chosen=chosen: _simplest_copy(route, last, chosen), repeat)
    export_s, (export_bytes, export_hash) = _best(
        lambda: _consume(export.export_stream(file)), repeat
    )
    copy_name = min(baselines, key=lambda name: baselines[name][0])
    copy_s, _ = baselines[copy_name]
    same = all(result[1] == export_hash for _, result in baselines.values())
    if not same:
        raise SystemExit("The simplest query's bytes are not the export's: compare them.")
    return {
        "lines": lines.count(),
        "copy_seconds": round(copy_s, 3),
        "copy_settings": copy_name,
        "copy_seconds_by_settings": {k: round(v[0], 3) for k, v in baselines.items()},
        "export_seconds": round(export_s, 3),
        "export_vs_copy": round(export_s / copy_s, 3),
        "bytes": export_bytes,
        "same_bytes": same,
    }


def plan(count: int) -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) of the export's query, as it runs (its settings)."""
    from django.db import connection, transaction

    from billing import export, selectors

    route, lines = _lines(count)
    file = selectors.product_file(lines, route)
    sql, params = export._copy_sql(file)
    query = sql[len("COPY (") : sql.rindex(") TO STDOUT")]
    with transaction.atomic(), connection.cursor() as cursor:
        for name, value in export.INDEX_ORDER_SETTINGS.items():
            cursor.execute("SELECT set_config(%s, %s, true)", (name, value))
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query, params)
        text = "\n".join(row[0] for row in cursor.fetchall())
    temp = [int(n) for n in re.findall(r"temp (?:read=\d+ )?written=(\d+)", text)]
    return {
        "lines": count,
        "sort_methods": sorted(set(re.findall(r"Sort Method: ([a-z ]+?)\s{2}", text))),
        "spilled": "external merge" in text or "Disk:" in text,
        "temp_blocks_written": max(temp, default=0),
        "top_node": text.splitlines()[0].split("  (")[0].strip(),
    }


def rss_child(count: int) -> dict:
    """In a fresh process: stream the file of ``count`` lines; peak RSS before and after."""
    django_setup(migrate=False)
    from billing import export, selectors

    route, lines = _lines(count)
    file = selectors.product_file(lines, route)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    size, _ = _consume(export.export_stream(file))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"lines": count, "bytes": size, "rss_before_kib": before, "peak_rss_kib": after}


def peak_rss(count: int) -> dict:
    done = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, __file__, "--rss-child", str(count)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


WORKERS = {
    # gunicorn as production runs it (docker-compose.yml: sync workers, GUNICORN_TIMEOUT),
    # and with threads, as docs/billing-export.md suggests for larger files.
    "sync": [],
    "gthread": ["--threads", "4"],
}


def http_download() -> dict:
    """Every line on the route as the API's products.csv, over HTTP from gunicorn (each of
    ``WORKERS``), against the same file streamed in this process."""
    from django.contrib.auth import get_user_model
    from knox.models import AuthToken

    from billing import export, selectors

    route, lines = _lines(None)
    count = lines.count()
    user, _ = get_user_model().objects.get_or_create(
        username="bench-export", defaults={"is_staff": True, "is_superuser": True}
    )
    _, key = AuthToken.objects.create(user=user)
    first = lines.order_by("id").values_list("pk", flat=True).first()
    in_process_s, (size, digest) = _best(
        lambda: _consume(export.export_stream(selectors.product_file(lines, route))), 1
    )
    print(f"  in process: {count:,} lines in {in_process_s:.1f} s", file=sys.stderr)
    result = {"lines": count, "bytes": size, "in_process_seconds": round(in_process_s, 3)}
    for worker, options in WORKERS.items():
        found = _gunicorn_download(route.code, key, first, options)
        found["complete"] = found["bytes"] == size and found["digest"] == digest
        found["http_vs_in_process"] = round(found["http_seconds"] / in_process_s, 3)
        found["lines_per_second"] = (
            round(count / found["http_seconds"]) if found["complete"] else None
        )
        del found["digest"]
        print(f"  gunicorn {worker}: {found}", file=sys.stderr)
        result[worker] = found
    return result


def _gunicorn_download(route_code: str, key: str, first_line: int, options: list[str]) -> dict:
    import requests

    port = _free_port()
    timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
    # The benchmark's database (django_setup put it in DATABASE_URL), development settings.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "layer_sync.settings"}
    server = subprocess.Popen(  # noqa: S603 (the project's own gunicorn)
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "layer_sync.wsgi",
            *("-c", "python:layer_sync.server.gunicorn_config"),
            *("--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", str(timeout)),
            *options,
        ],
        cwd=str(Path(__file__).resolve().parent.parent),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api/v1/billing-export/products.csv?route={route_code}"
    headers = {"Authorization": f"Token {key}"}
    digest, got, chunks, error = hashlib.sha256(), 0, 0, ""
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        # Warm: the worker loads Django on its first request, which the timing leaves out.
        requests.get(f"{url}&lines={first_line}", headers=headers, timeout=timeout)
        start = time.perf_counter()
        try:
            with requests.get(url, headers=headers, stream=True, timeout=timeout * 2) as response:
                response.raise_for_status()
                for chunk in response.iter_content(chunk_size=None):
                    digest.update(chunk)
                    got += len(chunk)
                    chunks += 1
        except requests.RequestException as failure:  # the worker killed mid-file
            error = f"{type(failure).__name__}: {failure}"[:200]
        http_s = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "worker_options": " ".join(options) or "(sync worker)",
        "worker_timeout_seconds": timeout,
        "http_seconds": round(http_s, 3),
        "bytes": got,
        "digest": digest.hexdigest(),
        "received_chunks": chunks,
        "error": error,
    }


def run(
    lines: int = 1_000_000, repeat: int = 3, small: int = 100_000, http_lines: int = 2_000_000
) -> dict:
    """Build the data if need be, then measure; the dict ``bench/run.py`` tabulates."""
    django_setup()
    lines_ensure(max(lines, http_lines))
    print("timing the export against COPY ...", file=sys.stderr)
    timing = measure(lines, repeat)
    print(f"  {timing}", file=sys.stderr)
    print("the export's plan ...", file=sys.stderr)
    explained = plan(lines)
    print(f"  {explained}", file=sys.stderr)
    print("peak RSS of fresh processes ...", file=sys.stderr)
    memory = [peak_rss(small), peak_rss(lines)]
    print(f"  {memory}", file=sys.stderr)
    print("HTTP download through gunicorn ...", file=sys.stderr)
    http = http_download()
    return {"timing": timing, "plan": explained, "memory": memory, "http": http}


TARGETS = {"export_vs_copy": 1.3, "rss_growth_mib": 10, "http_vs_in_process": 1.5}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--http-lines", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.rss_child:
        print(json.dumps(rss_child(options.rss_child)))
        return
    result = run(options.lines, options.repeat, options.small, options.http_lines)
    if options.json:
        print(json.dumps(result, indent=2))
        return
    t, p, h = result["timing"], result["plan"], result["http"]
    small, large = result["memory"]
    growth = (large["peak_rss_kib"] - small["peak_rss_kib"]) / 1024
    print(f"Billing Export, product file of {t['lines']:,} lines ({t['bytes']:,} bytes):")
    print(
        f"  COPY of the simplest equal query  {t['copy_seconds']:.3f} s"
        f" (best of settings: {t['copy_seconds_by_settings']})"
    )
    print(
        f"  billing.export (streamed)         {t['export_seconds']:.3f} s"
        f"  = {t['export_vs_copy']:.2f}x COPY   target <= {TARGETS['export_vs_copy']}x"
    )
    print(
        f"  plan: {p['top_node']}; sort methods {p['sort_methods']};"
        f" spilled: {p['spilled']}; temp blocks written {p['temp_blocks_written']}"
    )
    print(
        f"  peak RSS, fresh process: {small['peak_rss_kib'] / 1024:.1f} MiB at"
        f" {small['lines']:,} lines, {large['peak_rss_kib'] / 1024:.1f} MiB at"
        f" {large['lines']:,}: {growth:+.1f} MiB   target within {TARGETS['rss_growth_mib']} MiB"
    )
    for worker in WORKERS:
        w = h[worker]
        print(
            f"  HTTP, gunicorn {worker} ({w['worker_options']}), {h['lines']:,} lines:"
            f" {w['http_seconds']:.2f} s vs {h['in_process_seconds']:.2f} s in process"
            f" = {w['http_vs_in_process']:.2f}x   target <= {TARGETS['http_vs_in_process']}x;"
            f" complete {w['complete']}; worker timeout {w['worker_timeout_seconds']} s"
            + (f"; {w['error']}" if w["error"] else "")
        )


if __name__ == "__main__":
    main()
