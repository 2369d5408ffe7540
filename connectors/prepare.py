"""Bulk work of the sync engine, for operations: prepare, process, retry the error queue.

Bulk syncing is two steps, as on Acumatica's Prepare and Process forms:

- *prepare* (``sync_prepare``) finds which records of a platform's exported
  entities are out of date and queues a job for each, in batches, through
  ``engine.publish.changes_enqueue`` (so the jobs merge with pending ones and are
  published on commit like any other change);
- *process* (``sync_process``) runs the due jobs in this process, where no
  worker is wanted; otherwise the workers take them as they are published.

Putting error-queue jobs back in the queue (``manage.py retry_failed``) is
``error_queue.py``'s. The management commands are thin adapters over these.

Memory stays flat however many records there are: records are read in
batches by primary key (keyset pagination, not ``OFFSET``), and each batch is
queued in its own short transaction, so workers start on the first batches
while later ones are still being prepared.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Protocol

from django.core.exceptions import FieldDoesNotExist
from django.db import connection, models, transaction
from django.db.models import Count, Max
from django.utils import timezone

from .base import Connector, connector_for, entity_model
from .choices import Entity, JobStatus
from .engine.publish import changes_enqueue
from .engine.queue import initial_sync_events_record
from .engine.sweep import jobs_process_due
from .models import Binding, InitialSyncEvent, SyncJob
from .selectors import error_queue, exporting_platforms

# Records read, compared and queued per batch (one transaction per batch).
PREPARE_BATCH = 500
# Jobs of these statuses read the record after an update we see: it needs no new job.
_SYNCED_STATUSES = (JobStatus.SUCCEEDED, JobStatus.NO_CHANGE)

INCREMENTAL = "incremental"
FULL = "full"
SINCE = "since"


class Progress(Protocol):
    """What the bulk operations report progress to (the command's progress bar)."""

    def start(self, label: str, total: int) -> None:
        """A step begins with ``total`` units of work."""

    def advance(self, amount: int) -> None:
        """``amount`` more units of the current step are done."""


class PrepareRefused(ValueError):
    """What was asked cannot be prepared (an entity the platform does not take, say).

    Raised before anything is written; the message names the problem.
    """


@dataclass
class EntityPrepared:
    """What prepare found for one entity of the platform."""

    entity: str
    exported: bool = True
    records: int = 0  # records of the entity the platform takes, examined
    prepared: int = 0  # jobs queued (in a dry run: that would be queued)
    already_pending: int = 0  # out of date, but a pending job already covers them

    @property
    def up_to_date(self) -> int:
        return self.records - self.prepared - self.already_pending

    def as_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "exported": self.exported,
            "records": self.records,
            "prepared": self.prepared,
            "already_pending": self.already_pending,
            "up_to_date": self.up_to_date,
        }


@dataclass
class PrepareResult:
    """The outcome of one prepare, per entity in the connector's order."""

    platform: str
    mode: str  # INCREMENTAL, FULL or SINCE
    since: datetime | None
    dry_run: bool
    started_at: datetime
    entities: list[EntityPrepared] = field(default_factory=list)

    @property
    def prepared(self) -> int:
        return sum(e.prepared for e in self.entities)

    @property
    def already_pending(self) -> int:
        return sum(e.already_pending for e in self.entities)

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "mode": self.mode,
            "since": self.since.isoformat() if self.since else None,
            "dry_run": self.dry_run,
            "entities": [e.as_dict() for e in self.entities],
            "prepared": self.prepared,
            "already_pending": self.already_pending,
        }


