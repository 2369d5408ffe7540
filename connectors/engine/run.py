"""Running a claimed job: from its record to its recorded outcome.

Owns ``job_process`` (the task body: claim, then run), ``job_run`` (the record read,
the entity settings, the connector's skip reason, the export filters and key fields
checked, dependencies synced first, the connector's push, and every error sorted
into its class), ``SyncContext`` (what a connector's push works with), the recorder
writing each HTTP call as an attempt, and the backoff between attempts. How the job
ends is ``engine.finish``'s; syncing a dependency first is ``engine.dependencies``'.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import ngettext

from ..base import Connector, UnknownPlatform, connector_for
from ..choices import ErrorKind, JobStatus, Operation
from ..errors import (
    ConfigurationError,
    Deferred,
    DependencyFailed,
    PermanentError,
    RecoverableError,
)
from ..http import AttemptRecord, PlatformClient, worker_session
from ..models import Binding, ExportFilter, SyncAttempt, SyncJob
from ..selectors import (
    FilterUnusable,
    binding_for,
    binding_forget,
    binding_remember,
    bindings_prefetch,
    bindings_read_once,
    export_rules,
    record_excluded_by,
)
from . import dependencies
from .claim import job_claim
from .finish import job_finish, job_return_to_pending
from .publish import jobs_publish_each, record_key
from .scope import job_scope

logger = logging.getLogger(__name__)


def job_process(platform: str, entity: str, object_id: int) -> SyncJob | None:
    """Claim and run the due pending job of a record, if there is one (the task body)."""
    job = job_claim(platform=platform, entity=entity, object_id=object_id)
    if job is None:
        return None
    return job_run(job)


def jobs_dispatch(keys: Iterable[Iterable]) -> SyncJob | None:
    """The body of ``connectors.jobs_process``: publish the processing of each record but
    the first, one message each and in one broker round trip, then run the first's job.

    Publishing before running lets other workers start on the others at once. A message
    delivered twice (a worker lost before its acknowledgement) publishes them again,
    which is harmless: a job is claimed once (``job_claim``), a second message finds it
    taken or done and does nothing.
    """
    records = [record_key(key) for key in keys]
    if not records:
        return None
    first, others = records[0], records[1:]
    if others:
        jobs_publish_each(others)
    return job_process(*first)


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
    # The external id of each platform record pushed in this job, by role (``records``),
    # and the roles this job created.
    record_ids: dict[str, str] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)

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
        return dependencies.dependency_ensure(self, entity, record)

    def sync_first(self, entity: str, record: models.Model) -> Binding | None:
        """Bring a record this one needs in step with the platform now, bound or not,
        through its own job (claimed here, or waited for when another worker has it): the
        one-record-in-flight promise holds for records pushed inline as dependencies."""
        return dependencies.dependency_ensure(self, entity, record, resync=True)


def job_run(job: SyncJob, *, depth: int = 0) -> SyncJob:
    """Run a claimed (in-flight) job and record what came of it.

    Whatever happens, the job leaves the in-flight state here (finished, or back
    in the queue): an error that escaped would leave it to the sweeper, which
    would release it to fail the same way, for ever.

    Bindings are read once per record for the whole job, its dependencies' jobs
    included (``selectors.bindings_read_once``); the record's own are read afresh, now
    that its job is claimed.
    """
    with job_scope(), bindings_read_once():
        binding_forget(job.platform, job.entity, job.object_id)
        return _job_run(job, depth=depth)


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
            return job_finish(job, JobStatus.SKIPPED, error="The record no longer exists.")
        job.object_repr = connector.describe(job.entity, record)
        rules = export_rules(job.platform, job.entity)
        if rules is None:
            # Turned off after the job was queued: staff no longer want it sent.
            return job_finish(
                job,
                JobStatus.SKIPPED,
                note=f"Not sent: the {connector.name} integration is off, or its {job.entity} "
                "entity is inactive or not exported.",
            )
        not_taken = connector.skip_reason(job.entity, record)
        if not_taken:
            return job_finish(job, JobStatus.SKIPPED, note=f"Not sent: {not_taken}")
        excluded = _excluded_by(record, rules)
        if excluded:
            return job_finish(job, JobStatus.FILTERED, filtered_by=excluded)
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
        needed = connector.dependencies(job.entity, record)
        bindings_prefetch(job.platform, [(job.entity, record.pk), *((e, d.pk) for e, d in needed)])
        for dependency_entity, dependency in needed:
            context.ensure(dependency_entity, dependency)
        operation = connector.push(context)
    except Deferred as exc:
        return job_return_to_pending(job, delay=exc.delay, note=exc.message, count_attempt=False)
    except RecoverableError as exc:
        if job.attempts >= settings.SYNC_MAX_ATTEMPTS:
            return job_finish(
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
        return job_return_to_pending(job, delay=delay, note=exc.message, kind=ErrorKind.RECOVERABLE)
    except DependencyFailed as exc:
        return job_finish(
            job,
            JobStatus.FAILED,
            error=exc.message,
            kind=ErrorKind.DEPENDENCY,
            blocked_by_id=exc.blocking_job_id,
        )
    except ConfigurationError as exc:
        return job_finish(job, JobStatus.FAILED, error=exc.message, kind=ErrorKind.CONFIGURATION)
    except UnknownPlatform as exc:  # its connector is no longer installed
        return job_finish(job, JobStatus.FAILED, error=str(exc), kind=ErrorKind.CONFIGURATION)
    except PermanentError as exc:
        return job_finish(job, JobStatus.FAILED, error=exc.message, kind=ErrorKind.PERMANENT)
    except Exception as exc:
        # A defect of ours, not the platform's: keep it in the error queue for staff
        # (retrying would fail the same way) and log the traceback for developers.
        logger.exception("Sync job #%s failed unexpectedly", job.pk)
        return job_finish(
            job,
            JobStatus.FAILED,
            error=f"Internal error ({type(exc).__name__}: {exc}); see the worker log.",
            kind=ErrorKind.PERMANENT,
        )
    finally:
        if client is not None:
            client.close()  # a session of its own (not the worker's): its connections
    status = JobStatus.NO_CHANGE if operation == Operation.NONE else JobStatus.SUCCEEDED
    return job_finish(
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
