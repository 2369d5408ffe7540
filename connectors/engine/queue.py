"""The queue: a record's pending job, made on request, and jobs put back in it.

Owns the manual request (``job_request``: a staff or API sync of one record), the
initial sync events that let a customer's changes sync (seed 000), finding a record's
pending job, and moving a job back to pending, merging it into the record's pending
job when there is one (a record has at most one: a partial unique index).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..base import connector_for
from ..choices import Entity, JobStatus
from ..errors import ConfigurationError, PermanentError
from ..models import InitialSyncEvent, SyncJob
from ..redaction import redact
from ..selectors import platform_exports
from .publish import publish_on_commit
from .scope import job_memo


def initial_sync_events_record(*, customer_ids: Iterable[int], event: str) -> None:
    """Remember that one of seed 000's initial sync events happened for these customers
    (the first one is kept): from then on their saves sync (``initial_sync_happened``)."""
    now = timezone.now()
    InitialSyncEvent.objects.bulk_create(
        [InitialSyncEvent(customer_id=pk, event=event, happened_at=now) for pk in customer_ids],
        ignore_conflicts=True,
    )


def initial_sync_happened(customer_id: int) -> bool:
    """Whether a customer had one of seed 000's initial sync events (read once per job)."""
    return job_memo(
        f"initial sync event {customer_id}",
        lambda: InitialSyncEvent.objects.filter(customer_id=customer_id).exists(),
    )


def job_request(
    *,
    platform: str,
    entity: str,
    object_id: int,
    reason: str,
    user: Any = None,
    force: bool = False,
) -> SyncJob:
    """The pending job of a record (made if need be), published after commit.

    For manual syncs: unlike ``changes_enqueue`` it returns the job, and it
    refuses a platform or entity that is not exporting, with a message.
    """
    connector = connector_for(platform)
    if entity not in connector.entities:
        raise PermanentError(f"{connector.name} does not take {entity} records.")
    if not platform_exports(platform, entity):
        raise ConfigurationError(
            f"The {connector.name} integration is off, or its {entity} entity is inactive "
            "or not exported (see Billing platforms and Entity settings)."
        )
    with transaction.atomic():
        if entity == Entity.CUSTOMER:
            # Seed 000: a manual sync is an initial sync event.
            initial_sync_events_record(
                customer_ids=[object_id], event=InitialSyncEvent.Event.MANUAL_SYNC
            )
        job = pending_job(platform, entity, object_id)
        if job is None:
            try:
                with transaction.atomic():
                    job = SyncJob.objects.create(
                        platform=platform,
                        entity=entity,
                        object_id=object_id,
                        reason=reason[:200],
                        requested_by=user if getattr(user, "pk", None) else None,
                        force=force,
                        next_attempt_at=timezone.now(),
                    )
            except IntegrityError:
                job = pending_job(platform, entity, object_id)
                assert job is not None  # the conflict was a pending job of this record
        if force and not job.force:
            SyncJob.objects.filter(pk=job.pk).update(force=True)
            job.force = True
        now = timezone.now()
        if job.next_attempt_at > now and user is not None:
            # Staff asked for it now: do not wait out a backoff.
            SyncJob.objects.filter(pk=job.pk).update(next_attempt_at=now)
            job.next_attempt_at = now
        publish_on_commit(platform, entity, object_id)
    return job


def pending_job(platform: str, entity: str, object_id: int) -> SyncJob | None:
    """The record's pending job, if it has one (it has at most one)."""
    return SyncJob.objects.filter(
        platform=platform, entity=entity, object_id=object_id, status=JobStatus.PENDING
    ).first()


def job_move_to_pending(job: SyncJob, *, reset_attempts: bool = False) -> SyncJob | None:
    """Save ``job`` as pending; if the record has a pending job already, merge into it
    and mark this one skipped. Returns the job it merged into, or None."""
    job.status = JobStatus.PENDING
    job.finished_at = None
    if reset_attempts:
        job.attempts = 0
    try:
        with transaction.atomic():
            job.save()
        return None
    except IntegrityError:
        pass
    with transaction.atomic():
        other = (
            SyncJob.objects.select_for_update()
            .filter(
                platform=job.platform,
                entity=job.entity,
                object_id=job.object_id,
                status=JobStatus.PENDING,
            )
            .exclude(pk=job.pk)
            .first()
        )
        if other is None:  # it finished meanwhile; try once more
            job.save()
            return None
        other.attempts = max(other.attempts, job.attempts)
        other.next_attempt_at = max(other.next_attempt_at, job.next_attempt_at)
        other.force = other.force or job.force
        other.save(update_fields=["attempts", "next_attempt_at", "force", "updated_at"])
        SyncJob.objects.filter(pk=job.pk).update(
            status=JobStatus.SKIPPED,
            finished_at=timezone.now(),
            locked_until=None,
            locked_by="",
            last_error=redact(f"{job.last_error} Merged into the pending job #{other.pk}.".strip()),
        )
    return other
