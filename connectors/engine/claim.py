"""Claiming: a worker takes a record's due pending job, in flight under a lease.

Owns the one conditional ``UPDATE ... RETURNING`` that claims a job (``job_claim``)
and what happens when the record is already in flight in another worker (the job
waits ``SYNC_BUSY_DELAY`` and is published again). Running the claimed job is
``engine.run``'s.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ..choices import ERROR_STATUSES, JobStatus
from ..models import SyncJob
from . import publish
from .transactions import savepoint_if_nested

WORKER = f"{socket.gethostname()}:{os.getpid()}"


def job_claim(
    *, platform: str, entity: str, object_id: int, ignore_schedule: bool = False
) -> SyncJob | None:
    """Mark the record's due pending job in flight under a lease, or return None.

    A record has at most one pending job (a conditional unique constraint), so one
    conditional UPDATE claims it: of two workers claiming at once, the second's
    UPDATE waits for the first's, then finds the job no longer pending. None when
    there is no due pending job, another worker took it, or another job for the
    record is in flight; in that last case the pending job is pushed back a little
    and republished.
    """
    now = timezone.now()
    try:
        with savepoint_if_nested():
            claimed = _claim(platform, entity, object_id, now, due=not ignore_schedule)
    except IntegrityError:
        # The record is in flight in another worker, most likely for a second or two:
        # look again shortly (not at the end of its lease, which would hold a quick
        # second edit back for minutes). A dead worker's job is released by the sweeper.
        wait = settings.SYNC_BUSY_DELAY
        SyncJob.objects.filter(
            platform=platform, entity=entity, object_id=object_id, status=JobStatus.PENDING
        ).update(next_attempt_at=now + timedelta(seconds=wait))
        transaction.on_commit(
            lambda: publish.job_publish(platform, entity, object_id, countdown=wait)
        )
        return None
    return claimed


def _claim(
    platform: str, entity: str, object_id: int, now: datetime, *, due: bool
) -> SyncJob | None:
    """The claiming UPDATE, returning the job (PostgreSQL and SQLite both have RETURNING:
    one round trip where the ORM takes two). With it, whether its end has the record's
    failures to clear or waiting jobs to requeue (``engine.finish.earlier_failures``):
    mostly not, and then its end need not look.
    """
    table = connection.ops.quote_name(SyncJob._meta.db_table)
    columns = ", ".join(
        f"{table}.{connection.ops.quote_name(f.column)}" for f in SyncJob._meta.concrete_fields
    )
    adapt = connection.ops.adapt_datetimefield_value
    sql = f"""
        UPDATE {table}
        SET status = %s, attempts = attempts + 1, last_attempt_at = %s, locked_until = %s,
            locked_by = %s, updated_at = %s
        WHERE platform = %s AND entity = %s AND object_id = %s AND status = %s
            {"AND next_attempt_at <= %s" if due else ""}
        RETURNING {columns},
            EXISTS (
                SELECT 1 FROM {table} failed
                WHERE failed.platform = {table}.platform AND failed.entity = {table}.entity
                    AND failed.object_id = {table}.object_id AND failed.id <> {table}.id
                    AND failed.status IN ({", ".join(["%s"] * len(ERROR_STATUSES))})
                    AND failed.resolved_at IS NULL
            ) OR EXISTS (
                SELECT 1 FROM {table} waiting
                JOIN {table} blocking ON waiting.blocked_by_id = blocking.id
                WHERE blocking.platform = {table}.platform
                    AND blocking.entity = {table}.entity
                    AND blocking.object_id = {table}.object_id
                    AND waiting.status = %s AND waiting.resolved_at IS NULL
            ) AS has_followers
    """  # noqa: S608 (names from the model; every value a parameter)
    params = [
        JobStatus.IN_FLIGHT,
        adapt(now),
        adapt(now + timedelta(seconds=settings.SYNC_LEASE_SECONDS)),
        WORKER,
        adapt(now),
        platform,
        entity,
        object_id,
        JobStatus.PENDING,
        *([adapt(now)] if due else []),
        *ERROR_STATUSES,
        JobStatus.FAILED,
    ]
    claimed = list(SyncJob.objects.raw(sql, params))
    if not claimed:
        return None
    job = claimed[0]
    job.has_followers = bool(job.has_followers)
    return job
