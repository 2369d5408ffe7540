"""Save overhead benchmark: a customer saved through ``customers.services.customer_save`` with
the integrations on, against the same save with them off, side by side in one process.

    .venv/bin/python bench/save_overhead.py [--saves 200] [--rounds 7]
                                            [--broker redis://127.0.0.1:6379/13]

In the sync benchmark's database (``bench/sync.py`` builds it; a customer of 3 sites and
4 contacts is made here if it is empty). Each round times ``--saves`` saves with every
integration off, then as many with every integration on (Abillity, Affinity, Connect),
interleaved; the best round of each is kept. The queries of one save each way are counted
with ``CaptureQueriesContext``; their difference is the cost of the integrations.

Publishing is included, as deployed: the tasks a save publishes after commit go to a real
Redis broker (``--broker``, or ``BENCH_BROKER_URL``; default Redis database 13 on
127.0.0.1), on a queue of the benchmark's own that no worker reads (``bench-save``,
emptied after), so the save pays for its messages and no sync runs. The messages are
counted twice: as Celery sends them (``before_task_publish``) and as the queue holds
them; both are reported per save. DESIGN: at most 2 extra queries and under 2 ms, and
one message per transaction at most.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.setup import BROKER_URL, Broker, django_setup
from bench.sync import DATABASE

QUEUE = "bench-save"
SAVE_PREFIX = "Save bench customer "


def _customer():
    from django.db.models import Q

    from bench.sync import CUSTOMER_PREFIX, customers_build
    from customers.models import Customer

    # The sync benchmark's first customer, or the one an earlier run of this one made.
    customer = (
        Customer.objects.filter(
            Q(name__startswith=CUSTOMER_PREFIX) | Q(name__startswith=SAVE_PREFIX),
            stage="customer",
        )
        .order_by("pk")
        .first()
    )
    if customer is None:
        pk = customers_build(1, prefix=SAVE_PREFIX, sites=3, contacts=4, assets=0)[0]
        customer = Customer.objects.get(pk=pk)
    return customer


def _integrations(on: bool, codes: list[str]) -> None:
    from billing.models import BillingPlatform

    BillingPlatform.objects.filter(code__in=codes).update(integration_enabled=on)


def _time_saves(customer, saves: int) -> float:
    from customers.services import customer_save

    started = time.perf_counter()
    for n in range(saves):
        customer.telephone = f"0113 496 {n % 10000:04d}"
        customer_save(customer=customer)
    return (time.perf_counter() - started) / saves


def _queries_of_one_save(customer) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from customers.services import customer_save

    customer.telephone = "0113 496 9999"
    with CaptureQueriesContext(connection) as captured:
        customer_save(customer=customer)
    return [q["sql"] for q in captured.captured_queries]


def _shape(sql: str) -> str:
    # Savepoint names (s<thread>_x<n>) differ from one save to the next: not a difference.
    return re.sub(r"'[^']*'|\b\d+\b|\bs\d+_x\d+\b", "?", sql)[:160]


def _extra(on: list[str], off: list[str]) -> list[str]:
    """The statements of the save with the integrations on that the save without lacks."""
    extra = Counter(_shape(q) for q in on)
    extra.subtract(_shape(q) for q in off)
    return [sql for sql, n in extra.items() for _ in range(n) if n > 0]


def _messages_of_saves(customer, broker: Broker, saves: int) -> tuple[float, float]:
    """Messages per save: as sent, and as found in the queue."""
    sent, queued = broker.sent, broker.queued()
    _time_saves(customer, saves)
    return (broker.sent - sent) / saves, (broker.queued() - queued) / saves


def run(saves: int = 200, rounds: int = 7, broker_url: str = BROKER_URL) -> dict:
    """Measure; the dict ``bench/run.py`` tabulates."""
    os.environ["DJANGO_DEBUG"] = "false"
    django_setup(DATABASE)
    from billing.models import BillingPlatform
    from connectors.base import registered
    from connectors.choices import Entity
    from connectors.engine.entity_settings import entity_settings_ensure
    from connectors.models import SyncJob
    from connectors.selectors import exporting_platforms

    broker = Broker(broker_url, QUEUE)
    entity_settings_ensure()
    codes = list(registered())
    was = dict(
        BillingPlatform.objects.filter(code__in=codes).values_list("code", "integration_enabled")
    )
    customer = _customer()
    first_job = SyncJob.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    off, on = [], []
    try:
        _integrations(False, codes)
        _time_saves(customer, saves // 4)  # warm up
        for _ in range(rounds):
            _integrations(False, codes)
            off.append(_time_saves(customer, saves))
            _integrations(True, codes)
            on.append(_time_saves(customer, saves))
        _integrations(False, codes)
        queries_off = _queries_of_one_save(customer)
        _integrations(True, codes)
        queries_on = _queries_of_one_save(customer)
        exporting = exporting_platforms(Entity.CUSTOMER)
        sent_per_save, queued_per_save = _messages_of_saves(customer, broker, 20)
    finally:
        broker.close()
        for code, enabled in was.items():
            BillingPlatform.objects.filter(code=code).update(integration_enabled=enabled)
        SyncJob.objects.filter(pk__gt=first_job).delete()  # the outbox rows the saves made
    best_off, best_on = min(off), min(on)
    return {
        "customer": str(customer),
        "sites": customer.sites.count(),
        "contacts": customer.contacts.count(),
        "integrations": codes,
        "saves_per_round": saves,
        "rounds": rounds,
        "off_ms": round(best_off * 1000, 3),
        "on_ms": round(best_on * 1000, 3),
        "extra_ms": round((best_on - best_off) * 1000, 3),
        "ratio": round(best_on / best_off, 3),
        "queries_off": len(queries_off),
        "queries_on": len(queries_on),
        "extra_queries": len(queries_on) - len(queries_off),
        "extra_query_sql": _extra(queries_on, queries_off),
        "broker": broker_url,
        "messages_per_save": sent_per_save,
        "messages_queued_per_save": queued_per_save,
        "exporting_customers": exporting,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--broker", default=BROKER_URL, help="the Redis the saves publish to")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    result = run(options.saves, options.rounds, options.broker)
    if options.json:
        print(json.dumps(result, indent=2))
        return
    r = result
    print(
        f"Saving {r['customer']} ({r['sites']} sites, {r['contacts']} contacts), best of "
        f"{r['rounds']} rounds of {r['saves_per_round']} saves:"
    )
    print(f"  integrations off  {r['off_ms']:.3f} ms a save, {r['queries_off']} queries")
    print(
        f"  integrations on   {r['on_ms']:.3f} ms a save, {r['queries_on']} queries"
        f"  ({', '.join(r['integrations'])})"
    )
    print(
        f"  = {r['ratio']:.2f}x; {r['extra_ms']:+.3f} ms (target < 2 ms),"
        f" {r['extra_queries']:+d} queries (target <= 2)"
    )
    for sql in r["extra_query_sql"]:
        print(f"    {sql}")
    print(
        f"  publishing to {r['broker']}: {r['messages_per_save']:g} message(s) a save"
        f" ({r['messages_queued_per_save']:g} in the queue), for the customer's jobs on"
        f" {', '.join(r['exporting_customers'])} (target: one message per transaction at most)"
    )


if __name__ == "__main__":
    main()
