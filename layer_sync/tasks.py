"""Shared task plumbing."""

import logging

from celery import Task
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: Task, *args: object, using: str | None = None) -> None:
    """Publish `task` with `args` once the current transaction commits.

    Outside a transaction it publishes at once. With no broker configured the
    task runs eagerly at that moment, in this process. A rollback publishes
    nothing. Arguments must be ids and plain values (JSON), never secrets.

    Publishing is best effort: the change it follows has already committed,
    so a broker that is down (or an eager task that fails) is logged, not
    raised to the caller. Work that must not be lost is kept in a database
    row written with the change, which a periodic sweeper republishes.
    """

    def publish() -> None:
        try:
            task.delay(*args)
        except Exception:
            logger.exception(
                "Could not publish task %s%r; it stays due in the database", task.name, args
            )

    transaction.on_commit(publish, using=using)
