"""Retention of the Sync History: what is pruned, and what is always kept.

Every job and each of its HTTP attempts is a row; an initial sync of a large customer base
writes millions of them (an attempt row is about 390 bytes). The history is bounded by age
(``SYNC_HISTORY_RETENTION_DAYS``, 0 keeps everything), pruned by the Celery beat task
``connectors.sync_history_prune`` every ``SYNC_HISTORY_PRUNE_INTERVAL`` seconds and by
``manage.py prune_sync_history``.

Pruned, once older than the retention age (by when they finished, else last changed):

- a finished job of a record that has a newer finished job (its attempts go with it);
- an HTTP attempt row, whatever its job, unless that job is in the error queue.

Always kept, whatever their age:

- each record's latest finished job: its last operation, last attempt, external id and
  last error stay in the Sync History (the record's latest state);
- every job in the error queue (failed or aborted, not resolved), with all its attempts:
  staff still have to act on it;
- a job that a job in the error queue waits on (``blocked_by``): the queue names it;
- pending and in-flight jobs.

Rows go in primary-key ranges of ``SYNC_HISTORY_PRUNE_BATCH`` ids, each its own short
transaction, so a prune reads each row once, never holds long locks, and can be stopped
and resumed at any point.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, Min, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from .choices import ERROR_STATUSES, FINISHED_STATUSES
from .models import SyncAttempt, SyncJob


@dataclass(frozen=True)
class PruneResult:
    """What a prune removed (or, in a dry run, would remove), and the cutoff it used."""

    cutoff: datetime | None
    jobs: int
    attempts: int
    dry_run: bool = False

    @property
    def total(self) -> int:
        return self.jobs + self.attempts


def retention_cutoff(*, days: float | None = None, now: datetime | None = None) -> datetime | None:
    """The moment before which finished history may go (None: keep everything)."""
    days = settings.SYNC_HISTORY_RETENTION_DAYS if days is None else days
    if days is None or days <= 0:
        return None
    return (now or timezone.now()) - timedelta(days=days)


def _in_error_queue() -> Q:
    return Q(status__in=ERROR_STATUSES, resolved_at__isnull=True)


def prunable_jobs(cutoff: datetime) -> QuerySet[SyncJob]:
    """Finished jobs older than ``cutoff`` that are not a record's latest state, not in the
    error queue and not waited on by a job in it (see the module's rules)."""
    newer_finished = SyncJob.objects.filter(
        platform=OuterRef("platform"),
        entity=OuterRef("entity"),
        object_id=OuterRef("object_id"),
        status__in=FINISHED_STATUSES,
        pk__gt=OuterRef("pk"),
    )
    waited_on = SyncJob.objects.filter(_in_error_queue(), blocked_by=OuterRef("pk"))
    return (
        SyncJob.objects.filter(status__in=FINISHED_STATUSES)
        .annotate(ended_at=Coalesce("finished_at", "updated_at"))
        .filter(ended_at__lt=cutoff)
        .exclude(_in_error_queue())
        .filter(Exists(newer_finished))
        .exclude(Exists(waited_on))
    )


def prunable_attempts(cutoff: datetime) -> QuerySet[SyncAttempt]:
    """Attempt rows older than ``cutoff`` whose job is not in the error queue."""
    return SyncAttempt.objects.filter(started_at__lt=cutoff).exclude(
        job__status__in=ERROR_STATUSES, job__resolved_at__isnull=True
    )


def _windows(queryset: QuerySet, *, upper: int | None, size: int) -> Iterator[tuple[int, int]]:
    """Primary-key ranges [low, high) of ``size`` ids, from the lowest up to ``upper``: each
    prune step reads one range through the primary key, so a prune reads each row once
    however large the history is (never "the first N prunable rows" again and again)."""
    if upper is None:
        return
    low = queryset.aggregate(low=Min("pk"))["low"]
    if low is None:
        return
    while low <= upper:
        yield low, low + size
        low += size


def sync_history_prune(
    *,
    days: float | None = None,
    batch: int | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    now: datetime | None = None,
) -> PruneResult:
    """Remove finished history older than the retention age (``days``, else the setting).

    ``progress`` is called with the number of rows each step removed. A dry run counts
    what would go and changes nothing.
    """
    cutoff = retention_cutoff(days=days, now=now)
    if cutoff is None:
        return PruneResult(cutoff=None, jobs=0, attempts=0, dry_run=dry_run)
    size = batch or settings.SYNC_HISTORY_PRUNE_BATCH
    # A job finished before the cutoff was created before it; attempts follow their jobs.
    newest_job = SyncJob.objects.filter(created_at__lt=cutoff).aggregate(top=Max("pk"))["top"]
    jobs_removed = attempts_removed = 0
    for low, high in _windows(SyncJob.objects.all(), upper=newest_job, size=size):
        ids = list(
            prunable_jobs(cutoff).filter(pk__gte=low, pk__lt=high).values_list("pk", flat=True)
        )
        if not ids:
            continue
        if dry_run:
            jobs_removed += len(ids)
            attempts_removed += SyncAttempt.objects.filter(job_id__in=ids).count()
            continue
        with transaction.atomic():
            attempts, _ = SyncAttempt.objects.filter(job_id__in=ids).delete()
            # A resolved failure may still name one of these as its blocker.
            SyncJob.objects.filter(blocked_by_id__in=ids).update(blocked_by=None)
            _, removed = SyncJob.objects.filter(pk__in=ids).delete()
        jobs_removed += removed.get(SyncJob._meta.label, 0)
        attempts_removed += attempts + removed.get(SyncAttempt._meta.label, 0)
        if progress is not None:
            progress(len(ids))
    newest_attempt = SyncAttempt.objects.filter(job__created_at__lt=cutoff).aggregate(
        top=Max("pk")
    )["top"]
    for low, high in _windows(SyncAttempt.objects.all(), upper=newest_attempt, size=size):
        window = prunable_attempts(cutoff).filter(pk__gte=low, pk__lt=high)
        if dry_run:  # the attempts of the jobs that would go are counted with them
            attempts_removed += window.exclude(job__in=prunable_jobs(cutoff).values("pk")).count()
            continue
        with transaction.atomic():
            attempts, _ = window.delete()
        attempts_removed += attempts
        if progress is not None and attempts:
            progress(attempts)
    return PruneResult(cutoff=cutoff, jobs=jobs_removed, attempts=attempts_removed, dry_run=dry_run)
