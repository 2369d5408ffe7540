"""Sync benchmark: the initial sync of N customers to the Abillity emulator over real HTTP with
injected latency, at 1, 2 and 4 worker processes; then an unchanged full resync; then the
queries per record as customers get more sites and contacts.

    .venv/bin/python bench/sync.py [--customers 1000] [--workers 1,2,4] [--latency-ms 20]

It works in a database of its own (``layer_sync_bench_sync``, or ``BENCH_SYNC_DATABASE``:
it syncs every customer there is, so the Billing Export benchmark's customers must not be
there), where it builds
the data set once (later runs reuse it): N customers of 3 sites (each with its own
address), 4 contacts (one of the head office a billing contact) and 2 mobile assets,
routed to Abillity with charge type ids and released by ``billing.export.billing_transfer``
(the Abillity route queues them), the integration on and the demo's value mappings.

The Django app runs in a threaded WSGI server process on 127.0.0.1 (``sync_processes.py
serve``) with ``SANDBOX_BASE_URL`` pointing at it; the emulator's latency is set through its
staff-only ``_emulator/faults`` endpoint (a staff session of a bench user). Before each
run the sync state goes (jobs, attempts, bindings; the lines back to Ready to Bill) and the
emulator is reset.

The jobs are dispatched as in production: N real ``celery worker`` processes of the
project's app (``bench/sync_worker.py``) run ``-P threads -c T`` (``--threads``, 2 by
default; ``--threads 1,2`` measures both, side by side) with ``SYNC_CALLS_PER_PROCESS=1``,
as the README's scale-out section runs them: a worker has one call on the wire at a time
and its other job does its database work and mapping meanwhile. They read a queue of the
benchmark's own on Redis (``BENCH_BROKER_URL``, default database 13 on 127.0.0.1). Once
they are ready, ``connectors.prepare.sync_prepare`` queues the initial sync (what ``manage.py
sync --platform abillity`` does), publishing each batch's jobs as it commits, and the
workers take them from there; this process is the beat meanwhile (``sync_sweep`` every
30 s, as ``SYNC_SWEEP_INTERVAL``'s default). The run ends when no job is pending or in
flight; its time runs from the prepare's start to the last job's finish. With
``BENCH_PROFILE=path`` every thread of every worker is profiled in CPU time
(``path.<pid>``, pstats).

- **calls**: API calls the emulator logged; **limit** = calls * latency / N, the time
  the calls take if every worker waits on the platform all the time and does nothing else;
  **fraction** = limit / elapsed (issue 24: at least 0.85 through Celery); **at once**:
  the most calls the platform was answering at one time (the server counts them: never
  above N);
- **a call**: the elapsed time per call and worker, and of it the platform's answer (the
  server's time in the app, its latency included), the whole HTTP call as the worker
  sees it (send to answer read: the platform's share, the transport and the HTTP client)
  and the database's answers to the worker (every query's round trip);
- **queries per record**: the workers' queries ÷ records synced (customers + sites +
  contacts + assets), and per job of each entity;
- **worker CPU per call**: the workers' CPU time (every thread of each process, read from
  ``/proc``: the pool's and Celery's own) ÷ API calls; of it, the pool threads' inside
  tasks;
- **calls per record** and **records per hour**; the **API's minimum** calls for the same
  records (``api_minimum_calls`` says how they are counted, from the docs) and the calls
  made ÷ that minimum (target at most 1.1);
- **projection**: an initial sync of 50,000 customers (of this data set's sites and
  contacts per customer) and 2,000,000 assets, from the calls per record of each kind
  and the calls per second measured with the most workers (4 calls at once at the
  default ``--workers``), at this latency (target under 12 hours);
- **resync**: ``sync_prepare(full=True)`` then ``sync_process`` in this process (what
  ``manage.py sync --platform abillity --full --process`` does): platform writes (POST,
  PUT, PATCH, DELETE calls; DESIGN: 0), calls and time;
- **shape**: small groups of customers with 1 site and 1 contact, 3 and 4, 6 and 8, synced
  here with no latency: queries per record must not grow with the sites and contacts.

The resync and the shapes run their jobs in this process (``jobs_process_due``, publishing
nothing): they count writes and queries, not the dispatch.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.setup import BROKER_URL, ROOT, Broker, django_setup
from bench.sync_processes import PLATFORM, QueryCounter, outbox_only_publishing

# Its own database (BENCH_SYNC_DATABASE names another, for runs side by side).
DATABASE = os.environ.get("BENCH_SYNC_DATABASE", "layer_sync_bench_sync")
CUSTOMER_PREFIX = "Sync bench customer "
SHAPE_PREFIX = "Sync shape "
SHAPES = ((1, 1), (3, 4), (6, 8))  # (sites, contacts) per customer
SITE_NAMES = ("Head Office", "Depot", "Shop", "Warehouse", "Branch", "Annex")
STAFF = ("bench-staff", "bench-staff-password")
WRITES = ("POST", "PUT", "PATCH", "DELETE")
PYTHON = sys.executable
# BENCH_PROFILE=path: each worker writes its cProfile stats, every thread's, to path.<pid>.
PROFILE = os.environ.get("BENCH_PROFILE", "")
QUEUE = "bench-sync"  # the workers' queue, on the benchmark's Redis
SWEEP_INTERVAL = 30.0  # seconds, as SYNC_SWEEP_INTERVAL's default: this process is the beat


# --- the data set ----------------------------------------------------------------------------
def platform_prepare() -> None:
    """Abillity on (the only integration), its entities exported, the demo's value mappings
    and the emulator's service charge types (the items' charge type ids are checked against
    that list at sync)."""
    from billing.models import BillingPlatform
    from connectors.abillity.sync import AbillityConnector, sandbox_charge_types_ensure
    from connectors.engine.entity_settings import entity_settings_ensure
    from connectors.models import ValueMapping

    BillingPlatform.objects.exclude(code=PLATFORM).update(integration_enabled=False)
    BillingPlatform.objects.filter(code=PLATFORM).update(integration_enabled=True)
    entity_settings_ensure()
    for kind, value, external in AbillityConnector.DEMO_MAPPINGS:
        ValueMapping.objects.update_or_create(
            platform=PLATFORM, kind=kind, layer_value=value, defaults={"external_value": external}
        )
    sandbox_charge_types_ensure()


def customers_build(
    count: int, *, prefix: str, sites: int, contacts: int, assets: int
) -> list[int]:
    """``count`` customers of this shape, bulk-made (no signals: nothing is queued).

    Each site has its own default address; contact 0 is the head office's billing
    contact, the others go to the other sites in turn, the last (of 3 or more) to no site.
    Assets are mobiles on the first sites, on lines Ready to Bill on Abillity.
    """
    from datetime import date
    from decimal import Decimal

    from django.utils import timezone

    from billing.choices import BillStatus
    from billing.models import (
        Asset,
        BaseCategory,
        BillingPlatform,
        InventoryItem,
        SalesOrder,
        SalesOrderLine,
    )
    from customers.choices import ConversionSource, CustomerStage, CustomerStatus, LeadOrigin
    from customers.models import Address, Contact, ContactType, Customer, Lead, Site, SiteAddress

    abillity = BillingPlatform.objects.get(code=PLATFORM)
    billing_type, _ = ContactType.objects.get_or_create(
        name="Billing", defaults={"is_billing": True}
    )
    made = Customer.objects.bulk_create(
        Customer(
            name=f"{prefix}{n:05d}",
            stage=CustomerStage.CUSTOMER,
            status=CustomerStatus.LIVE,
            bill_run="Monthly 1st",
            payment_terms="30 days",
            payment_method="Direct Debit",
            sage_account_number=f"SB{n:05d}",
        )
        for n in range(count)
    )
    now = timezone.now()
    Lead.objects.bulk_create(
        Lead(
            customer=c,
            origin=LeadOrigin.DIRECT,
            converted_at=now,
            conversion_source=ConversionSource.DIRECT,
        )
        for c in made
    )
    site_rows = Site.objects.bulk_create(
        Site(
            customer=c,
            name=SITE_NAMES[i % len(SITE_NAMES)] + (f" {i}" if i >= len(SITE_NAMES) else ""),
            site_ref=f"S{c.pk:06d}-{i}",
            is_default=i == 0,
        )
        for c in made
        for i in range(sites)
    )
    addresses = Address.objects.bulk_create(
        Address(
            customer_id=site.customer_id,
            name=site.name,
            street1=f"{site.pk} {site.name} Road",
            city="Leeds",
            postcode="LS1 4AP",
            is_default=site.is_default,
        )
        for site in site_rows
    )
    SiteAddress.objects.bulk_create(
        SiteAddress(site=site, address=address, is_site_default=True)
        for site, address in zip(site_rows, addresses, strict=True)
    )
    by_customer: dict[int, list] = {}
    for site in site_rows:
        by_customer.setdefault(site.customer_id, []).append(site)
    contact_rows = []
    for c in made:
        own = by_customer[c.pk]
        for i in range(contacts):
            if i == 0:
                site = own[0]
            elif contacts >= 3 and i == contacts - 1:
                site = None  # goes to the billing site
            else:
                site = own[i % len(own)]
            contact_rows.append(
                Contact(
                    customer=c,
                    first_name=f"Person{i}",
                    last_name=f"Customer{c.pk}",
                    email=f"person{i}.c{c.pk}@example.com",
                    telephone="0113 496 0000",
                    is_primary=i == 0,
                    contact_type=billing_type if i == 0 else None,
                    site=site,
                )
            )
    Contact.objects.bulk_create(contact_rows)
    if assets:
        item, _ = InventoryItem.objects.get_or_create(
            name="Sync bench mobile",
            defaults={
                "item_type": "service",
                "base_category": BaseCategory.objects.get(name="Mobile"),
                "upfront_route": abillity,
                "recurring_route": abillity,
                "external_sku": "ABL-BENCH",
                "data_description": "1001",
                "pricing_tier": "2010",
                "sell_price": Decimal("25.00"),
                "recurring_sell_price": Decimal("12.50"),
            },
        )
        orders = SalesOrder.objects.bulk_create(
            SalesOrder(customer=c, reference=f"SB{c.pk}") for c in made
        )
        lines = SalesOrderLine.objects.bulk_create(
            SalesOrderLine(
                order=order,
                inventory_item=item,
                site=by_customer[order.customer_id][i % sites],
                sell_price=item.sell_price,
                recurring_sell_price=item.recurring_sell_price,
                upfront_route=abillity,
                recurring_route=abillity,
                upfront_bill_status=BillStatus.READY_TO_BILL,
                recurring_bill_status=BillStatus.READY_TO_BILL,
            )
            for order in orders
            for i in range(assets)
        )
        Asset.objects.bulk_create(
            Asset(
                customer_id=line.order.customer_id,
                site=line.site,
                inventory_item=item,
                sales_order_line=line,
                identifier=f"077{line.pk:08d}",
                connection_date=date(2026, 1, 5),
                upfront_route=abillity,
                recurring_route=abillity,
                sell_price=line.sell_price,
                recurring_sell_price=line.recurring_sell_price,
            )
            for line in lines
        )
    return [c.pk for c in made]


def dataset_ensure(customers: int) -> dict[str, int]:
    """The benchmark's customers (rebuilt when their number differs), assets released."""
    from django.db import connection

    from billing.export import billing_transfer
    from billing.models import Asset, BillingPlatform
    from customers.models import Contact, Customer, Site

    have = Customer.objects.filter(name__startswith=CUSTOMER_PREFIX).count()
    if have != customers or Customer.objects.exclude(name__startswith=CUSTOMER_PREFIX).exists():
        print(f"  building {customers:,} customers", file=sys.stderr)
        with connection.cursor() as cursor:
            # This database is the benchmark's own: every customer and all that hangs on
            # them goes, and the sync state with them.
            cursor.execute(
                "TRUNCATE customers_customer, connectors_syncjob, connectors_syncattempt, "
                "connectors_binding CASCADE"
            )
        customers_build(customers, prefix=CUSTOMER_PREFIX, sites=3, contacts=4, assets=2)
        line_ids = list(Asset.objects.values_list("sales_order_line_id", flat=True))
        billing_transfer(route=BillingPlatform.objects.get(code=PLATFORM), line_ids=line_ids)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {
        "customers": Customer.objects.count(),
        "sites": Site.objects.count(),
        "contacts": Contact.objects.count(),
        "assets": Asset.objects.count(),
    }


