"""A job's end: its outcome recorded, or the job put back in the queue.

Owns ``job_finish`` (status, operation, error, and, on success, the record's earlier
failures resolved and the jobs waiting on it requeued), ``job_return_to_pending`` (a
recoverable error or a deferral: the next attempt after a delay) and the reads they
need about a record's other jobs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.utils import timezone

from ..choices import ERROR_STATUSES, ErrorKind, JobStatus, Operation
from ..models import SyncJob
from ..redaction import redact
from . import publish
from .actions import job_retry
from .queue import job_move_to_pending


def job_finish(
    job: SyncJob,
    status: str,
    *,
    operation: str = Operation.NONE,
    error: str = "",
    note: str = "",
    kind: str = ErrorKind.NONE,
    filtered_by: str = "",
    blocked_by_id: int | None = None,
    external_id: str = "",
) -> SyncJob:
    """Record how an in-flight job ended and release it; a success also resolves the
    record's earlier failures and requeues the jobs that were waiting on it."""
    now = timezone.now()
    job.status = status
    job.operation = operation
    job.last_error = redact(error or note)
    job.error_kind = kind
    job.filtered_by = filtered_by
    job.blocked_by_id = blocked_by_id
    job.finished_at = now
    job.locked_until = None
    job.locked_by = ""
    job.external_id = external_id or job.external_id
    if status in (JobStatus.SUCCEEDED, JobStatus.NO_CHANGE):
        earlier, blocked = earlier_failures(job)
        if earlier or blocked:
            # A success takes the record's earlier failures out of the error queue and
            # requeues the jobs that were waiting on this record, with the job's end.
            with transaction.atomic():
                job.save()
                SyncJob.objects.filter(pk__in=earlier).update(resolved_at=now)
                for waiting in blocked:
                    job_retry(waiting, reason=f"its dependency (job #{job.pk}) succeeded")
            return job
    job.save()  # one statement: no transaction around it (two more round trips)
    if blocked_by_id is not None:
        return job_requeue_if_unblocked(job)
    return job


def record_failures(platform: Any, entity: Any, object_id: Any, job_pk: Any) -> QuerySet:
    """A record's jobs in the error queue other than ``job_pk`` (values or ``OuterRef``s)."""
    return SyncJob.objects.filter(
        platform=platform,
        entity=entity,
        object_id=object_id,
        status__in=ERROR_STATUSES,
        resolved_at__isnull=True,
    ).exclude(pk=job_pk)


def jobs_waiting_on(platform: Any, entity: Any, object_id: Any) -> QuerySet:
    """The jobs in the error queue because a job of the record could not be synced first."""
    return SyncJob.objects.filter(
        blocked_by__platform=platform,
        blocked_by__entity=entity,
        blocked_by__object_id=object_id,
        status=JobStatus.FAILED,
        resolved_at__isnull=True,
    )


def earlier_failures(job: SyncJob) -> tuple[list[int], list[SyncJob]]:
    """The record's other jobs in the error queue, and the jobs failed waiting on it
    (one query; the waiting jobs are read whole only when there are some). None of either
    when the claim found none (``job_claim``): nothing to read.

    Read before the job's end is saved: while the job is in flight no other job of its
    record can fail, and a job found failed waiting on the record after its claim is
    requeued by its own end (``job_requeue_if_unblocked``).
    """
    if not getattr(job, "has_followers", True):
        return [], []
    earlier = (
        record_failures(job.platform, job.entity, job.object_id, job.pk)
        .annotate(waiting=Value(False))
        .values_list("pk", "waiting")
        .order_by()
    )
    waiting = (
        jobs_waiting_on(job.platform, job.entity, job.object_id)
        .annotate(waiting=Value(True))
        .values_list("pk", "waiting")
        .order_by()
    )
    rows = list(earlier.union(waiting, all=True))
    blocked_ids = [pk for pk, is_waiting in rows if is_waiting]
    blocked = list(SyncJob.objects.filter(pk__in=blocked_ids)) if blocked_ids else []
    return [pk for pk, is_waiting in rows if not is_waiting], blocked


def job_requeue_if_unblocked(job: SyncJob) -> SyncJob:
    """Requeue a job just failed waiting on another record if that record has moved on
    since (a job of its in flight, or one that succeeded after the blocking one ended):
    that job's end, having read the record's waiting jobs at its claim, would miss it."""
    moved_on = SyncJob.objects.filter(
        platform=OuterRef("platform"), entity=OuterRef("entity"), object_id=OuterRef("object_id")
    ).filter(
        Q(status=JobStatus.IN_FLIGHT)
        | Q(
            status__in=(JobStatus.SUCCEEDED, JobStatus.NO_CHANGE),
            finished_at__gt=OuterRef("finished_at"),
        )
    )
    if SyncJob.objects.filter(pk=job.blocked_by_id).filter(Exists(moved_on)).exists():
        return job_retry(job, reason=f"its dependency (job #{job.blocked_by_id}) moved on")
    return job


def job_return_to_pending(
    job: SyncJob,
    *,
    delay: float,
    note: str,
    kind: str = ErrorKind.NONE,
    count_attempt: bool = True,
) -> SyncJob:
    """Put an in-flight job back in the queue to run after ``delay`` seconds.

    If the record got a new pending job meanwhile (a change while this one was
    in flight), this one merges into it: the newer job carries the retry.
    """
    next_at = timezone.now() + timedelta(seconds=delay)
    job.next_attempt_at = next_at
    job.last_error = redact(note)
    job.error_kind = kind
    job.locked_until = None
    job.locked_by = ""
    if not count_attempt:
        job.attempts = max(job.attempts - 1, 0)
    merged_into = job_move_to_pending(job)
    target = merged_into or job
    if not publish.publishing_eagerly():
        # Eager tasks would run it here, inside this run: the sweeper takes it instead.
        wait = max((target.next_attempt_at - timezone.now()).total_seconds(), 0.0)
        publish.job_publish(target.platform, target.entity, target.object_id, countdown=wait)
    return target
