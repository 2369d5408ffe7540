"""A real Celery worker process runs sync jobs end to end, and the sweeper covers a broker outage.

The worker is ``celery worker`` in its own process, with the test settings,
against the pytest test database and the local Redis, on a queue of its own;
it reaches the fake platform's emulator served by this process's live
server. It needs PostgreSQL (a second process cannot open SQLite's in-memory
test database) and a Redis that answers; without either the tests skip,
saying which.
"""

import logging
import re

import pytest
from django.db import connection

from connectors.choices import FINISHED_STATUSES, Entity, JobStatus, Operation
from connectors.engine.sweep import sync_sweep
from connectors.models import Binding, SyncJob
from tests.connectors.fake import PLATFORM
from tests.connectors.worker_helpers import (
    REDIS_URL,
    CeleryWorker,
    celery_publishing,
    closed_port,
    queue_length,
    wait_for,
)
from tests.factories import CustomerFactory

# Booting a worker (Django, Celery) and running one job: generous, still bounded.
WORKER_TIMEOUT = 60

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: the worker is a separate process, which cannot open SQLite's "
    "in-memory test database",
)


@pytest.fixture
def celery_worker(fake_platform, live_server, worker_queue, tmp_path):
    """A running worker on ``worker_queue``, reaching the emulator at the live server."""
    worker = CeleryWorker(
        queue=worker_queue,
        broker_url=REDIS_URL,
        sandbox_url=live_server.url,
        log_path=tmp_path / "worker.log",
    )
    worker.start()
    yield worker
    worker.stop()


def finished_job(job: SyncJob, worker: CeleryWorker) -> SyncJob:
    def probe():
        job.refresh_from_db()
        return job if job.status in FINISHED_STATUSES else None

    return wait_for(probe, timeout=WORKER_TIMEOUT, interval=0.2, describe=worker.describe)


def test_a_saved_customer_is_synced_end_to_end_by_a_real_celery_worker(
    fake_platform, celery_worker, publishing_to_worker
):
    customer = CustomerFactory(name="Worker Ltd")
    job = SyncJob.objects.get(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=customer.pk)

    job = finished_job(job, celery_worker)

    assert job.status == JobStatus.SUCCEEDED, job.last_error
    assert job.operation == Operation.INSERTED
    accounts = list(fake_platform.state["accounts"].values())
    assert [(a["reference"], a["name"]) for a in accounts] == [(f"C{customer.pk}", "Worker Ltd")]
    binding = Binding.objects.get(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=customer.pk)
    assert binding.external_id == str(accounts[0]["id"])
    # The worker process ran it, not this one (publishing is not eager here).
    assert re.search(r"Task connectors\.job_process\[[-\w]+\] succeeded", celery_worker.log())
    assert job.attempt_log.filter(method="POST", status_code=201).count() == 1


def test_the_sweeper_delivers_a_job_whose_publish_failed_while_the_broker_was_down(
    fake_platform, celery_worker, worker_queue, settings, caplog
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    down = f"redis://127.0.0.1:{closed_port()}/5"
    with (
        celery_publishing(broker_url=down, queue=worker_queue),
        caplog.at_level(logging.ERROR, logger="connectors.engine.publish"),
    ):
        customer = CustomerFactory(name="Outage Ltd")

    # The change committed with its job; only the publish failed, and said so.
    assert "Could not publish the sync of fake customer" in caplog.text
    job = SyncJob.objects.get(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=customer.pk)
    assert job.status == JobStatus.PENDING
    assert job.published_at is None
    assert queue_length(worker_queue) == 0
    assert fake_platform.state["accounts"] == {}

    settings.SYNC_PUBLISH_GRACE = 0  # due at once, rather than after a minute
    with celery_publishing(broker_url=REDIS_URL, queue=worker_queue):
        swept = sync_sweep()

    assert swept == {"released": 0, "published": 1}
    job = finished_job(job, celery_worker)
    assert job.status == JobStatus.SUCCEEDED, job.last_error
    assert [a["name"] for a in fake_platform.state["accounts"].values()] == ["Outage Ltd"]
