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
