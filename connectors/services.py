"""The sync engine's writes: queue, claim, run, retry, skip and map jobs; push records.

The life of a job:

1. ``changes_enqueue`` (from the receivers) or ``job_request`` (manual) write
   a pending job in the caller's transaction; repeated changes merge into the
   one pending job of a record. After commit a task is published for it.
2. ``job_process`` (the task body) claims the due pending job of a record
   with one conditional UPDATE and marks it in flight under a lease. A second
   job for a record already in flight cannot be claimed (a conditional unique
   constraint), so a record is only ever worked on by one worker: retries and
   races cannot create it twice on the platform.
3. ``job_run`` checks the entity settings and export filters, the platform's
   key fields, syncs the record's dependencies first, then asks the connector
   to push the record, and records the outcome. Errors are classified (see
   ``connectors.errors``): recoverable ones return the job to pending with
   its next attempt time; the others put it in the error queue.
4. ``sync_sweep`` (Celery beat) releases jobs whose worker died and
   republishes due jobs nobody took, so a broker outage only delays work.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
import socket
import threading
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, connections, models, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.utils import timezone
from django.utils.translation import ngettext

from .base import Connector, UnknownPlatform, connector_for, entity_model
from .choices import (
    DEPENDENCY_ORDER,
    ERROR_STATUSES,
    Entity,
    ErrorKind,
    FieldRule,
    JobStatus,
    Operation,
)
from .errors import (
    ConfigurationError,
    Deferred,
    DependencyFailed,
    PermanentError,
    RecoverableError,
)
from .http import AttemptRecord, PlatformClient, worker_session
from .models import Binding, ExportFilter, InitialSyncEvent, SyncAttempt, SyncJob
from .redaction import redact
from .selectors import (
    FilterUnusable,
    binding_for,
    binding_forget,
    binding_remember,
    bindings_prefetch,
    bindings_read_once,
    export_rules,
    exporting_platforms,
    platform_exports,
    record_excluded_by,
)

logger = logging.getLogger(__name__)

WORKER = f"{socket.gethostname()}:{os.getpid()}"
# How deep dependencies may chain (customer → site → contact → asset → charge).
MAX_DEPENDENCY_DEPTH = 6


# --- queueing -----------------------------------------------------------------
def changes_enqueue(
    *, entity: str, object_ids: Iterable[int], reason: str, platforms: Iterable[str] | None = None
) -> int:
    """Queue a job per exporting platform for each record (merging into pending ones).

    Call inside the transaction of the change: the jobs commit or roll back
    with it. Services that change records with ``QuerySet.update()`` (which
    sends no signal) call this themselves. Costs one query to find the
    exporting platforms (none given) and one insert.
    """
    ids = [int(pk) for pk in object_ids]
    if not ids:
        return 0
    targets = list(platforms) if platforms is not None else exporting_platforms(entity)
    if not targets:
        return 0
    now = timezone.now()
    jobs = [
        SyncJob(
            platform=platform,
            entity=entity,
            object_id=pk,
            reason=reason[:200],
            next_attempt_at=now,
        )
        for platform in targets
        for pk in ids
    ]
    # A conflict means a pending job exists: it runs with the record's latest state.
    SyncJob.objects.bulk_create(jobs, ignore_conflicts=True)
    _publish_keys_on_commit((job.platform, job.entity, job.object_id) for job in jobs)
    return len(jobs)


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
        job = _pending_job(platform, entity, object_id)
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
                job = _pending_job(platform, entity, object_id)
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


def _pending_job(platform: str, entity: str, object_id: int) -> SyncJob | None:
    return SyncJob.objects.filter(
        platform=platform, entity=entity, object_id=object_id, status=JobStatus.PENDING
    ).first()


def publish_on_commit(platform: str, entity: str, object_id: int) -> None:
    """After commit, publish the task that processes a record's pending job."""
    _publish_keys_on_commit([(platform, entity, object_id)])


RecordKey = tuple[str, str, int]


class _PublishAfterCommit:
    """The on-commit callback of a transaction that publishes its records' tasks.

    One per transaction, holding each record once: a burst of saves merges into
    one pending job per record, and the transaction's records into one message
    (``jobs_publish``). Dependencies first (customers before their sites, ...).
    """

    def __init__(self) -> None:
        self.keys: dict[RecordKey, None] = {}  # ordered, without repeats

    def __call__(self) -> None:
        jobs_publish(sorted(self.keys, key=lambda key: DEPENDENCY_ORDER.get(key[1], 99)))