def sync_state_reset() -> None:
    """No job, attempt or binding; every Abillity line Ready to Bill again."""
    from django.db import connection

    from billing.choices import BillStatus
    from billing.models import SalesOrderLine

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE connectors_syncjob, connectors_syncattempt, connectors_binding CASCADE"
        )
    SalesOrderLine.objects.filter(upfront_route__code=PLATFORM).update(
        upfront_bill_status=BillStatus.READY_TO_BILL,
        recurring_bill_status=BillStatus.READY_TO_BILL,
    )


# --- the platform's server ------------------------------------------------------------------
class Platform:
    """The server process, and a staff session to reset the emulator and set its faults."""

    def __init__(self) -> None:
        import requests

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        command = [PYTHON, str(ROOT / "bench" / "sync_processes.py"), "serve"]
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and script)
            [*command, "--database", DATABASE, "--port", str(self.port)],
            stdout=subprocess.PIPE,
            env=_environment(self.url),
            text=True,
        )
        if self.process.stdout.readline().strip() != "serving":
            raise RuntimeError("The platform server did not start.")
        from django.conf import settings

        settings.SANDBOX_BASE_URL = self.url  # this process's syncs (resync, shapes) too
        self.session = requests.Session()
        self._login()

    def _login(self) -> None:
        from django.contrib.auth import get_user_model

        user, _ = get_user_model().objects.get_or_create(
            username=STAFF[0], defaults={"is_staff": True, "is_superuser": True}
        )
        user.is_staff = user.is_active = True
        user.set_password(STAFF[1])
        user.save()
        login = f"{self.url}/admin/login/"
        self.session.get(login, timeout=10).raise_for_status()
        answer = self.session.post(
            login,
            data={
                "username": STAFF[0],
                "password": STAFF[1],
                "csrfmiddlewaretoken": self.session.cookies["csrftoken"],
                "next": "/admin/",
            },
            timeout=10,
            allow_redirects=False,
        )
        if answer.status_code != 302:
            raise RuntimeError("The bench staff user could not log in.")

    def _post(self, path: str, body: dict | None = None) -> dict:
        answer = self.session.post(
            f"{self.url}/sandbox/{PLATFORM}/_emulator/{path}",
            json=body,
            headers={"X-CSRFToken": self.session.cookies["csrftoken"]},
            timeout=10,
            allow_redirects=False,
        )
        answer.raise_for_status()
        return answer.json()

    def reset(self, *, latency_ms: float) -> None:
        self._post("reset")
        self.latency(latency_ms)

    def latency(self, latency_ms: float) -> None:
        faults = self._post("faults", {"latency_ms": latency_ms})
        assert faults["latency_ms"] == latency_ms, faults

    def calls(self) -> Counter:
        import requests

        return Counter(requests.get(f"{self.url}/_bench/calls", timeout=10).json())

    def served(self) -> dict:
        import requests

        return requests.get(f"{self.url}/_bench/server", timeout=10).json()

    def stop(self) -> None:
        self.session.close()
        self.process.terminate()
        self.process.wait(timeout=10)


