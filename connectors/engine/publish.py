"""Publishing: the jobs a change writes, and the task published for each after commit.

Owns ``changes_enqueue`` (a pending job per exporting platform and record, merged into
the record's pending one) and how a record's processing task reaches the broker:
once per record per transaction, after commit (``publish_on_commit``), best effort
(``job_publish``: the sweeper covers a publish that failed). Nothing here reads a
record or talks to a platform.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..choices import DEPENDENCY_ORDER
from ..models import SyncJob
from ..selectors import exporting_platforms

logger = logging.getLogger(__name__)


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


def publishing_eagerly() -> bool:
    """Whether tasks run here and now (no broker): a delayed publish is then the sweeper's."""
    from ..tasks import job_process_task

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
    from ..tasks import job_process_task

    eager = publishing_eagerly()
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
    whose worker runs the first and publishes the others (``engine.run.jobs_dispatch``),
    so they still spread over the workers, without the saving request paying for their
    messages. With eager tasks (no broker) each record's job runs here, in turn. A failed
    publish leaves the jobs pending, due: the sweeper publishes them (``sync_sweep``).
    """
    if len(keys) <= 1 or publishing_eagerly():
        return all([job_publish(*key) for key in keys])
    from ..tasks import jobs_process_task

    try:
        jobs_process_task.apply_async(args=([list(key) for key in keys],))
    except Exception:
        logger.exception("Could not publish the sync of %s; the sweeper will", _named(keys))
        return False
    return True


def record_key(key: Iterable) -> RecordKey:
    """A record to sync as ``(platform, entity, id)``, from a message's ``[p, e, id]``."""
    try:
        platform, entity, object_id = key
        return str(platform), str(entity), int(object_id)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"A record to sync is [platform, entity, id], not {key!r}.") from exc


def jobs_publish_each(keys: list[RecordKey]) -> None:
    """A ``connectors.job_process`` message per record, sent in one broker round trip
    (kombu's producer batch: one pipeline on Redis); on failure, left to the sweeper."""
    from ..tasks import job_process_task

    app = job_process_task.app
    try:
        with app.producer_or_acquire() as producer, producer.batch():
            for key in keys:
                job_process_task.apply_async(args=key, producer=producer)
    except Exception:
        logger.exception("Could not publish the sync of %s; the sweeper will", _named(keys))


def _named(keys: list[RecordKey]) -> str:
    return ", ".join(f"{platform} {entity} #{object_id}" for platform, entity, object_id in keys)