def _publish_keys_on_commit(keys: Iterable[RecordKey]) -> None:
    """Publish each record's task after the current transaction commits (now if none).

    Keys join the transaction's one callback when it has one. That callback
    runs whenever a new one would: Django drops a callback only when a
    savepoint that was active at its registration rolls back, and those
    savepoints still active are ancestors of the current one. At worst a key
    whose savepoint rolled back is published anyway, which finds no job and
    does nothing; a job is never left unpublished.
    """
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        for entry in connection.run_on_commit:
            callback = entry[1]
            if isinstance(callback, _PublishAfterCommit):
                callback.keys.update(dict.fromkeys(keys))
                return
    callback = _PublishAfterCommit()
    callback.keys.update(dict.fromkeys(keys))
    if callback.keys:
        transaction.on_commit(callback)


def _publishing_eagerly() -> bool:
    from .tasks import job_process_task

    return bool(job_process_task.app.conf.task_always_eager)


def job_publish(platform: str, entity: str, object_id: int, *, countdown: float = 0) -> bool:
    """Publish the processing task; best effort (the sweeper covers a failed publish).

    With eager tasks (no broker) the task runs here and now, through
    ``Task.apply``: ``apply_async`` would first take a producer from the
    broker pool, which means building a broker connection (to amqp://localhost,
    logging "No hostname was supplied") that is never used. A delayed publish
    is then left to the sweeper: running it now would only find the job not
    yet due.
    """
    from .tasks import job_process_task

    eager = _publishing_eagerly()
    if countdown > 0 and eager:
        return False
    countdown = min(countdown, settings.SYNC_MAX_COUNTDOWN)
    try:
        if eager:
            job_process_task.apply(args=(platform, entity, object_id))
        else:
            job_process_task.apply_async(
                args=(platform, entity, object_id), countdown=countdown or None
            )
    except Exception:
        logger.exception(
            "Could not publish the sync of %s %s #%s; the sweeper will", platform, entity, object_id
        )
        return False
    return True


def jobs_publish(keys: list[RecordKey]) -> bool:
    """Publish the processing of these records' jobs in one message; best effort.

    A transaction's records, however many, cost its commit one broker message: one
    record's is ``connectors.job_process``'s, several records' ``connectors.jobs_process``'s,
    whose worker runs the first and publishes the others (``jobs_dispatch``), so they
    still spread over the workers, without the saving request paying for their messages.
    With eager tasks (no broker) each record's job runs here, in turn. A failed publish
    leaves the jobs pending, due: the sweeper publishes them (``sync_sweep``).
    """
    if len(keys) <= 1 or _publishing_eagerly():
        return all([job_publish(*key) for key in keys])
    from .tasks import jobs_process_task

    try:
        jobs_process_task.apply_async(args=([list(key) for key in keys],))
    except Exception:
        logger.exception("Could not publish the sync of %s; the sweeper will", _named(keys))
        return False
    return True


def jobs_dispatch(keys: Iterable[Iterable[Any]]) -> SyncJob | None:
    """The body of ``connectors.jobs_process``: publish the processing of each record but
    the first, one message each and in one broker round trip, then run the first's job.

    Publishing before running lets other workers start on the others at once. A message
    delivered twice (a worker lost before its acknowledgement) publishes them again,
    which is harmless: a job is claimed once (``job_claim``), a second message finds it
    taken or done and does nothing.
    """
    records = [_record_key(key) for key in keys]
    if not records:
        return None
    first, others = records[0], records[1:]
    if others:
        _publish_each(others)
    return job_process(*first)


def _record_key(key: Iterable[Any]) -> RecordKey:
    try:
        platform, entity, object_id = key
        return str(platform), str(entity), int(object_id)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"A record to sync is [platform, entity, id], not {key!r}.") from exc


def _publish_each(keys: list[RecordKey]) -> None:
    """A ``connectors.job_process`` message per record, sent in one broker round trip
    (kombu's producer batch: one pipeline on Redis); on failure, left to the sweeper."""
    from .tasks import job_process_task

    app = job_process_task.app
    try:
        with app.producer_or_acquire() as producer, producer.batch():
            for key in keys:
                job_process_task.apply_async(args=key, producer=producer)
    except Exception:
        logger.exception("Could not publish the sync of %s; the sweeper will", _named(keys))


def _named(keys: list[RecordKey]) -> str:
    return ", ".join(f"{platform} {entity} #{object_id}" for platform, entity, object_id in keys)


