"""Dependencies: a record's dependencies synced first, in this worker, through their jobs.

Owns ``dependency_ensure``: a dependency with no external id (or one to resend, a New
& Cease target) has its own job claimed and run here, inside the running job's scope;
when another worker has it, the dependent job is deferred; when it fails, the
dependent job fails with kind *dependency*, to be requeued when it succeeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone

from ..choices import JobStatus
from ..errors import Deferred, DependencyFailed, PermanentError
from ..models import Binding, SyncJob
from ..selectors import binding_for
from . import run
from .claim import job_claim
from .queue import pending_job
from .scope import current_job_scope

if TYPE_CHECKING:
    from .run import SyncContext

# How deep dependencies may chain (customer → site → contact → asset → charge).
MAX_DEPENDENCY_DEPTH = 6


def dependency_ensure(
    context: SyncContext, entity: str, record: models.Model, *, resync: bool = False
) -> Binding | None:
    """Sync a dependency in this worker before the record that needs it.

    Satisfied when the dependency already has an external id (unless ``resync``: then
    it is synced again, once per running job, whether bound or not). Otherwise its
    pending job (made if missing) is claimed and run here; if another worker
    has it in flight, the dependent job is deferred.
    """
    connector = context.connector
    role = connector.role(entity, record)
    binding = binding_for(context.platform, role, entity, record.pk)
    scope = current_job_scope()
    if resync and scope is not None and (entity, record.pk) in scope.synced:
        return binding
    if not resync and binding is not None and binding.external_id:
        return binding
    if context.depth >= MAX_DEPENDENCY_DEPTH:
        raise PermanentError(f"Dependencies nest deeper than {MAX_DEPENDENCY_DEPTH} levels.")
    # Its pending job, unless it has one (a conflict on the one-pending-job index: kept).
    SyncJob.objects.bulk_create(
        [
            SyncJob(
                platform=context.platform,
                entity=entity,
                object_id=record.pk,
                object_repr=connector.describe(entity, record),
                reason=f"needed first by job #{context.job.pk}",
                next_attempt_at=timezone.now(),
            )
        ],
        ignore_conflicts=True,
    )
    label = f"{entity} {connector.describe(entity, record)}"
    dependency_job = job_claim(platform=context.platform, entity=entity, object_id=record.pk)
    if dependency_job is None:
        # Its job waits out a backoff, or another worker has the record: wait as long.
        waiting = pending_job(context.platform, entity, record.pk)
        wait = settings.SYNC_BUSY_DELAY
        if waiting is not None:
            wait = max(wait, (waiting.next_attempt_at - timezone.now()).total_seconds())
        raise Deferred(f"Waiting for {label} to sync first.", delay=wait)
    finished = run.job_run(dependency_job, depth=context.depth + 1)
    if finished.status in (JobStatus.SUCCEEDED, JobStatus.NO_CHANGE):
        current_job_scope().synced.add((entity, record.pk))
        binding = binding_for(context.platform, role, entity, record.pk)
        if resync or (binding is not None and binding.external_id):
            return binding
        raise PermanentError(f"{label} synced but has no {role} id on {connector.name}.")
    if finished.status == JobStatus.PENDING:
        wait = max((finished.next_attempt_at - timezone.now()).total_seconds(), 1.0)
        raise Deferred(f"Waiting for {label}, which will be retried.", delay=wait)
    reason = finished.filtered_by or finished.last_error or finished.get_status_display()
    raise DependencyFailed(
        f"{label} could not be synced first (job #{finished.pk}: {reason})",
        blocking_job_id=finished.pk,
    )
