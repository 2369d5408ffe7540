"""The sweeper: jobs of dead workers are released, due jobs nobody took are published again."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from connectors import tasks
from connectors.choices import Entity, JobStatus
from connectors.engine.claim import job_claim
from connectors.engine.sweep import sync_sweep
from connectors.models import SyncJob
from customers.models import Customer
from tests.connectors.engine_helpers import integration_off, job_of, jobs_of
from tests.connectors.fake import PLATFORM
from tests.factories import CustomerFactory

GRACE = 60.0


@pytest.fixture(autouse=True)
def grace(settings):
    settings.SYNC_PUBLISH_GRACE = GRACE


def queued(*, due_ago: float, published_ago: float | None = None, name: str = "") -> SyncJob:
    """A customer with a pending job due ``due_ago`` seconds ago."""
    customer = CustomerFactory(**({"name": name} if name else {}))
    now = timezone.now()
    SyncJob.objects.filter(object_id=customer.pk, entity=Entity.CUSTOMER).update(
        next_attempt_at=now - timedelta(seconds=due_ago),
        published_at=None if published_ago is None else now - timedelta(seconds=published_ago),
    )
    return job_of(customer)


def keys(calls) -> list[int]:
    return [object_id for _, _, object_id, _ in calls]


def test_a_job_whose_lease_passed_is_released_unpublished_attempt_uncounted_and_published(
    fake_platform, publish_calls
):
    job = queued(due_ago=0)
    claimed = job_claim(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=job.object_id)
    SyncJob.objects.filter(pk=job.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    live = queued(due_ago=0)
    job_claim(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=live.object_id)
    publish_calls.clear()

    swept = sync_sweep()

    job.refresh_from_db()
    assert swept == {"released": 1, "published": 1}
    assert (job.status, job.attempts, job.locked_by, job.locked_until) == (
        JobStatus.PENDING,
        0,
        "",
        None,
    )
    assert job.last_error == f"The worker {claimed.locked_by} stopped without finishing."
    assert job.published_at is not None
    assert keys(publish_calls) == [job.object_id]
    live.refresh_from_db()
    assert live.status == JobStatus.IN_FLIGHT  # its lease still runs


def test_a_released_job_merges_into_the_records_newer_pending_job(fake_platform, publish_calls):
    job = queued(due_ago=0)
    job_claim(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=job.object_id)
    SyncJob.objects.filter(pk=job.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    customer = Customer.objects.get(pk=job.object_id)
    customer.save()  # a change meanwhile: a new pending job
    newer = jobs_of(customer)[-1]

    assert sync_sweep()["released"] == 1

    job.refresh_from_db()
    assert job.status == JobStatus.SKIPPED
    assert f"Merged into the pending job #{newer.pk}" in job.last_error
    assert [j.status for j in jobs_of(customer)] == [JobStatus.SKIPPED, JobStatus.PENDING]


def test_due_jobs_nobody_took_are_republished_once_per_grace_period(fake_platform, publish_calls):
    stale = queued(due_ago=2 * GRACE)
    recent = queued(due_ago=GRACE / 2)  # its own publish may still be on its way
    republished_long_ago = queued(due_ago=3 * GRACE, published_ago=2 * GRACE)
    republished_lately = queued(due_ago=3 * GRACE, published_ago=GRACE / 2)
    publish_calls.clear()

    first = sync_sweep()
    second = sync_sweep()

    assert first == {"released": 0, "published": 2}
    assert sorted(keys(publish_calls)) == sorted([stale.object_id, republished_long_ago.object_id])
    assert second == {"released": 0, "published": 0}  # within the grace period: not again
    for job in (stale, republished_long_ago):
        job.refresh_from_db()
        assert job.published_at is not None
    for job in (recent, republished_lately):
        assert keys(publish_calls).count(job.object_id) == 0


def test_the_sweeper_publishes_at_most_a_batch_oldest_first(fake_platform, settings, publish_calls):
    settings.SYNC_SWEEP_BATCH = 2
    newest = queued(due_ago=2 * GRACE)
    oldest = queued(due_ago=4 * GRACE)
    middle = queued(due_ago=3 * GRACE)
    publish_calls.clear()

    assert sync_sweep()["published"] == 2

    assert keys(publish_calls) == [oldest.object_id, middle.object_id]
    assert keys(publish_calls).count(newest.object_id) == 0


def test_the_sweeper_delivers_a_job_whose_publish_failed_with_the_broker_down(
    fake_platform, settings, monkeypatch, caplog
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with integration_off():
        customer = CustomerFactory(name="Outage Ltd")
    monkeypatch.setattr(tasks.job_process_task, "apply", broker_down)
    with caplog.at_level(logging.ERROR, logger="connectors.engine.publish"):
        customer.name = "Outage Again Ltd"
        customer.save()

    # The change committed with its job; only the publish failed, and said so.
    assert "Could not publish the sync of fake customer" in caplog.text
    assert job_of(customer).status == JobStatus.PENDING
    assert fake_platform.calls() == []

    monkeypatch.undo()  # the broker is back
    settings.SYNC_PUBLISH_GRACE = 0  # due at once, rather than after a minute

    assert sync_sweep() == {"released": 0, "published": 1}
    assert job_of(customer).status == JobStatus.SUCCEEDED
    assert [a["name"] for a in fake_platform.state["accounts"].values()] == ["Outage Again Ltd"]