# --- claiming and running -------------------------------------------------------
def job_process(platform: str, entity: str, object_id: int) -> SyncJob | None:
    """Claim and run the due pending job of a record, if there is one (the task body)."""
    job = job_claim(platform=platform, entity=entity, object_id=object_id)
    if job is None:
        return None
    return job_run(job)


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
        transaction.on_commit(lambda: job_publish(platform, entity, object_id, countdown=wait))
        return None
    return claimed


def _claim(
    platform: str, entity: str, object_id: int, now: datetime, *, due: bool
) -> SyncJob | None:
    """The claiming UPDATE, returning the job (PostgreSQL and SQLite both have RETURNING:
    one round trip where the ORM takes two). With it, whether its end has the record's
    failures to clear or waiting jobs to requeue (``_earlier_failures``): mostly not, and
    then its end need not look.
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


@dataclass
class SyncContext:
    """What a connector's ``push`` works with: the job, the record, a client, the bindings."""

    job: SyncJob
    connector: Connector
    entity: str
    record: models.Model
    client: PlatformClient
    depth: int = 0
    notes: list[str] = field(default_factory=list)
    # The external id of the record's main platform record, once known.
    external_id: str = ""

    @property
    def platform(self) -> str:
        return self.connector.identifier

    def binding(
        self, role: str, entity: str | None = None, object_id: int | None = None
    ) -> Binding:
        """The binding of a record in a role; a new one if it has none, saved (by ``_bind``)
        once it has its external id."""
        entity = entity or self.entity
        object_id = object_id if object_id is not None else self.record.pk
        binding = binding_for(self.platform, role, entity, object_id)
        if binding is None:
            binding = Binding(platform=self.platform, role=role, entity=entity, object_id=object_id)
            binding_remember(binding)
        return binding

    def ensure(self, entity: str, record: models.Model) -> Binding:
        """Make sure a record this one needs exists on the platform (syncing it now if not)."""
        return dependency_ensure(self, entity, record)

    def sync_first(self, entity: str, record: models.Model) -> Binding | None:
        """Bring a record this one needs in step with the platform now, bound or not,
        through its own job (claimed here, or waited for when another worker has it): the
        one-record-in-flight promise holds for records pushed inline as dependencies."""
        return dependency_ensure(self, entity, record, resync=True)


@dataclass
class _JobScope:
    """What the job running now (its dependencies' jobs included) keeps for all its steps."""

    # The records whose jobs ran and succeeded inside it (its dependencies, synced first).
    synced: set[tuple[str, int]] = field(default_factory=set)
    memo: dict[str, Any] = field(default_factory=dict)  # job_memo's reads


_job_scope: ContextVar[_JobScope | None] = ContextVar("job_scope", default=None)


def job_memo(key: str, read: Callable[[], Any]) -> Any:
    """``read()``, once per running job (its dependencies' jobs included): for settings a
    connector reads at several steps. Outside a job, read every time."""
    scope = _job_scope.get()
    if scope is None:
        return read()
    if key not in scope.memo:
        scope.memo[key] = read()
    return scope.memo[key]


def synced_inline(entity: str) -> set[int]:
    """Ids of the ``entity`` records synced inside the running job, after its own push
    began: a connector need not queue them again for a change of the job's record."""
    scope = _job_scope.get()
    return {pk for synced, pk in (scope.synced if scope else ()) if synced == entity}


def job_run(job: SyncJob, *, depth: int = 0) -> SyncJob:
    """Run a claimed (in-flight) job and record what came of it.

    Whatever happens, the job leaves the in-flight state here (finished, or back
    in the queue): an error that escaped would leave it to the sweeper, which
    would release it to fail the same way, for ever.

    Bindings are read once per record for the whole job, its dependencies' jobs
    included (``selectors.bindings_read_once``); the record's own are read afresh, now
    that its job is claimed.
    """
    token = _job_scope.set(_JobScope()) if _job_scope.get() is None else None
    try:
        with bindings_read_once():
            binding_forget(job.platform, job.entity, job.object_id)
            return _job_run(job, depth=depth)
    finally:
        if token is not None:
            _job_scope.reset(token)