# --- prepare ------------------------------------------------------------------------
def sync_prepare(
    *,
    platform: str,
    entity: str | None = None,
    full: bool = False,
    since: date | datetime | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> PrepareResult:
    """Queue a job for each out-of-date record of the platform's exported entities.

    Incremental (the default), a record is out of date when it has no
    external id on the platform yet (for the connector's role), when it
    changed (``updated_at``) after both its last sync and the start of its
    last job that succeeded or found nothing to send, or when it has a job in
    the error queue. ``full`` takes every record (unchanged ones then finish
    as *no change*, sending nothing); ``since`` every record changed at or
    after that date (its midnight, local time) or moment.

    A record with a pending job already is counted, not queued again.
    ``dry_run`` counts only. Raises ``UnknownPlatform`` or ``PrepareRefused``
    (both ``ValueError``) before writing anything.
    """
    connector = connector_for(platform)
    if full and since is not None:
        raise PrepareRefused("Choose a full prepare or one since a date, not both.")
    mode = FULL if full else SINCE if since is not None else INCREMENTAL
    since_at = _as_moment(since) if since is not None else None
    plan = _entities_to_prepare(connector, entity)
    if since_at is not None:
        for name, exported in plan:
            if exported and not _has_updated_at(entity_model(name)):
                raise PrepareRefused(
                    f"{name.capitalize()} records have no change time; "
                    "prepare them in full instead of since a date."
                )
    result = PrepareResult(
        platform=platform,
        mode=mode,
        since=since_at,
        dry_run=dry_run,
        started_at=timezone.now(),
    )
    for name, exported in plan:
        counts = EntityPrepared(entity=name, exported=exported)
        result.entities.append(counts)
        if exported:
            records = connector.queryset(name)
            if since_at is not None:
                records = records.filter(updated_at__gte=since_at)
            _prepare_entity(
                connector, counts, records, mode=mode, dry_run=dry_run, progress=progress
            )
    return result


def _prepare_entity(
    connector: Connector,
    counts: EntityPrepared,
    records: models.QuerySet,
    *,
    mode: str,
    dry_run: bool,
    progress: Progress | None,
) -> None:
    """Prepare one entity's records batch by batch, adding to ``counts``."""
    platform, entity = connector.identifier, counts.entity
    if progress is not None:
        progress.start(entity, records.count())
    for batch in _batches(records, ids_only=mode != INCREMENTAL):
        if mode == INCREMENTAL:
            stale = _out_of_date(connector, platform, entity, batch)
        else:
            stale = [pk for pk, _ in batch]
        pending = _pending_ids(platform, entity, stale)
        queue = [pk for pk in stale if pk not in pending]
        counts.records += len(batch)
        counts.already_pending += len(stale) - len(queue)
        counts.prepared += len(queue)
        if queue and not dry_run:
            with transaction.atomic():  # its jobs are published as this commits
                if entity == Entity.CUSTOMER:
                    # Staff syncing by command: a manual sync of each customer queued, one
                    # of seed 000's initial sync events.
                    initial_sync_events_record(
                        customer_ids=queue, event=InitialSyncEvent.Event.MANUAL_SYNC
                    )
                changes_enqueue(
                    entity=entity,
                    object_ids=queue,
                    reason=f"sync prepare ({mode})",
                    platforms=[platform],
                )
        if progress is not None:
            progress.advance(len(batch))


def _entities_to_prepare(connector: Connector, entity: str | None) -> list[tuple[str, bool]]:
    """(entity, exported now) in the connector's order; refuses what cannot be prepared."""
    if entity is not None and entity not in connector.entities:
        raise PrepareRefused(
            f'{connector.name} does not take "{entity}" records; '
            f"its entities are {', '.join(connector.entities)}."
        )
    names = [entity] if entity is not None else list(connector.entities)
    plan = [(name, connector.identifier in exporting_platforms(name)) for name in names]
    if not any(exported for _, exported in plan):
        what = f"its {entity} entity" if entity is not None else "any entity"
        raise PrepareRefused(
            f"{connector.name} does not export {what}: its integration is off, or the "
            "entity is inactive or not exported (see Billing platforms and Entity settings)."
        )
    return plan


def _as_moment(since: date | datetime) -> datetime:
    if isinstance(since, datetime):
        return since if timezone.is_aware(since) else timezone.make_aware(since)
    return timezone.make_aware(datetime.combine(since, time.min))


def _has_updated_at(model: type[models.Model]) -> bool:
    try:
        model._meta.get_field("updated_at")
    except FieldDoesNotExist:
        return False
    return True


def _batches(
    records: models.QuerySet, *, ids_only: bool
) -> Iterator[list[tuple[int, models.Model | None]]]:
    """The records as batches of (pk, record), by ascending pk.

    Keyset pagination: each batch is one query starting after the last pk,
    so no batch gets slower as the table grows and writes between batches
    (the jobs queued) cannot shift the pages. With ``ids_only`` the records
    themselves are not loaded (None in their place).
    """
    ordered = records.order_by("pk")
    last = None
    while True:
        page = ordered if last is None else ordered.filter(pk__gt=last)
        if ids_only:
            batch = [(pk, None) for pk in page.values_list("pk", flat=True)[:PREPARE_BATCH]]
        else:
            batch = [(record.pk, record) for record in page[:PREPARE_BATCH]]
        if not batch:
            return
        yield batch
        last = batch[-1][0]


def _out_of_date(
    connector: Connector,
    platform: str,
    entity: str,
    batch: list[tuple[int, models.Model | None]],
) -> list[int]:
    """The pks of a batch that need a job (incremental prepare): three queries a batch."""
    ids = [pk for pk, _ in batch]
    bindings = {
        (b.role, b.object_id): b
        for b in Binding.objects.filter(platform=platform, entity=entity, object_id__in=ids)
        .exclude(external_id="")
        .only("role", "object_id", "external_id", "last_synced_at")
    }
    last_run_started = dict(
        SyncJob.objects.filter(
            platform=platform, entity=entity, object_id__in=ids, status__in=_SYNCED_STATUSES
        )
        .values("object_id")
        .annotate(started=Max("last_attempt_at"))
        .values_list("object_id", "started")
    )
    failing = set(
        error_queue()
        .filter(platform=platform, entity=entity, object_id__in=ids)
        .values_list("object_id", flat=True)
    )
    stale = []
    for pk, record in batch:
        assert record is not None  # incremental batches carry the records
        binding = bindings.get((connector.role(entity, record), pk))
        changed_at = getattr(record, "updated_at", None)
        marks = [m for m in (binding and binding.last_synced_at, last_run_started.get(pk)) if m]
        if (
            binding is None
            or pk in failing
            or not marks
            or (changed_at is not None and changed_at > max(marks))
        ):
            stale.append(pk)
    return stale


def _pending_ids(platform: str, entity: str, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    return set(
        SyncJob.objects.filter(
            platform=platform, entity=entity, object_id__in=ids, status=JobStatus.PENDING
        ).values_list("object_id", flat=True)
    )


# --- process ------------------------------------------------------------------------
def sync_process(
    *,
    platform: str,
    entity: str | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
    threads: int = 1,
) -> dict[str, int]:
    """Run the platform's due pending jobs in this process; counts per final status.

    Jobs whose record another worker holds are counted as "taken elsewhere";
    jobs a recoverable error sends back to wait count as pending. ``threads`` jobs run
    at once (PostgreSQL only: SQLite lets one connection write at a time); ValueError
    naming the problem otherwise, before anything runs.
    """
    connector_for(platform)
    threads_check(threads)
    if progress is not None:
        due = SyncJob.objects.filter(
            platform=platform, status=JobStatus.PENDING, next_attempt_at__lte=timezone.now()
        )
        if entity:
            due = due.filter(entity=entity)
        total = due.count()
        progress.start("processing", total if limit is None else min(total, limit))
    return jobs_process_due(
        platform=platform,
        entity=entity,
        limit=limit,
        progress=progress.advance if progress is not None else None,
        threads=threads,
    )


def threads_check(threads: int) -> None:
    """ValueError unless ``threads`` jobs can run at once on this database."""
    if threads < 1:
        raise ValueError(f"Jobs run on at least 1 thread, not {threads}.")
    if threads > 1 and connection.vendor == "sqlite":
        raise ValueError(
            f"{threads} threads need PostgreSQL: SQLite lets one connection write at a time, "
            "so the jobs would wait on each other's locks. Run with 1 thread here."
        )


def sync_statuses_since(
    *, platform: str, since: datetime, entity: str | None = None
) -> dict[str, dict[str, int]]:
    """Entity → status → count of the platform's jobs written since ``since``.

    What a run of ``sync`` came to: the jobs it queued and ran (or that ran
    as they were queued, with no broker), where each stands now.
    """
    jobs = SyncJob.objects.filter(platform=platform, updated_at__gte=since)
    if entity:
        jobs = jobs.filter(entity=entity)
    found: dict[str, dict[str, int]] = {}
    for name, status, count in (
        jobs.values("entity", "status").annotate(n=Count("id")).values_list("entity", "status", "n")
    ):
        found.setdefault(name, {})[status] = count
    return found
