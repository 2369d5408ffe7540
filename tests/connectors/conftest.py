"""Fixtures of the sync engine tests: the fake platform served over real HTTP."""

import socket

import pytest

from billing.models import BillingPlatform
from connectors.engine import publish
from connectors.engine.entity_settings import entity_settings_ensure
from connectors.sandbox import emulator_for
from tests.connectors.fake import PLATFORM
from tests.connectors.worker_helpers import (
    REDIS_URL,
    celery_publishing,
    queue_delete,
    redis_problem,
    unique_queue,
)


@pytest.fixture
def fake_emulator():
    emulator = emulator_for(PLATFORM)
    emulator.reset()
    yield emulator
    emulator.reset()


@pytest.fixture
def fake_platform(transactional_db, live_server, settings, fake_emulator):
    """The fake platform's integration on, its emulator served by a live HTTP server."""
    settings.SANDBOX_BASE_URL = live_server.url
    BillingPlatform.objects.update_or_create(
        code=PLATFORM, defaults={"name": "Fake platform", "integration_enabled": True}
    )
    entity_settings_ensure()
    return fake_emulator


@pytest.fixture
def publish_calls(monkeypatch):
    """The engine's task publishes, recorded instead of sent (nothing runs on commit).

    Each call is (platform, entity, object id, countdown): the tests of what is
    queued and when look at these, and run jobs themselves.
    """
    calls: list[tuple[str, str, int, float]] = []

    def record(platform: str, entity: str, object_id: int, *, countdown: float = 0) -> bool:
        calls.append((platform, entity, object_id, countdown))
        return True

    def record_each(keys: list[tuple[str, str, int]]) -> bool:
        # A transaction's records (one message with a broker): each is published now.
        return all([record(*key) for key in keys])

    monkeypatch.setattr(publish, "job_publish", record)
    monkeypatch.setattr(publish, "jobs_publish", record_each)
    return calls


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- a real broker -------------------------------------------------------------------------
@pytest.fixture
def worker_queue():
    """A queue of this test's own on the test Redis, emptied and removed after."""
    problem = redis_problem()
    if problem:
        pytest.skip(f"needs Redis, a real broker: {problem}")
    queue = unique_queue()
    yield queue
    queue_delete(queue)


@pytest.fixture
def publishing_to_worker(settings, worker_queue):
    """This process publishes to the test Redis, on ``worker_queue``, not eagerly."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with celery_publishing(broker_url=REDIS_URL, queue=worker_queue):
        yield
