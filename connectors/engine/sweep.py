"""The sweep and in-process draining of the queue.

Owns ``sync_sweep`` (Celery beat: jobs of dead workers released, due jobs nobody took
published again) and ``jobs_process_due`` (``sync --process``, the embedded sweeper:
due jobs run here, on a ``concurrent.futures`` thread pool when asked for threads).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone

from ..choices import DEPENDENCY_ORDER, JobStatus
from ..models import SyncJob
from ..redaction import redact
from . import publish, run
from .queue import job_move_to_pending


def sync_sweep() -> dict[str, int]:
    """Release jobs whose lease passed (their worker died) and republish due jobs.

    Run by Celery beat every ``SYNC_SWEEP_INTERVAL`` seconds. A released job
    is published at once. A job published on commit and taken by a worker is
    never swept; one due for longer than ``SYNC_PUBLISH_GRACE`` (its publish
    failed with the broker down, or its message was lost) is published again,
    at most once per grace period.
    """
    now = timezone.now()
    released: list[SyncJob] = []
    for job in SyncJob.objects.filter(status=JobStatus.IN_FLIGHT, locked_until__lt=now):
        job.last_error = redact(f"The worker {job.locked_by or '?'} stopped without finishing.")
        job.locked_until = None
        job.locked_by = ""
        job.next_attempt_at = now
        job.attempts = max(job.attempts - 1, 0)  # the lost run is not the platform's fault
        with transaction.atomic():
            still = (
                SyncJob.objects.select_for_update(skip_locked=True)
                .filter(pk=job.pk, status=JobStatus.IN_FLIGHT, locked_until__lt=now)
                .exists()
            )
            if still:
                released.append(job_move_to_pending(job) or job)
    published = [
        job.pk for job in released if publish.job_publish(job.platform, job.entity, job.object_id)
    ]
    grace = now - timedelta(seconds=settings.SYNC_PUBLISH_GRACE)
    due = list(
        SyncJob.objects.filter(status=JobStatus.PENDING, next_attempt_at__lte=grace)
        .filter(Q(published_at__isnull=True) | Q(published_at__lte=grace))
        .exclude(pk__in=published)
        .order_by("next_attempt_at")
        .values_list("pk", "platform", "entity", "object_id")[: settings.SYNC_SWEEP_BATCH]
    )
    republished = [
        pk
        for pk, platform, entity, object_id in due
        if publish.job_publish(platform, entity, object_id)
    ]
    SyncJob.objects.filter(pk__in=[*published, *republished]).update(published_at=now)
    return {"released": len(released), "published": len(published) + len(republished)}


def jobs_process_due(
    *,
    platform: str | None = None,
    entity: str | None = None,
    limit: int | None = None,
    progress: Any = None,
    threads: int = 1,
) -> dict[str, int]:
    """Run due pending jobs in this process (``sync --process``, the embedded sweeper).

    With ``threads`` above 1, that many jobs run at once, each thread on its own
    database connection (closed when it is done), as that many workers would: a job's
    database work and mapping then overlap another's platform call, and
    ``SYNC_CALLS_PER_PROCESS`` can hold the calls on the wire to fewer.
    """
    jobs = SyncJob.objects.filter(status=JobStatus.PENDING, next_attempt_at__lte=timezone.now())
    if platform:
        jobs = jobs.filter(platform=platform)
    if entity:
        jobs = jobs.filter(entity=entity)
    keys = list(jobs.order_by("next_attempt_at").values_list("platform", "entity", "object_id"))
    if limit is not None:
        keys = keys[:limit]
    keys.sort(key=lambda key: DEPENDENCY_ORDER.get(key[1], 99))
    counts: dict[str, int] = {}
    counted = threading.Lock()

    def process(key: tuple[str, str, int]) -> None:
        finished = run.job_process(*key)
        status = finished.status if finished is not None else "taken elsewhere"
        with counted:
            counts[status] = counts.get(status, 0) + 1
            if progress is not None:
                progress(1)

    if threads <= 1 or len(keys) <= 1:
        for key in keys:
            process(key)
    else:
        _on_threads(process, keys, min(threads, len(keys)))
    return counts


def _on_threads(work: Callable[[Any], None], items: list, threads: int) -> None:
    """``work`` on each of ``items`` on a pool of ``threads`` threads, in order of taking;
    the first error raised in a thread is raised here once all have stopped (no thread
    takes a new item after one). Each thread closes its own database connections when
    it is done, so a pool thread leaves none open."""
    queue = iter(items)
    taking = threading.Lock()
    failed = threading.Event()

    def take() -> None:
        try:
            while not failed.is_set():
                with taking:
                    item = next(queue, None)
                if item is None:
                    return
                try:
                    work(item)
                except BaseException:
                    failed.set()  # the others finish their item and take no more
                    raise
        finally:
            connections.close_all()  # this thread's connections only

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sync-job") as pool:
        taking_threads = [pool.submit(take) for _ in range(threads)]
    for done in taking_threads:
        error = done.exception()
        if error is not None:
            raise error