def _job_run(job: SyncJob, *, depth: int) -> SyncJob:
    client: PlatformClient | None = None
    try:
        connector = connector_for(job.platform)
        # Inside the try: a client refuses to exist without its URL or credentials.
        client = connector.client(
            observer=_attempt_recorder(job), session=worker_session(job.platform)
        )
        client.calls_in_flight = settings.SYNC_CALLS_PER_PROCESS
        record = connector.record_queryset(job.entity).filter(pk=job.object_id).first()
        if record is None:
            return _finish(job, JobStatus.SKIPPED, error="The record no longer exists.")
        job.object_repr = connector.describe(job.entity, record)
        rules = export_rules(job.platform, job.entity)
        if rules is None:
            # Turned off after the job was queued: staff no longer want it sent.
            return _finish(
                job,
                JobStatus.SKIPPED,
                note=f"Not sent: the {connector.name} integration is off, or its {job.entity} "
                "entity is inactive or not exported.",
            )
        not_taken = connector.skip_reason(job.entity, record)
        if not_taken:
            return _finish(job, JobStatus.SKIPPED, note=f"Not sent: {not_taken}")
        excluded = _excluded_by(record, rules)
        if excluded:
            return _finish(job, JobStatus.FILTERED, filtered_by=excluded)
        missing = connector.missing_key_fields(job.entity, record)
        if missing:
            raise PermanentError(" ".join(missing))
        context = SyncContext(
            job=job,
            connector=connector,
            entity=job.entity,
            record=record,
            client=client,
            depth=depth,
        )
        dependencies = connector.dependencies(job.entity, record)
        bindings_prefetch(
            job.platform, [(job.entity, record.pk), *((e, d.pk) for e, d in dependencies)]
        )
        for dependency_entity, dependency in dependencies:
            context.ensure(dependency_entity, dependency)
        operation = connector.push(context)
    except Deferred as exc:
        return _return_to_pending(job, delay=exc.delay, note=exc.message, count_attempt=False)
    except RecoverableError as exc:
        if job.attempts >= settings.SYNC_MAX_ATTEMPTS:
            return _finish(
                job,
                JobStatus.ABORTED,
                error=ngettext(
                    "Gave up after %(count)d attempt. Last error: %(error)s",
                    "Gave up after %(count)d attempts. Last error: %(error)s",
                    job.attempts,
                )
                % {"count": job.attempts, "error": exc.message},
                kind=ErrorKind.RECOVERABLE,
            )
        delay = backoff_delay(job.attempts, retry_after=exc.retry_after)
        if exc.uncertain_write:
            delay = max(delay, settings.SYNC_UNCERTAIN_WRITE_DELAY)
        return _return_to_pending(job, delay=delay, note=exc.message, kind=ErrorKind.RECOVERABLE)
    except DependencyFailed as exc:
        return _finish(
            job,
            JobStatus.FAILED,
            error=exc.message,
            kind=ErrorKind.DEPENDENCY,
            blocked_by_id=exc.blocking_job_id,
        )
    except ConfigurationError as exc:
        return _finish(job, JobStatus.FAILED, error=exc.message, kind=ErrorKind.CONFIGURATION)
    except UnknownPlatform as exc:  # its connector is no longer installed
        return _finish(job, JobStatus.FAILED, error=str(exc), kind=ErrorKind.CONFIGURATION)
    except PermanentError as exc:
        return _finish(job, JobStatus.FAILED, error=exc.message, kind=ErrorKind.PERMANENT)
    except Exception as exc:
        # A defect of ours, not the platform's: keep it in the error queue for staff
        # (retrying would fail the same way) and log the traceback for developers.
        logger.exception("Sync job #%s failed unexpectedly", job.pk)
        return _finish(
            job,
            JobStatus.FAILED,
            error=f"Internal error ({type(exc).__name__}: {exc}); see the worker log.",
            kind=ErrorKind.PERMANENT,
        )
    finally:
        if client is not None:
            client.close()  # a session of its own (not the worker's): its connections
    status = JobStatus.NO_CHANGE if operation == Operation.NONE else JobStatus.SUCCEEDED
    return _finish(
        job,
        status,
        operation=operation,
        note="; ".join(context.notes),
        external_id=context.external_id,
    )


def _excluded_by(record: models.Model, rules: list[ExportFilter]) -> str:
    """The export filtering condition the record fails, as staff read it ("" if none).

    A condition that cannot be evaluated (a field renamed since it was set) is
    a configuration error naming it, not an internal one.
    """
    try:
        condition = record_excluded_by(record, rules)
    except FilterUnusable as exc:
        raise ConfigurationError(str(exc)) from None
    return "" if condition is None else f"Excluded by the export filter: {condition}"


