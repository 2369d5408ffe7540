"""What every benchmark shares: Django set up on a PostgreSQL database of its own.

A benchmark never touches the database the product uses: it works in
``layer_sync_bench`` (or ``BENCH_DATABASE_URL``), made and migrated on first use,
next to the server ``DATABASE_URL`` names (default: the local PostgreSQL).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/layer_sync_bench"
# The Redis the benchmarks publish Celery messages to (the sync's workers read it).
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")


def django_setup(database: str | None = None, *, migrate: bool = True) -> str:
    """Point Django at the benchmark database (created and migrated if need be).

    ``database`` names another database on the same server, for a benchmark whose data
    must not meet the others' (the sync benchmark syncs every customer there is).
    ``migrate=False`` for the helper processes a benchmark starts once it has migrated.
    """
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("The benchmarks compare against PostgreSQL: BENCH_DATABASE_URL must be one.")
    if database is not None:
        url = f"{url.rsplit('/', 1)[0]}/{database}"
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "layer_sync.settings")
    os.environ.pop("CELERY_BROKER_URL", None)
    _database_ensure(url)
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    return url


def _database_ensure(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')


def celery_queue_conf(queue: str) -> dict[str, str]:
    """Celery settings that send every task to ``queue`` (a benchmark's own queue)."""
    return {
        "task_default_queue": queue,
        "task_default_exchange": queue,
        "task_default_routing_key": queue,
    }


class Broker:
    """This process publishing Celery tasks to a real Redis, on a queue of the benchmark's
    own (emptied at the start and by ``close``), its messages counted as sent."""

    def __init__(self, url: str, queue: str) -> None:
        import redis
        from celery.signals import before_task_publish

        from layer_sync.celery import app

        self.url, self.queue = url, queue
        self.client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        try:
            self.client.ping()
        except redis.RedisError as exc:
            sys.exit(f"The benchmark publishes to Redis: none answers at {url} ({exc}).")
        self.purge()
        self.sent = 0
        app.conf.update(broker_url=url, task_always_eager=False, **celery_queue_conf(queue))
        before_task_publish.connect(self._count, weak=False, dispatch_uid=f"bench_{queue}")

    def _count(self, **kwargs) -> None:
        self.sent += 1

    def queued(self) -> int:
        return int(self.client.llen(self.queue))

    def purge(self) -> None:
        """No message left on the queue (nor delivered and unacknowledged: kombu's)."""
        self.client.delete(self.queue, "unacked", "unacked_index")

    def close(self) -> None:
        self.purge()
        self.client.close()
