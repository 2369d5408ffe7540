"""Sync dashboard benchmark: the admin's sync dashboard over a million history rows.

    .venv/bin/python bench/dashboard.py [--rows 1000000] [--repeat 5] [--explain] [--json]

It fills the database ``layer_sync_bench_dashboard`` (beside the benchmark database, see
``bench/setup.py``) with ``--rows`` sync jobs once, by COPY (later runs reuse them; a
different ``--rows`` refills): three platforms, finish times spread over the last 180
days, mostly succeeded, some no change, filtered and skipped, 2% failed or aborted (one in
ten of those still in the error queue, with 30 kinds of message), and a few hundred
pending and in flight. Then it times ``GET /admin/connectors/syncjob/dashboard/`` through
Django's test client as a superuser, best of ``--repeat``, and prints the time, the query
count and each query's time. ``--explain`` prints PostgreSQL's plan of each query.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.setup import django_setup

DATABASE = "layer_sync_bench_dashboard"
PLATFORMS = ("abillity", "affinity", "connect")
ENTITIES = ("customer", "site", "contact", "asset")
DAYS = 180
# Long enough that the record's number falls after the 80 characters the reasons group by.
MESSAGES = [
    f"{kind} {n}: the platform refused the record; its attempts hold the full answer"
    for kind in ("Missing charge type", "Missing SKU", "Name too long", "Bad postcode", "HTTP 500")
    for n in range(6)
]


def _status(rng: random.Random) -> tuple[str, bool]:
    """A status and, for an error status, whether the job is still in the error queue."""
    draw = rng.random()
    if draw < 0.90:
        return "succeeded", False
    if draw < 0.95:
        return "no_change", False
    if draw < 0.97:
        return "filtered", False
    if draw < 0.98:
        return "skipped", False
    return rng.choice(("failed", "failed", "failed", "aborted")), rng.random() < 0.1


def jobs_ensure(rows: int) -> None:
    """Exactly ``rows`` sync jobs (benchmark data, made by COPY in one transaction)."""
    from django.db import connection
    from django.utils import timezone

    from connectors.models import SyncJob

    current = SyncJob.objects.filter(last_error__startswith=MESSAGES[0]).exists()
    if current and SyncJob.objects.count() == rows:
        return
    print(f"filling {rows:,} sync jobs (once)…", file=sys.stderr)
    started = time.perf_counter()
    rng = random.Random(9)  # noqa: S311 (benchmark data, not secrets)
    now = timezone.now()
    columns = (
        "platform, entity, object_id, object_repr, status, operation, reason, force, attempts, "
        "next_attempt_at, last_attempt_at, locked_by, error_kind, last_error, filtered_by, "
        "external_id, resolved_at, created_at, updated_at, finished_at"
    )
    open_rows = min(600, rows // 100)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE connectors_syncattempt, connectors_syncjob RESTART IDENTITY")
        raw = cursor.connection  # psycopg 3
        with raw.cursor().copy(f"COPY connectors_syncjob ({columns}) FROM STDIN") as copy:
            buffer = io.StringIO()
            for number in range(rows):
                platform = PLATFORMS[number % len(PLATFORMS)]
                entity = ENTITIES[number % len(ENTITIES)]
                created = now - timedelta(seconds=rng.uniform(0, DAYS * 86400))
                if number < open_rows:  # ids unique, so no two open jobs share a record
                    status, in_queue = ("pending" if number % 30 else "in_flight"), False
                    finished, last_attempt = None, None
                else:
                    status, in_queue = _status(rng)
                    finished = created + timedelta(seconds=rng.uniform(0.05, 30))
                    last_attempt = finished
                error_kind, error = "", ""
                if status in ("failed", "aborted"):
                    error = f"{rng.choice(MESSAGES)} (record #{number})"
                    error_kind = "recoverable" if status == "aborted" else "permanent"
                resolved = None if in_queue or status not in ("failed", "aborted") else finished
                cells = (
                    platform,
                    entity,
                    number,
                    f"{entity} {number}",
                    status,
                    "updated" if status == "succeeded" else "",
                    "benchmark",
                    "f",
                    1,
                    created,
                    last_attempt,
                    "",
                    error_kind,
                    error,
                    "",
                    "",
                    resolved,
                    created,
                    finished or created,
                    finished,
                )
                buffer.write("\t".join(r"\N" if c is None else str(c) for c in cells) + "\n")
                if number % 20000 == 19999:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE connectors_syncjob")
    print(f"filled in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def dashboard_time(repeat: int, explain: bool) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.urls import reverse

    setup_test_environment()
    user, _ = get_user_model().objects.get_or_create(
        username="bench-dashboard", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    url = reverse("admin:connectors_syncjob_dashboard")
    client.get(url)  # warm: templates compiled, connection open
    timings = []
    queries = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            timings.append(time.perf_counter() - started)
        if response.status_code != 200:
            sys.exit(f"The dashboard answered {response.status_code}.")
        queries = captured.captured_queries
    if explain:
        with connection.cursor() as cursor:
            for query in queries:
                if not query["sql"].lstrip().upper().startswith("SELECT"):
                    continue
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                print("\n" + query["sql"][:200] + "…", file=sys.stderr)
                for (line,) in cursor.fetchall():
                    print("   " + line, file=sys.stderr)
    return {
        "best_ms": round(min(timings) * 1000, 1),
        "median_ms": round(sorted(timings)[len(timings) // 2] * 1000, 1),
        "queries": len(queries),
        "query_ms": [round(float(q["time"]) * 1000, 1) for q in queries],
        "bytes": len(response.content),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--explain", action="store_true", help="Print each query's plan.")
    parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
    options = parser.parse_args()
    url = django_setup(DATABASE)
    jobs_ensure(options.rows)
    result = {"rows": options.rows, **dashboard_time(options.repeat, options.explain)}
    if options.json:
        print(json.dumps({"dashboard": result}))
        return
    print(f"database: {url}")
    print(
        f"sync dashboard over {result['rows']:,} jobs: best {result['best_ms']} ms, median "
        f"{result['median_ms']} ms of {options.repeat}; {result['queries']} queries "
        f"({', '.join(f'{ms} ms' for ms in result['query_ms'])})"
    )


if __name__ == "__main__":
    main()
