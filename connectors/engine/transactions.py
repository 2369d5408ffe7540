"""How the engine's writes use transactions: a savepoint only where one is needed."""

from __future__ import annotations

from contextlib import nullcontext

from django.db import transaction


def savepoint_if_nested():
    """A savepoint inside a transaction, so a failed write leaves the caller's
    transaction usable; nothing in autocommit, where a failed statement spoils nothing
    and a transaction of one statement would cost two more round trips."""
    if transaction.get_connection().in_atomic_block:
        return transaction.atomic()
    return nullcontext()
