"""The error queue in bulk, for operations: select its jobs and put them back in the queue
(``manage.py retry_failed``), each through ``engine.actions.job_retry`` as staff's Retry does.

A filter that cannot apply (an unknown platform or error kind, a named job that is not in
the error queue) is refused with ``PrepareRefused`` naming it, before anything changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models, transaction

from .base import connector_for
from .choices import ErrorKind
from .engine.actions import job_retry
from .models import SyncJob
from .prepare import PrepareRefused
from .selectors import error_queue


@dataclass(frozen=True)
class Retried:
    """One error-queue job put back in the queue (or, in a dry run, that would be)."""

    job_id: int
    platform: str
    entity: str
    object_id: int
    record: str
    status: str
    kind: str
    error: str
    requeued_as: int | None  # the pending job that carries the retry (None in a dry run)

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": self.job_id,
            "platform": self.platform,
            "entity": self.entity,
            "object_id": self.object_id,
            "record": self.record,
            "status": self.status,
            "kind": self.kind,
            "error": self.error,
            "requeued_as": self.requeued_as,
        }


def error_queue_select(
    *,
    platform: str | None = None,
    entity: str | None = None,
    kind: str | None = None,
    job_ids: list[int] | None = None,
) -> models.QuerySet[SyncJob]:
    """Error-queue jobs matching the filters, oldest first.

    Named jobs (``job_ids``) must all be in the error queue and match the
    other filters, or ``PrepareRefused`` names those that are not.
    """
    if platform is not None:
        connector_for(platform)
    if kind is not None and (kind not in ErrorKind.values or not kind):
        kinds = ", ".join(value for value in ErrorKind.values if value)
        raise PrepareRefused(f'Unknown error kind "{kind}"; the kinds are {kinds}.')
    jobs = error_queue()
    if platform is not None:
        jobs = jobs.filter(platform=platform)
    if entity is not None:
        jobs = jobs.filter(entity=entity)
    if kind is not None:
        jobs = jobs.filter(error_kind=kind)
    if job_ids:
        wanted = set(job_ids)
        jobs = jobs.filter(pk__in=wanted)
        missing = wanted - set(jobs.values_list("pk", flat=True))
        if missing:
            existing = set(SyncJob.objects.filter(pk__in=missing).values_list("pk", flat=True))
            problems = [
                f"#{pk} is not in the error queue or does not match the filters"
                if pk in existing
                else f"#{pk} does not exist"
                for pk in sorted(missing)
            ]
            raise PrepareRefused("Cannot retry: " + "; ".join(problems) + ".")
    return jobs.order_by("pk")


def error_queue_retry(
    *,
    platform: str | None = None,
    entity: str | None = None,
    kind: str | None = None,
    job_ids: list[int] | None = None,
    dry_run: bool = False,
    reason: str = "retry_failed command",
) -> list[Retried]:
    """Put the matching error-queue jobs back in the queue now (``engine.actions.job_retry``).

    Each retry commits on its own, so its task is published at once. A job
    whose record has a pending job already merges into it. Returns what was
    retried, oldest first.
    """
    jobs = error_queue_select(platform=platform, entity=entity, kind=kind, job_ids=job_ids)
    retried: list[Retried] = []
    for pk in list(jobs.values_list("pk", flat=True)):
        with transaction.atomic():
            job = error_queue().select_for_update().filter(pk=pk).first()
            if job is None:  # resolved meanwhile (a later sync succeeded, staff acted)
                continue
            described = {
                "job_id": job.pk,
                "platform": job.platform,
                "entity": job.entity,
                "object_id": job.object_id,
                "record": job.object_repr,
                "status": job.status,
                "kind": job.error_kind,
                "error": job.last_error,
            }
            if dry_run:
                retried.append(Retried(**described, requeued_as=None))
                continue
            # Locked and in the error queue, so job_retry accepts it.
            target = job_retry(job, reason=reason)
        retried.append(Retried(**described, requeued_as=target.pk))
    return retried
