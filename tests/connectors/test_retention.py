"""Sync History retention: old finished history goes; each record's latest state and the
error queue stay (DESIGN.md: "Sync history is bounded by a retention policy that keeps each
record's latest state and everything in the error queue")."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from connectors import tasks
from connectors.choices import Entity, JobStatus
from connectors.models import SyncAttempt, SyncJob
from connectors.retention import sync_history_prune

pytestmark = pytest.mark.django_db

DAYS = 90
OLD = timedelta(days=DAYS + 5)
RECENT = timedelta(days=DAYS - 5)


def job(
    object_id: int,
    *,
    age: timedelta,
    status: str = JobStatus.SUCCEEDED,
    attempts: int = 2,
    resolved: bool = False,
    blocked_by: SyncJob | None = None,
    entity: str = Entity.CUSTOMER,
) -> SyncJob:
    """A job of record ``object_id`` created and finished ``age`` ago, with its attempts."""
    at = timezone.now() - age
    finished = status not in (JobStatus.PENDING, JobStatus.IN_FLIGHT)
    made = SyncJob.objects.create(
        platform="abillity",
        entity=entity,
        object_id=object_id,
        status=status,
        next_attempt_at=at,
        finished_at=at if finished else None,
        resolved_at=at if resolved else None,
        blocked_by=blocked_by,
    )
    SyncJob.objects.filter(pk=made.pk).update(created_at=at, updated_at=at)
    for n in range(attempts):
        SyncAttempt.objects.create(
            job=made, started_at=at + timedelta(seconds=n), method="POST", path="company"
        )
    return made


def kept(*jobs: SyncJob) -> set[int]:
    return set(SyncJob.objects.filter(pk__in=[j.pk for j in jobs]).values_list("pk", flat=True))


def attempts_of(made: SyncJob) -> int:
    return SyncAttempt.objects.filter(job=made).count()


def test_an_old_finished_job_goes_with_its_attempts_when_its_record_has_a_newer_one():
    old, newer = job(1, age=OLD + timedelta(days=1)), job(1, age=OLD)
    result = sync_history_prune(days=DAYS)
    assert kept(old, newer) == {newer.pk}
    assert result.jobs == 1
    # The old job's 2 attempts with it, and the newer (kept) job's old attempts.
    assert result.attempts == 4
    assert SyncAttempt.objects.count() == 0


def test_each_records_latest_finished_job_is_kept_however_old():
    only = job(1, age=timedelta(days=1000), status=JobStatus.FILTERED)
    sync_history_prune(days=DAYS)
    assert kept(only) == {only.pk}
    assert SyncJob.objects.get(pk=only.pk).status == JobStatus.FILTERED


def test_the_latest_finished_job_is_kept_while_a_newer_job_is_still_pending():
    finished = job(1, age=OLD)
    pending = job(1, age=OLD - timedelta(days=1), status=JobStatus.PENDING, attempts=0)
    sync_history_prune(days=DAYS)
    assert kept(finished, pending) == {finished.pk, pending.pk}


def test_the_error_queue_is_kept_with_every_attempt_however_old():
    failed = job(1, age=OLD + timedelta(days=2), status=JobStatus.FAILED, attempts=3)
    aborted = job(2, age=OLD + timedelta(days=2), status=JobStatus.ABORTED, attempts=3)
    newer_1, newer_2 = job(1, age=OLD), job(2, age=OLD)
    sync_history_prune(days=DAYS)
    everything = {failed.pk, aborted.pk, newer_1.pk, newer_2.pk}
    assert kept(failed, aborted, newer_1, newer_2) == everything
    assert attempts_of(failed) == 3
    assert attempts_of(aborted) == 3


def test_a_resolved_failure_goes_like_any_finished_job():
    resolved = job(1, age=OLD + timedelta(days=1), status=JobStatus.FAILED, resolved=True)
    newer = job(1, age=OLD)
    sync_history_prune(days=DAYS)
    assert kept(resolved, newer) == {newer.pk}


def test_a_job_that_a_job_in_the_error_queue_waits_on_is_kept():
    blocker = job(1, age=OLD + timedelta(days=3), status=JobStatus.FAILED, resolved=True)
    job(1, age=OLD)  # the blocker's record moved on since
    waiting = job(2, age=OLD + timedelta(days=2), status=JobStatus.FAILED, blocked_by=blocker)
    job(2, age=OLD)
    sync_history_prune(days=DAYS)
    assert kept(blocker, waiting) == {blocker.pk, waiting.pk}
    assert SyncJob.objects.get(pk=waiting.pk).blocked_by_id == blocker.pk


def test_a_resolved_job_loses_its_link_to_a_blocker_that_goes():
    blocker = job(1, age=OLD + timedelta(days=3), status=JobStatus.FAILED, resolved=True)
    job(1, age=OLD)
    waited = job(
        2, age=OLD + timedelta(days=2), status=JobStatus.FAILED, resolved=True, blocked_by=blocker
    )
    latest = job(2, age=OLD)
    sync_history_prune(days=DAYS)
    assert kept(blocker, waited, latest) == {latest.pk}


def test_pending_and_in_flight_jobs_are_kept_however_old():
    pending = job(1, age=timedelta(days=400), status=JobStatus.PENDING, attempts=1)
    in_flight = job(2, age=timedelta(days=400), status=JobStatus.IN_FLIGHT, attempts=1)
    job(1, age=OLD)  # a finished job newer than the pending one: the pending one still stays
    sync_history_prune(days=DAYS)
    assert kept(pending, in_flight) == {pending.pk, in_flight.pk}


def test_history_inside_the_retention_age_is_kept():
    first, second = job(1, age=RECENT + timedelta(days=1)), job(1, age=RECENT)
    result = sync_history_prune(days=DAYS)
    assert kept(first, second) == {first.pk, second.pk}
    assert (result.jobs, result.attempts) == (0, 0)
    assert SyncAttempt.objects.count() == 4


def test_records_are_told_apart_by_platform_entity_and_id():
    customer = job(7, age=OLD, entity=Entity.CUSTOMER)
    site = job(7, age=OLD + timedelta(days=1), entity=Entity.SITE)
    sync_history_prune(days=DAYS)
    assert kept(customer, site) == {customer.pk, site.pk}  # each is its record's latest


def test_zero_days_keeps_everything(settings):
    settings.SYNC_HISTORY_RETENTION_DAYS = 0
    old, newer = job(1, age=timedelta(days=5000)), job(1, age=timedelta(days=4000))
    result = sync_history_prune()
    assert result.cutoff is None
    assert kept(old, newer) == {old.pk, newer.pk}


def test_the_setting_is_the_default_age(settings):
    settings.SYNC_HISTORY_RETENTION_DAYS = 10
    old, newer = job(1, age=timedelta(days=12)), job(1, age=timedelta(days=11))
    sync_history_prune()
    assert kept(old, newer) == {newer.pk}


def test_a_dry_run_counts_what_would_go_and_changes_nothing():
    old, newer = job(1, age=OLD + timedelta(days=1)), job(1, age=OLD)
    result = sync_history_prune(days=DAYS, dry_run=True)
    assert (result.jobs, result.attempts, result.dry_run) == (1, 4, True)
    assert kept(old, newer) == {old.pk, newer.pk}
    assert SyncAttempt.objects.count() == 4


@pytest.mark.parametrize("batch", [1, 2, 3, 1000])
def test_the_batch_size_changes_nothing_but_the_transactions(batch):
    latest = []
    for record in range(1, 6):
        for extra_days in (3, 2, 1):
            made = job(record, age=OLD + timedelta(days=extra_days), attempts=1)
        latest.append(made)
    in_queue = job(9, age=OLD + timedelta(days=2), status=JobStatus.FAILED, attempts=1)
    job(9, age=OLD, attempts=1)
    result = sync_history_prune(days=DAYS, batch=batch)
    assert result.jobs == 10
    assert set(SyncJob.objects.filter(object_id__lt=9).values_list("pk", flat=True)) == {
        j.pk for j in latest
    }
    assert kept(in_queue) == {in_queue.pk}
    assert list(SyncAttempt.objects.values_list("job_id", flat=True)) == [in_queue.pk]


def test_progress_is_told_each_step():
    for record in (1, 2):
        job(record, age=OLD + timedelta(days=1))
        job(record, age=OLD)
    steps: list[int] = []
    sync_history_prune(days=DAYS, batch=1, progress=steps.append)
    assert sum(steps) == 2 + 4  # two jobs, then the kept jobs' four old attempts
    assert all(step > 0 for step in steps)


def test_the_command_prunes_and_says_what_it_kept():
    old, newer = job(1, age=OLD + timedelta(days=1)), job(1, age=OLD)
    out = StringIO()
    call_command("prune_sync_history", "--days", str(DAYS), stdout=out)
    assert kept(old, newer) == {newer.pk}
    text = out.getvalue()
    assert "Removed 1 finished job and 4 HTTP attempts older than 90 days" in text
    assert "Kept: each record's latest job and everything in the error queue." in text


def test_the_command_dry_run_and_json():
    old, newer = job(1, age=OLD + timedelta(days=1)), job(1, age=OLD)
    out = StringIO()
    call_command("prune_sync_history", "--days", str(DAYS), "--dry-run", "--json", stdout=out)
    answer = json.loads(out.getvalue())
    assert (answer["jobs"], answer["attempts"], answer["dry_run"]) == (1, 4, True)
    assert kept(old, newer) == {old.pk, newer.pk}


@pytest.mark.parametrize("days", ["0", "-3"])
def test_the_command_refuses_an_age_that_is_not_above_zero(days):
    job(1, age=OLD + timedelta(days=1))
    job(1, age=OLD)
    with pytest.raises(CommandError, match="--days must be above 0"):
        call_command("prune_sync_history", "--days", days, stdout=StringIO())
    assert SyncJob.objects.count() == 2


def test_beat_runs_the_prune_task_on_its_interval(settings):
    entry = django_settings.CELERY_BEAT_SCHEDULE["sync-history-prune"]
    assert entry["task"] == tasks.sync_history_prune_task.name
    assert entry["schedule"] == django_settings.SYNC_HISTORY_PRUNE_INTERVAL
    settings.SYNC_HISTORY_RETENTION_DAYS = DAYS
    old, newer = job(1, age=OLD + timedelta(days=1)), job(1, age=OLD)
    tasks.sync_history_prune_task.apply()
    assert kept(old, newer) == {newer.pk}
