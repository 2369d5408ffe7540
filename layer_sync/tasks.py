"""Shared task plumbing."""

from collections.abc import Callable
from functools import partial

from celery import Task
from django.db import transaction


def enqueue_on_commit(task: Task, *args: object, using: str | None = None) -> None:
    """Publish `task` with `args` once the current transaction commits.

    Outside a transaction it publishes at once. With no broker configured the
    task runs eagerly at that moment, in this process. A rollback publishes
    nothing. Arguments must be ids and plain values (JSON), never secrets.
    """
    publish: Callable[[], object] = partial(task.delay, *args)
    transaction.on_commit(publish, using=using)
