"""Fixtures of the fault tests: Abillity's emulator over real HTTP, a private Redis, workers.

The emulator is served by pytest-django's live server (a real HTTP server thread
on loopback); the workers reach it through ``SANDBOX_BASE_URL`` and the tests read
its state in-process. Each test gets a Redis server of its own on a free loopback
port (never the machine's shared one, which other runs use), a queue, and real
``celery worker`` processes against the PostgreSQL test database; the
finalizers end what they started, workers before their broker.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest

import connectors.abillity.sync  # noqa: F401  (registers the connector and emulator)
from billing.models import BillingPlatform
from connectors.abillity.sandbox import PLATFORM
from connectors.engine.entity_settings import entity_settings_ensure
from connectors.sandbox import emulator_for
from tests.connectors.worker_helpers import CeleryWorker, celery_publishing

from .helpers import RedisServer, wait_ready


@pytest.fixture
def abillity(transactional_db, live_server, settings):
    """The Abillity integration on (the other platforms off), its emulator reset."""
    settings.SANDBOX_BASE_URL = live_server.url
    BillingPlatform.objects.update_or_create(
        code=PLATFORM, defaults={"name": "Abillity", "integration_enabled": True}
    )
    BillingPlatform.objects.exclude(code=PLATFORM).update(integration_enabled=False)
    entity_settings_ensure()
    emulator = emulator_for(PLATFORM)
    emulator.reset()
    yield emulator
    emulator.reset()


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of this test's own on a free loopback port, stopped after."""
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server (to run a Redis of the test's own): not installed")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def queue() -> str:
    """Celery's default queue: the Redis is the test's own, and what the workers publish
    themselves (retries, a busy record's next look, a customer's sites) goes there too."""
    return "celery"


@pytest.fixture
def start_workers(abillity, live_server, private_redis, queue, tmp_path):
    """Start ``count`` workers on the private Redis and the test's queue; all stopped after.

    ``environment`` adds settings for the workers (the test settings otherwise); ``pool``
    is Celery's pool and concurrency (solo, 1 otherwise).
    Returns them once each says it is ready.
    """
    started: list[CeleryWorker] = []

    def start(
        count: int,
        environment: dict[str, str] | None = None,
        pool: tuple[str, int] = ("solo", 1),
    ) -> list[CeleryWorker]:
        workers = [
            CeleryWorker(
                queue=queue,
                broker_url=private_redis.url,
                sandbox_url=live_server.url,
                log_path=tmp_path / f"worker-{len(started) + n + 1}.log",
                environment=environment,
                name=f"{queue}-{len(started) + n + 1}",
                pool=pool,
            )
            for n in range(count)
        ]
        started.extend(workers)
        for worker in workers:
            worker.start()
        wait_ready(workers)
        return workers

    yield start
    for worker in started:  # all asked to stop first: their warm shutdowns overlap
        if worker.running():
            worker.process.terminate()
    for worker in started:
        worker.stop()


@pytest.fixture
def publishing(settings, private_redis, queue) -> Callable[[], None]:
    """This process publishes to the private Redis, on the workers' queue (not eagerly)."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with celery_publishing(broker_url=private_redis.url, queue=queue):
        yield
