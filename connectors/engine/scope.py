"""The running job's scope: what a job and the dependencies run inside it share.

Owns the per-job memo (``job_memo``: a setting read once per job, not once per step)
and the records synced inline as dependencies (``synced_inline``), kept in a context
variable for the job at the top of the run (``job_scope``) and ended with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass
class JobScope:
    """What the job running now (its dependencies' jobs included) keeps for all its steps."""

    # The records whose jobs ran and succeeded inside it (its dependencies, synced first).
    synced: set[tuple[str, int]] = field(default_factory=set)
    memo: dict[str, Any] = field(default_factory=dict)  # job_memo's reads


_current: ContextVar[JobScope | None] = ContextVar("job_scope", default=None)


@contextmanager
def job_scope() -> Iterator[JobScope]:
    """The running job's scope: a new one for a job at the top, its caller's for a
    dependency's job run inside it."""
    scope = _current.get()
    if scope is not None:
        yield scope
        return
    scope = JobScope()
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)


def current_job_scope() -> JobScope | None:
    """The scope of the job running in this thread, or None outside a job."""
    return _current.get()


def job_memo(key: str, read: Callable[[], Any]) -> Any:
    """``read()``, once per running job (its dependencies' jobs included): for settings a
    connector reads at several steps. Outside a job, read every time."""
    scope = _current.get()
    if scope is None:
        return read()
    if key not in scope.memo:
        scope.memo[key] = read()
    return scope.memo[key]


def synced_inline(entity: str) -> set[int]:
    """Ids of the ``entity`` records synced inside the running job, after its own push
    began: a connector need not queue them again for a change of the job's record."""
    scope = _current.get()
    return {pk for synced, pk in (scope.synced if scope else ()) if synced == entity}
