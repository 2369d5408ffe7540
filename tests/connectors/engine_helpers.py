"""Helpers of the sync engine's own tests (tests/connectors/test_*.py of the engine)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.db import models
from django.utils import timezone

from billing.models import BillingPlatform
from connectors.choices import Entity
from connectors.engine.entity_settings import entity_settings_ensure
from connectors.engine.run import job_process
from connectors.models import SyncJob
from tests.connectors.fake import PLATFORM

T = TypeVar("T")


def integration_set(*, enabled: bool) -> None:
    """Turn the fake platform's integration on or off (its entity settings made if missing)."""
    BillingPlatform.objects.update_or_create(
        code=PLATFORM, defaults={"name": "Fake platform", "integration_enabled": enabled}
    )
    entity_settings_ensure()


@contextmanager
def integration_off() -> Iterator[None]:
    """Within the block changes queue nothing for the fake platform (records made quietly)."""
    integration_set(enabled=False)
    try:
        yield
    finally:
        integration_set(enabled=True)


def jobs_of(record: models.Model, entity: str = Entity.CUSTOMER) -> list[SyncJob]:
    """The record's jobs on the fake platform, oldest first."""
    return list(
        SyncJob.objects.filter(platform=PLATFORM, entity=entity, object_id=record.pk).order_by("id")
    )


def job_of(record: models.Model, entity: str = Entity.CUSTOMER) -> SyncJob:
    """The record's one job on the fake platform (fails if it has none or several)."""
    (job,) = jobs_of(record, entity)
    return job


def wait_until_due(job: SyncJob) -> None:
    """Sleep until the job's next attempt time has passed (backoffs are short in tests)."""
    job.refresh_from_db()
    remaining = (job.next_attempt_at - timezone.now()).total_seconds()
    if remaining > 0:
        time.sleep(remaining + 0.01)


def run_when_due(job: SyncJob) -> SyncJob:
    """Wait out the job's backoff, then process its record as a worker would."""
    wait_until_due(job)
    finished = job_process(job.platform, job.entity, job.object_id)
    assert finished is not None, "the job was not due, or was taken elsewhere"
    return finished


def wait_for(probe: Callable[[], T | None], *, timeout: float, what: str) -> T:
    """Call ``probe`` until it returns something truthy, for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"Gave up waiting {timeout:g} s for {what}.")
        time.sleep(0.02)


def platform_connections_open() -> list[str]:
    """The live server's threads serving a connection (kept alive by a client that has not
    closed it)."""
    return [t.name for t in threading.enumerate() if "process_request_thread" in t.name]