def _attempt_recorder(job: SyncJob):
    """An observer writing each HTTP call as an attempt row, renewing the job's lease."""
    lease = timedelta(seconds=settings.SYNC_LEASE_SECONDS)

    def record(attempt: AttemptRecord) -> None:
        SyncAttempt.objects.create(job=job, **vars(attempt))  # the record is the row's fields
        now = timezone.now()
        if job.locked_until and job.locked_until - now < lease / 2:
            job.locked_until = now + lease
            SyncJob.objects.filter(pk=job.pk, status=JobStatus.IN_FLIGHT).update(
                locked_until=job.locked_until
            )

    return record


def backoff_delay(attempt: int, *, retry_after: float | None = None) -> float:
    """Seconds before attempt ``attempt + 1``: exponential backoff with full jitter.

    Uniform in [0, min(cap, base * 2 ** (attempt - 1))], never less than the
    platform's Retry-After (itself capped).
    """
    ceiling = min(settings.SYNC_BACKOFF_CAP, settings.SYNC_BACKOFF_BASE * 2 ** max(attempt - 1, 0))
    delay = random.uniform(0, ceiling)  # noqa: S311 (jitter, not cryptography)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.SYNC_BACKOFF_CAP))
    return delay


def _finish(
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
        earlier, blocked = _earlier_failures(job)
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
        return _requeue_if_unblocked(job)
    return job


def _record_failures(platform: Any, entity: Any, object_id: Any, job_pk: Any) -> QuerySet:
    """A record's jobs in the error queue other than ``job_pk`` (values or ``OuterRef``s)."""
    return SyncJob.objects.filter(
        platform=platform,
        entity=entity,
        object_id=object_id,
        status__in=ERROR_STATUSES,
        resolved_at__isnull=True,
    ).exclude(pk=job_pk)


def _jobs_waiting_on(platform: Any, entity: Any, object_id: Any) -> QuerySet:
    """The jobs in the error queue because a job of the record could not be synced first."""
    return SyncJob.objects.filter(
        blocked_by__platform=platform,
        blocked_by__entity=entity,
        blocked_by__object_id=object_id,
        status=JobStatus.FAILED,
        resolved_at__isnull=True,
    )


def _earlier_failures(job: SyncJob) -> tuple[list[int], list[SyncJob]]:
    """The record's other jobs in the error queue, and the jobs failed waiting on it
    (one query; the waiting jobs are read whole only when there are some). None of either
    when the claim found none (``job_claim``): nothing to read.

    Read before the job's end is saved: while the job is in flight no other job of its
    record can fail, and a job found failed waiting on the record after its claim is
    requeued by its own end (``_requeue_if_unblocked``).
    """
    if not getattr(job, "has_followers", True):
        return [], []
    earlier = (
        _record_failures(job.platform, job.entity, job.object_id, job.pk)
        .annotate(waiting=Value(False))
        .values_list("pk", "waiting")
        .order_by()
    )
    waiting = (
        _jobs_waiting_on(job.platform, job.entity, job.object_id)
        .annotate(waiting=Value(True))
        .values_list("pk", "waiting")
        .order_by()
    )
    rows = list(earlier.union(waiting, all=True))
    blocked_ids = [pk for pk, is_waiting in rows if is_waiting]
    blocked = list(SyncJob.objects.filter(pk__in=blocked_ids)) if blocked_ids else []
    return [pk for pk, is_waiting in rows if not is_waiting], blocked


def _requeue_if_unblocked(job: SyncJob) -> SyncJob:
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


def _return_to_pending(
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
    merged_into = _move_to_pending(job)
    target = merged_into or job
    if not _publishing_eagerly():
        # Eager tasks would run it here, inside this run: the sweeper takes it instead.
        wait = max((target.next_attempt_at - timezone.now()).total_seconds(), 0.0)
        job_publish(target.platform, target.entity, target.object_id, countdown=wait)
    return target


def _move_to_pending(job: SyncJob, *, reset_attempts: bool = False) -> SyncJob | None:
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


# --- dependencies ------------------------------------------------------------------
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
    scope = _job_scope.get()
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
        waiting = _pending_job(context.platform, entity, record.pk)
        wait = settings.SYNC_BUSY_DELAY
        if waiting is not None:
            wait = max(wait, (waiting.next_attempt_at - timezone.now()).total_seconds())
        raise Deferred(f"Waiting for {label} to sync first.", delay=wait)
    finished = job_run(dependency_job, depth=context.depth + 1)
    if finished.status in (JobStatus.SUCCEEDED, JobStatus.NO_CHANGE):
        _job_scope.get().synced.add((entity, record.pk))
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


# --- pushing one platform record -----------------------------------------------------
def payload_hash(payload: dict[str, Any]) -> str:
    """A stable hash of a payload (keys sorted, dates and decimals as text)."""
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def repeated_fields(connector: Connector, entity: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if connector.rule(entity, k) == FieldRule.REPEATED}


def push_single(
    context: SyncContext,
    *,
    role: str,
    entity: str | None = None,
    record: models.Model | None = None,
    payload: dict[str, Any] | None = None,
) -> str:
    """Bring one platform record in step with one local record; return the operation.

    Sends nothing when the repeated fields hash the same as last time (unless
    the job is forced). Before a create, looks the record up by natural key;
    after one, writes the external id at once (autocommit: its own short
    transaction), so neither a retry nor a crash can create it twice.
    """
    connector = context.connector
    entity = entity or context.entity
    record = record if record is not None else context.record
    if payload is None:
        payload = connector.build_payload(entity, record)
    repeated = repeated_fields(connector, entity, payload)
    digest = payload_hash(repeated)
    binding = context.binding(role, entity, record.pk)
    is_main = entity == context.entity and record.pk == context.record.pk
    if is_main and binding.external_id:
        context.external_id = binding.external_id
    now = timezone.now()
    if binding.external_id:
        if binding.payload_hash == digest and not context.job.force:
            return Operation.NONE
        connector.update(entity, record, binding.external_id, repeated, context.client)
        binding.payload = _json_safe({**binding.payload, **repeated})
        binding.payload_hash = digest
        binding.last_synced_at = now
        binding.save(update_fields=["payload", "payload_hash", "last_synced_at", "updated_at"])
        return Operation.UPDATED
    external_id = connector.lookup(entity, record, payload, context.client)
    operation = Operation.INSERTED
    if external_id:
        _bind(binding, external_id, payload={}, digest="", now=now)
        connector.update(entity, record, external_id, repeated, context.client)
        context.notes.append(f"Found the existing {role} {external_id} on {connector.name}.")
        operation = Operation.UPDATED
    else:
        external_id = connector.create(entity, record, payload, context.client)
    _bind(binding, str(external_id), payload=payload, digest=digest, now=now)
    if is_main:
        context.external_id = binding.external_id
    return operation


def _bind(binding: Binding, external_id: str, *, payload: dict, digest: str, now: datetime) -> None:
    binding.external_id = external_id
    binding.payload = _json_safe(payload)
    binding.payload_hash = digest
    binding.first_synced_at = binding.first_synced_at or now
    binding.last_synced_at = now
    try:
        with savepoint_if_nested():
            binding.save()
    except IntegrityError:
        if binding.pk is None and _bind_to_the_row_made_meanwhile(binding):
            return
        clash = Binding.objects.filter(
            platform=binding.platform, role=binding.role, external_id=external_id
        ).first()
        raise PermanentError(
            f"{binding.platform} {binding.role} {external_id} is already bound to "
            f"{clash.entity if clash else '?'} #{clash.object_id if clash else '?'}."
        ) from None
    binding_remember(binding)


def _bind_to_the_row_made_meanwhile(binding: Binding) -> bool:
    """A new binding whose record got a binding row in this role since it was read (staff
    mapping it, an import): write to that row if it holds no other external id."""
    existing = Binding.objects.filter(
        platform=binding.platform,
        role=binding.role,
        entity=binding.entity,
        object_id=binding.object_id,
    ).first()
    if existing is None or existing.external_id not in ("", binding.external_id):
        if existing is not None:
            raise PermanentError(
                f"{binding.platform} {binding.role} of {binding.entity} #{binding.object_id} "
                f"was bound to {existing.external_id} while {binding.external_id} was being "
                "made: check both on the platform, then map the record to the right one."
            )
        return False
    binding.pk = existing.pk
    binding.created_at = existing.created_at
    binding.first_synced_at = existing.first_synced_at or binding.first_synced_at
    try:
        with savepoint_if_nested():
            binding.save()
    except IntegrityError:  # the external id is another record's: the caller says whose
        binding.pk = None
        return False
    binding_remember(binding)
    return True


def savepoint_if_nested():
    """A savepoint inside a transaction, so a failed write leaves the caller's
    transaction usable; nothing in autocommit, where a failed statement spoils nothing
    and a transaction of one statement would cost two more round trips."""
    if transaction.get_connection().in_atomic_block:
        return transaction.atomic()
    return nullcontext()


def _json_safe(payload: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(payload, default=str))


# --- staff and operations actions ---------------------------------------------------
def job_retry(job: SyncJob, *, user: Any = None, reason: str = "") -> SyncJob:
    """Put a failed, aborted or skipped job back in the queue now, attempts reset."""
    if job.status not in (*ERROR_STATUSES, JobStatus.SKIPPED):
        raise PermanentError(
            f"Job #{job.pk} is {job.get_status_display().lower()}; only failed, aborted or "
            "skipped jobs can be retried."
        )
    who = getattr(user, "get_username", lambda: "")()
    job.reason = (f"retried by {who}" if who else f"retried: {reason}" if reason else "retried")[
        :200
    ]
    job.next_attempt_at = timezone.now()
    job.resolved_at = None
    job.blocked_by = None
    target = _move_to_pending(job, reset_attempts=True) or job
    if target is not job:  # merged into the record's pending job: this one is settled
        SyncJob.objects.filter(pk=job.pk).update(resolved_at=timezone.now())
    publish_on_commit(target.platform, target.entity, target.object_id)
    return target


def job_skip(job: SyncJob, *, user: Any = None, reason: str = "") -> SyncJob:
    """Take a failed or aborted job out of the error queue without sending it."""
    if not job.in_error_queue:
        raise PermanentError(f"Job #{job.pk} is not in the error queue.")
    who = getattr(user, "get_username", lambda: "")() or "staff"
    job.status = JobStatus.SKIPPED
    job.resolved_at = timezone.now()
    job.last_error = redact(
        f"Skipped by {who}{': ' + reason if reason else ''}. Was: {job.last_error}"
    )
    job.save(update_fields=["status", "resolved_at", "last_error", "updated_at"])
    return job


EXTERNAL_ID_MAX_LENGTH = Binding._meta.get_field("external_id").max_length
# Ids go into API paths: letters, digits and . _ - : @ + only, so none can leave them.
EXTERNAL_ID_PATTERN = re.compile(r"[\w.:@+-]+", re.ASCII)


def external_id_problem(external_id: str) -> str:
    """Why a platform record id typed by staff cannot be used ("" when it can)."""
    if not external_id:
        return "Give the external id of the platform record to map to."
    if len(external_id) > EXTERNAL_ID_MAX_LENGTH:
        return (
            f"An external id is at most {EXTERNAL_ID_MAX_LENGTH} characters; "
            f"this one has {len(external_id)}."
        )
    if not EXTERNAL_ID_PATTERN.fullmatch(external_id) or set(external_id) == {"."}:
        return (
            f'"{external_id[:40]}" is not a platform record id: use letters, digits and '
            ". _ - : @ + only."
        )
    return ""


def binding_map(
    *,
    platform: str,
    entity: str,
    object_id: int,
    external_id: str,
    role: str | None = None,
    user: Any = None,
) -> Binding:
    """Bind a local record to an existing platform record, then queue a sync to update it.

    Refused when that external id is bound to another record already, or the
    record is bound to a different one.
    """
    connector = connector_for(platform)
    external_id = (external_id or "").strip()
    problem = external_id_problem(external_id)
    if problem:
        raise PermanentError(problem)
    if entity not in connector.entities:
        raise PermanentError(f"{connector.name} does not take {entity} records.")
    record = entity_model(entity)._default_manager.filter(pk=object_id).first()
    if record is None:
        raise PermanentError(f"There is no {entity} #{object_id}.")
    role = role or connector.role(entity, record)
    if not Binding.objects.filter(
        platform=platform, role=role, entity=entity, object_id=object_id, external_id=external_id
    ).exists():
        # The platform record must exist before anything says the record is on it (the
        # connector's own get call; a platform that cannot tell is taken on trust).
        try:
            exists = connector.record_exists(entity, external_id)
        except RecoverableError as error:
            raise PermanentError(
                f"{connector.name} could not be asked whether {role} {external_id} exists "
                f"({error}): try again."
            ) from None
        if exists is False:
            raise PermanentError(
                f"{connector.name} has no {role} {external_id}: check the id on "
                f"{connector.name}, or sync without one to create the record."
            )
    with transaction.atomic():
        clash = (
            Binding.objects.filter(platform=platform, role=role, external_id=external_id)
            .exclude(entity=entity, object_id=object_id)
            .first()
        )
        if clash is not None:
            raise PermanentError(
                f"{connector.name} {role} {external_id} is already mapped to {clash.entity} "
                f"#{clash.object_id}."
            )
        binding, _ = Binding.objects.select_for_update().get_or_create(
            platform=platform, role=role, entity=entity, object_id=object_id
        )
        if binding.external_id and binding.external_id != external_id:
            raise PermanentError(
                f"This {entity} is already mapped to {connector.name} {role} "
                f"{binding.external_id}; it cannot be remapped to {external_id}."
            )
        now = timezone.now()
        binding.external_id = external_id
        binding.payload = {}
        binding.payload_hash = ""  # the next sync sends every repeated field
        binding.first_synced_at = binding.first_synced_at or now
        binding.save()
        # Failed jobs of the record leave the error queue; a new one sends the update.
        SyncJob.objects.filter(
            platform=platform,
            entity=entity,
            object_id=object_id,
            status__in=ERROR_STATUSES,
            resolved_at__isnull=True,
        ).update(resolved_at=now, operation=Operation.MAPPED)
        who = getattr(user, "get_username", lambda: "")()
        changes_enqueue(
            entity=entity,
            object_ids=[object_id],
            reason=f"mapped to {external_id}" + (f" by {who}" if who else ""),
            platforms=[platform],
        )
    return binding


class MappingRefused(PermanentError):
    """The platform record staff named cannot be mapped (see ``binding_map``)."""


def customer_sync_request(
    *,
    platform: str,
    customer_id: int,
    user: Any,
    external_id: str = "",
    force: bool = False,
) -> SyncJob:
    """A manual sync of a customer (seed 000's "Sync Abillity Customer"), queued.

    With ``external_id`` the customer is first mapped to that existing platform
    record, so the sync updates it instead of creating one. One transaction: a
    refused request leaves no mapping behind. Raises ``MappingRefused`` for an
    id that cannot be mapped, ``ConfigurationError`` when the platform does not
    export customers now, ``PermanentError`` when it never takes them.
    """
    with transaction.atomic():
        if external_id:
            try:
                binding_map(
                    platform=platform,
                    entity=Entity.CUSTOMER,
                    object_id=customer_id,
                    external_id=external_id,
                    user=user,
                )
            except PermanentError as error:
                raise MappingRefused(error.message) from None
        return job_request(
            platform=platform,
            entity=Entity.CUSTOMER,
            object_id=customer_id,
            reason=f"manual sync by {user.get_username()}",
            user=user,
            force=force,
        )


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
                released.append(_move_to_pending(job) or job)
    published = [job.pk for job in released if job_publish(job.platform, job.entity, job.object_id)]
    grace = now - timedelta(seconds=settings.SYNC_PUBLISH_GRACE)
    due = list(
        SyncJob.objects.filter(status=JobStatus.PENDING, next_attempt_at__lte=grace)
        .filter(Q(published_at__isnull=True) | Q(published_at__lte=grace))
        .exclude(pk__in=published)
        .order_by("next_attempt_at")
        .values_list("pk", "platform", "entity", "object_id")[: settings.SYNC_SWEEP_BATCH]
    )
    republished = [
        pk for pk, platform, entity, object_id in due if job_publish(platform, entity, object_id)
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

    def run(key: tuple[str, str, int]) -> None:
        finished = job_process(*key)
        status = finished.status if finished is not None else "taken elsewhere"
        with counted:
            counts[status] = counts.get(status, 0) + 1
            if progress is not None:
                progress(1)

    if threads <= 1 or len(keys) <= 1:
        for key in keys:
            run(key)
    else:
        _on_threads(run, keys, min(threads, len(keys)))
    return counts


def _on_threads(run: Callable[[Any], None], items: list, threads: int) -> None:
    """``run`` each of ``items`` on ``threads`` threads, in order of taking; the first
    error raised in a thread is raised here once all have stopped (no thread takes a
    new item after one)."""
    queue = iter(items)
    taking = threading.Lock()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while not errors:
                with taking:
                    item = next(queue, None)
                if item is None:
                    return
                run(item)
        except BaseException as error:  # raised again in the caller, once all stop
            errors.append(error)
        finally:
            connections.close_all()  # this thread's connections only

    workers = [threading.Thread(target=work, name=f"sync-job-{n}") for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]


def entity_settings_ensure(*, using: str = "default") -> int:
    """Make the missing setting rows of every registered connector's entities (active,
    export). Existing rows are left as staff set them. Returns how many were made."""
    from .base import registered
    from .models import EntitySetting

    existing = set(EntitySetting.objects.using(using).values_list("platform", "entity"))
    missing = [
        EntitySetting(platform=identifier, entity=entity)
        for identifier, connector in registered().items()
        for entity in connector.entities
        if (identifier, entity) not in existing
    ]
    EntitySetting.objects.using(using).bulk_create(missing, ignore_conflicts=True)
    return len(missing)