def _environment(base_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["SANDBOX_BASE_URL"] = base_url
    env.pop("CELERY_BROKER_URL", None)
    env["LOG_LEVEL"] = "WARNING"
    return env


def _delta(after: Counter, before: Counter) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0)}


# --- the workers -------------------------------------------------------------------------------
class Worker:
    """One ``celery worker`` process of the project's app (``bench/sync_worker.py``), on the
    benchmark's queue: ``-P threads -c T`` with ``SYNC_CALLS_PER_PROCESS=1``, as the README's
    scale-out section runs them. ``stop`` is a warm shutdown (SIGTERM), after which the
    worker's report (``sync_worker.py``) is read."""

    def __init__(self, platform_url: str, threads: int, directory: Path, n: int) -> None:
        self.log_path = directory / f"worker-{n}.log"
        self.report_path = directory / f"worker-{n}.json"
        env = {
            **_environment(platform_url),
            "DATABASE_URL": os.environ["DATABASE_URL"],
            "CELERY_BROKER_URL": BROKER_URL,
            "BENCH_QUEUE": QUEUE,
            "BENCH_WORKER_REPORT": str(self.report_path),
            "SYNC_CALLS_PER_PROCESS": "1",
            "PYTHONPATH": str(ROOT),
        }
        if PROFILE:
            env["BENCH_PROFILE"] = PROFILE
        command = [
            *(str(Path(PYTHON).parent / "celery"), "-A", "bench.sync_worker", "worker"),
            *("-P", "threads", "-c", str(threads), "-Q", QUEUE, "-n", f"bench-{n}@%h"),
            *("--without-heartbeat", "--without-gossip", "--without-mingle"),
            *("--loglevel", "INFO"),
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 (our own worker, fixed arguments)
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while " ready." not in self.log_path.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"A sync worker did not start:\n{tail}")
            time.sleep(0.2)

    def cpu_seconds(self) -> float:
        """The process's CPU time so far, every thread's (Linux: /proc/<pid>/stat)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> dict:
        self.process.terminate()  # warm shutdown: the report is written
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise RuntimeError(f"A sync worker did not stop; its log: {self.log_path}") from None
        return json.loads(self.report_path.read_text())


# --- the initial sync --------------------------------------------------------------------------
def initial_sync(
    platform: Platform, broker: Broker, workers: int, latency_ms: float, records: int, threads: int
) -> dict:
    import tempfile

    from django.db import connection
    from django.db.models import Count, Max

    from connectors.choices import ERROR_STATUSES, JobStatus
    from connectors.engine.sweep import sync_sweep
    from connectors.models import SyncAttempt, SyncJob
    from connectors.prepare import sync_prepare

    sync_state_reset()
    platform.reset(latency_ms=latency_ms)
    broker.purge()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE connectors_syncjob")
    directory = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    procs = [Worker(platform.url, threads, directory, n) for n in range(workers)]
    try:
        for proc in procs:
            proc.wait_ready()
        cpu_before = [proc.cpu_seconds() for proc in procs]
        before = platform.calls()
        served_before = platform.served()
        go = timezone_now()
        started = time.perf_counter()
        # As ``manage.py sync --platform abillity`` does: each batch's jobs are published as
        # it commits (one message a batch), and the workers start on them at once.
        queued = sync_prepare(platform=PLATFORM).prepared
        prepare_seconds = time.perf_counter() - started
        sweeps = swept = 0
        last_sweep = time.monotonic()
        unfinished = SyncJob.objects.filter(
            platform=PLATFORM, status__in=(JobStatus.PENDING, JobStatus.IN_FLIGHT)
        )
        while unfinished.exists():
            time.sleep(0.25)
            if time.monotonic() - last_sweep >= SWEEP_INTERVAL:  # Celery beat's sweeper
                swept += sync_sweep()["published"]
                sweeps += 1
                last_sweep = time.monotonic()
        last = SyncJob.objects.filter(platform=PLATFORM).aggregate(last=Max("finished_at"))["last"]
        elapsed = (last - go).total_seconds()
        cpu = sum(proc.cpu_seconds() - was for proc, was in zip(procs, cpu_before, strict=True))
    finally:
        reports = [proc.stop() for proc in procs]
    calls = _delta(platform.calls(), before)
    served = platform.served()
    server_cpu = served["cpu_seconds"] - served_before["cpu_seconds"]
    server_wall = served["wall_seconds"] - served_before["wall_seconds"]
    total_calls = sum(calls.values())
    limit = total_calls * latency_ms / 1000 / workers
    queries: Counter = Counter()
    jobs: Counter = Counter()
    statuses: Counter = Counter()
    for report in reports:
        queries.update(report["queries"])
        jobs.update(report["jobs"])
        statuses.update(report["statuses"])
    failed = SyncJob.objects.filter(status__in=ERROR_STATUSES)
    first_error = failed.values_list("entity", "last_error").first()
    calls_by_entity = dict(
        SyncAttempt.objects.values_list("job__entity").annotate(n=Count("pk")).order_by()
    )
    return {
        "workers": workers,
        "dispatch": f"celery worker -P threads -c {threads} x {workers}, Redis {BROKER_URL}",
        "jobs_queued": queued,
        "prepare_seconds": round(prepare_seconds, 2),
        "calls": total_calls,
        "calls_by_method": calls,
        "calls_by_entity": calls_by_entity,
        "attempts_recorded": SyncAttempt.objects.count(),
        "elapsed_seconds": round(elapsed, 2),
        "limit_seconds": round(limit, 2),
        "fraction_of_limit": round(limit / elapsed, 3),
        "calls_per_second": round(total_calls / elapsed, 1),
        "calls_per_record": round(total_calls / records, 2),
        "records_per_hour": round(records / elapsed * 3600),
        "queries": sum(queries.values()),
        "queries_per_record": round(sum(queries.values()) / records, 2),
        "queries_per_job": {
            entity: round(queries[entity] / jobs[entity], 1) for entity in sorted(jobs)
        },
        "queries_outside_jobs": queries["polling"],
        # Every thread of every worker process (the pool's and Celery's own), from /proc.
        "worker_cpu_seconds": round(cpu, 2),
        "worker_cpu_ms_per_call": round(cpu * 1000 / max(total_calls, 1), 2),
        # Of which the pool threads inside tasks (the rest: Celery receiving, acknowledging).
        "task_cpu_ms_per_call": _per_call(reports, "task_cpu_seconds", total_calls),
        "server_cpu_ms_per_call": round(server_cpu * 1000 / max(total_calls, 1), 2),
        "threads": threads,
        "calls_at_once_most": served["most_at_once"],
        "sweeps": sweeps,
        "swept": swept,
        # The platform's answer time per call (latency included), and what is left of
        # the elapsed time per call and worker: ours (queries, bookkeeping, HTTP client).
        "server_ms_per_call": round(server_wall * 1000 / max(total_calls, 1), 2),
        "worker_ms_per_call": round(elapsed * 1000 * workers / max(total_calls, 1), 2),
        # Of which, per call: the HTTP call as the worker sees it (send to answer read:
        # the platform's share, the transport and the HTTP client) and the database's
        # answers (every query's round trip, from the driver's send to its rows read).
        "http_ms_per_call": _per_call(reports, "http_seconds", total_calls),
        "query_ms_per_call": _per_call(reports, "query_seconds", total_calls),
        "statuses": dict(statuses),
        "failed": failed.count(),
        "first_error": list(first_error) if first_error else None,
        "profiles": [f"{PROFILE}.{r['pid']}" for r in reports] if PROFILE else [],
    }


def timezone_now():
    from django.utils import timezone

    return timezone.now()


def _per_call(reports: list[dict], key: str, calls: int) -> float:
    return round(sum(r[key] for r in reports) * 1000 / max(calls, 1), 2)


def _process_here(counter: QueryCounter) -> Counter:
    """Run the due jobs in this process until none is pending (deferred ones included)."""
    from django.db import connection

    from connectors.choices import JobStatus
    from connectors.engine.sweep import jobs_process_due
    from connectors.models import SyncJob

    statuses: Counter = Counter()
    with connection.execute_wrapper(counter):
        while True:
            counter.label = "jobs"
            statuses.update(jobs_process_due(platform=PLATFORM))
            counter.label = "polling"
            if not SyncJob.objects.filter(
                platform=PLATFORM, status__in=(JobStatus.PENDING, JobStatus.IN_FLIGHT)
            ).exists():
                return statuses
            time.sleep(0.05)


def resync(platform: Platform, records: int) -> dict:
    """An unchanged full resync: ``manage.py sync --platform abillity --full --process``."""
    from django.db import connection

    from connectors.prepare import sync_prepare

    counter = QueryCounter()
    before = platform.calls()
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        counter.label = "prepare"
        queued = sync_prepare(platform=PLATFORM, full=True).prepared
    prepared_at = time.perf_counter()
    statuses = _process_here(counter)
    elapsed = time.perf_counter() - started
    calls = _delta(platform.calls(), before)
    return {
        "jobs_queued": queued,
        "seconds": round(elapsed, 2),
        "prepare_seconds": round(prepared_at - started, 2),
        "calls": sum(calls.values()),
        "writes": sum(n for method, n in calls.items() if method in WRITES),
        "queries_per_record": round(counter.total / records, 2),
        "statuses": dict(statuses),
    }


def shapes(platform: Platform, per_shape: int) -> list[dict]:
    """Queries per record of customers with more and more sites and contacts (no latency)."""
    from connectors.choices import ERROR_STATUSES, Entity
    from connectors.engine.publish import changes_enqueue
    from connectors.engine.queue import initial_sync_events_record
    from connectors.models import InitialSyncEvent, SyncJob
    from customers.models import Contact, Site

    platform.latency(0)  # not reset: the records synced before stay bound to its records
    _shapes_remove()
    found = []
    for sites, contacts in SHAPES:
        ids = customers_build(
            per_shape,
            prefix=f"{SHAPE_PREFIX}{sites}x{contacts} ",
            sites=sites,
            contacts=contacts,
            assets=0,
        )
        # Synced as a manual sync would (seed 000: a customer made directly waits for one).
        initial_sync_events_record(customer_ids=ids, event=InitialSyncEvent.Event.MANUAL_SYNC)
        site_ids = list(Site.objects.filter(customer__in=ids).values_list("pk", flat=True))
        contact_ids = list(Contact.objects.filter(customer__in=ids).values_list("pk", flat=True))
        for entity, pks in (
            (Entity.CUSTOMER, ids),
            (Entity.SITE, site_ids),
            (Entity.CONTACT, contact_ids),
        ):
            changes_enqueue(entity=entity, object_ids=pks, reason="bench", platforms=[PLATFORM])
        counter = QueryCounter()
        before = platform.calls()
        statuses = _process_here(counter)
        calls = sum(_delta(platform.calls(), before).values())
        records = len(ids) + len(site_ids) + len(contact_ids)
        failed = SyncJob.objects.filter(status__in=ERROR_STATUSES, object_id__in=ids + site_ids)
        first_error = failed.values_list("entity", "last_error").first()
        found.append(
            {
                "sites": sites,
                "contacts": contacts,
                "customers": len(ids),
                "records": records,
                "queries_per_record": round(counter.counts["jobs"] / records, 2),
                "queries_per_customer": round(counter.counts["jobs"] / len(ids), 1),
                "calls_per_record": round(calls / records, 2),
                "statuses": dict(statuses),
                "first_error": list(first_error) if first_error else None,
            }
        )
    _shapes_remove()
    return found


def _shapes_remove() -> None:
    from connectors.choices import Entity
    from connectors.models import Binding, SyncJob
    from customers.models import Contact, Customer, Site

    shaped = Customer.objects.filter(name__startswith=SHAPE_PREFIX)
    keys = {
        Entity.CUSTOMER: list(shaped.values_list("pk", flat=True)),
        Entity.SITE: list(Site.objects.filter(customer__in=shaped).values_list("pk", flat=True)),
        Entity.CONTACT: list(
            Contact.objects.filter(customer__in=shaped).values_list("pk", flat=True)
        ),
    }
    for entity, pks in keys.items():
        Binding.objects.filter(entity=entity, object_id__in=pks).delete()
        SyncJob.objects.filter(entity=entity, object_id__in=pks).delete()
    shaped.delete()


def api_minimum_calls() -> dict:
    """The fewest calls aBILLity's API takes to create the benchmark's records from nothing,
    by kind of record, as ``docs/abillity.md`` (*Assumptions about the API*) and the API
    reference it cites describe them; writes only, no look-up:

    - a customer: 1, ``POST api/company`` (name, customer flag and the rest in one body);
    - a site: ``POST api/site`` (only ``CompanyId``, ``ShortName``, ``AccountRef`` go on
      it), ``PUT api/site/{id}/billinginformation`` (it must exist before any site update
      and before the bill run is set, §6, §16.10), ``PATCH api/site/{id}`` (name, address,
      ``MainSite`` and the bill run together, after the billing information): 3; a site
      that is not its customer's billing site also ``PATCH .../setbillingaddress``: 4;
    - a contact: 1, ``POST api/sitecontact``;
    - an asset: 1, ``POST api/cli`` (its billing ID), plus 1 ``POST api/servicecharge`` per
      charge: a component (upfront, recurring) with a price, on the Abillity route.

    The one look-up the docs ask for on a first create, a company by name (staff may have
    made it by hand), is not counted: it is the 1 in 23 that the target's 1.1 allows.
    """
    from django.db.models import Q

    from billing.models import Asset
    from customers.models import Contact, Customer, Site

    billing_sites = Site.objects.filter(is_default=True).count()
    sites = Site.objects.count()
    charges = (
        Asset.objects.filter(upfront_route__code=PLATFORM, sell_price__gt=0).count()
        + Asset.objects.filter(
            Q(recurring_route__code=PLATFORM), recurring_sell_price__gt=0
        ).count()
    )
    by_kind = {
        "customer": Customer.objects.count(),
        "site": 3 * billing_sites + 4 * (sites - billing_sites),
        "contact": Contact.objects.count(),
        "asset": Asset.objects.count() + charges,
    }
    return {"calls": sum(by_kind.values()), "by_kind": by_kind, "charges": charges}


def projection(run: dict, dataset: dict, *, customers: int, assets: int) -> dict:
    """An initial sync of ``customers`` customers (of the benchmark's sites and contacts per
    customer) and ``assets`` assets, from a run's measured calls per record of each kind
    and calls per second (its workers' calls at once, its latency)."""
    kinds = {"customer": "customers", "site": "sites", "contact": "contacts", "asset": "assets"}
    per_record = {
        kind: run["calls_by_entity"].get(kind, 0) / dataset[plural]
        for kind, plural in kinds.items()
    }
    # Charges are pushed inside their asset's job (their own jobs only on later changes).
    per_record["asset"] += run["calls_by_entity"].get("charge", 0) / dataset["assets"]
    scale = customers / dataset["customers"]
    records = {
        "customer": customers,
        "site": round(dataset["sites"] * scale),
        "contact": round(dataset["contacts"] * scale),
        "asset": assets,
    }
    calls = sum(records[kind] * per_record[kind] for kind in records)
    hours = calls / run["calls_per_second"] / 3600
    return {
        "customers": customers,
        "assets": assets,
        "records": sum(records.values()),
        "calls_per_record_by_kind": {k: round(v, 2) for k, v in per_record.items()},
        "calls": round(calls),
        "hours": round(hours, 1),
        "at_workers": run["workers"],
        "calls_per_second": run["calls_per_second"],
    }


def run(
    customers: int = 1000,
    workers: tuple[int, ...] = (1, 2, 4),
    latency_ms: float = 20.0,
    shape_customers: int = 20,
    threads: tuple[int, ...] = (2,),
) -> dict:
    """Build the data if need be, then measure; the dict ``bench/run.py`` tabulates."""
    os.environ["DJANGO_DEBUG"] = "false"  # as deployed: no query log, here or in the children
    django_setup(DATABASE)
    with outbox_only_publishing():  # the data set's own changes are not synced as made
        platform_prepare()
        _shapes_remove()
        dataset = dataset_ensure(customers)
        minimum = api_minimum_calls()
    records = dataset["customers"] + dataset["sites"] + dataset["contacts"] + dataset["assets"]
    platform = Platform()
    broker = Broker(BROKER_URL, QUEUE)
    try:
        runs = []
        for count in workers:
            for at_once in threads:
                print(f"  initial sync, {count} worker(s) of {at_once} job(s)", file=sys.stderr)
                done = initial_sync(platform, broker, count, latency_ms, records, at_once)
                done["calls_vs_minimum"] = round(done["calls"] / minimum["calls"], 3)
                runs.append(done)
        broker.close()
        with outbox_only_publishing():  # these run the jobs in this process
            print("  unchanged full resync", file=sys.stderr)
            again = resync(platform, records)
            print("  queries per record by shape", file=sys.stderr)
            by_shape = shapes(platform, shape_customers)
    finally:
        platform.stop()
    widest = max(runs, key=lambda r: (r["workers"], r["fraction_of_limit"]))
    return {
        "dataset": {**dataset, "records": records},
        "latency_ms": latency_ms,
        "api_minimum_calls": minimum,
        "initial": runs,
        "projection": projection(widest, dataset, customers=50_000, assets=2_000_000),
        "resync": again,
        "shapes": by_shape,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--shape-customers", type=int, default=20)
    parser.add_argument(
        "--threads",
        default="2",
        help="jobs each worker runs at once (one call at a time); comma-separated to compare",
    )
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    result = run(
        options.customers,
        tuple(int(n) for n in options.workers.split(",")),
        options.latency_ms,
        options.shape_customers,
        tuple(int(n) for n in options.threads.split(",")),
    )
    if options.json:
        print(json.dumps(result, indent=2))
        return
    d = result["dataset"]
    print(
        f"Initial sync of {d['customers']:,} customers ({d['sites']:,} sites, "
        f"{d['contacts']:,} contacts, {d['assets']:,} assets: {d['records']:,} records), "
        f"emulator latency {result['latency_ms']:g} ms:"
    )
    m = result["api_minimum_calls"]
    print(f"  the API's minimum: {m['calls']:,} calls ({m['by_kind']})")
    for r in result["initial"]:
        print(
            f"  {r['workers']} Celery worker(s) of {r['threads']} thread(s):"
            f" {r['calls']:,} calls in {r['elapsed_seconds']:.1f} s (at most"
            f" {r['calls_at_once_most']} at once),"
            f" limit {r['limit_seconds']:.1f} s = {r['fraction_of_limit']:.0%} of the"
            f" latency-bound limit (target >= 85%); {r['calls_per_record']:.2f} calls/record"
            f" = {r['calls_vs_minimum']:.2f}x the API's minimum (target <= 1.1);"
            f" {r['records_per_hour']:,} records/hour; worker CPU"
            f" {r['worker_cpu_ms_per_call']:.2f} ms/call (in tasks"
            f" {r['task_cpu_ms_per_call']:.2f}); {r['queries_per_record']:.1f} queries"
            f"/record; per job {r['queries_per_job']}; failed {r['failed']}"
        )
    p = result["projection"]
    print(
        f"  projected: {p['customers']:,} customers / {p['assets']:,} assets"
        f" ({p['records']:,} records) = {p['calls']:,} calls, {p['hours']:.1f} h at"
        f" {p['at_workers']} calls at once and {result['latency_ms']:g} ms"
        f" ({p['calls_per_second']:g} calls/s measured; target under 12 h)"
    )
    s = result["resync"]
    print(
        f"  unchanged full resync: {s['writes']} writes (target 0), {s['calls']} calls,"
        f" {s['seconds']:.1f} s, {s['queries_per_record']:.1f} queries/record"
    )
    for shape in result["shapes"]:
        print(
            f"  {shape['sites']} site(s), {shape['contacts']} contact(s) per customer:"
            f" {shape['queries_per_record']:.1f} queries/record"
        )


if __name__ == "__main__":
    main()
