"""Helpers of the fault tests: a private Redis, real workers, the Abillity emulator's record.

Everything here runs on loopback and is bounded: every wait is a poll with a
timeout that fails with what it saw, every process started is ended by its id.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest
import redis
from django.db import connection, transaction
from redis.backoff import NoBackoff
from redis.retry import Retry

from connectors.abillity.sandbox import PLATFORM
from connectors.choices import JobStatus
from connectors.engine.queue import initial_sync_events_record
from connectors.models import InitialSyncEvent, SyncAttempt, SyncJob
from connectors.sandbox import Emulator
from customers.models import Customer
from tests.connectors.worker_helpers import CeleryWorker, wait_for
from tests.factories import CustomerFactory, SiteFactory

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: the Celery workers are separate processes, which cannot open "
    "SQLite's in-memory test database",
)

# Booting a worker (Django, Celery) on two shared cores: generous, still bounded.
WORKER_BOOT_TIMEOUT = 60
# Jobs settling once the fault is over (retries, busy records, sweeps).
SETTLE_TIMEOUT = 45
# What the engine may finish a job with when it did its work (SKIPPED: merged into a
# newer pending job of the record, which carried it on).
DONE = (JobStatus.SUCCEEDED, JobStatus.NO_CHANGE, JobStatus.SKIPPED)
OPEN = (JobStatus.PENDING, JobStatus.IN_FLIGHT)


# --- a private Redis ---------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A ``redis-server`` of the test's own on a free loopback port, without persistence.

    ``stop`` ends it (SIGTERM, by its id) and ``start`` brings it back on the same port,
    empty: what a broker outage does to the messages it held.
    """

    def __init__(self, directory: Path) -> None:
        self.executable = shutil.which("redis-server") or ""
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        # No retries: redis-py's default ones take seconds to say a stopped server is down.
        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            socket_connect_timeout=1,
            socket_timeout=2,
            retry=Retry(NoBackoff(), 0),
        )

    def answers(self) -> bool:
        client = self.client()
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self, timeout: float = 10) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.starts += 1
        log = self.directory / f"redis-{self.starts}.log"
        command = [
            self.executable,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
            "--logfile",
            str(log),
        ]
        self.process = subprocess.Popen(  # noqa: S603 (a fixed command of our own)
            command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        wait_for(
            lambda: self.answers() or self.process.poll() is not None,
            timeout=timeout,
            describe=lambda: f"redis-server on port {self.port} did not answer.",
        )
        assert self.process.poll() is None, log.read_text(errors="replace")[-2000:]

    def stop(self, timeout: float = 10) -> None:
        """End the server (SIGTERM, then SIGKILL), and wait until its port refuses."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        wait_for(
            lambda: not self.answers(),
            timeout=timeout,
            describe=lambda: f"port {self.port} still answers",
        )

    def unacked(self) -> int:
        """Messages delivered to a worker and not acknowledged (kombu's ``unacked`` hash)."""
        client = self.client()
        try:
            return int(client.hlen("unacked"))
        finally:
            client.close()

    def queued(self, queue: str) -> int:
        client = self.client()
        try:
            return int(client.llen(queue))
        finally:
            client.close()


# --- workers -------------------------------------------------------------------------------
def worker_ready(worker: CeleryWorker) -> bool:
    assert worker.running(), worker.describe()
    return " ready." in worker.log()


def wait_ready(workers: Iterable[CeleryWorker]) -> None:
    for worker in workers:
        wait_for(
            lambda worker=worker: worker_ready(worker),
            timeout=WORKER_BOOT_TIMEOUT,
            interval=0.2,
            describe=worker.describe,
        )


def worker_pid(locked_by: str) -> int:
    """The process id in a job's ``locked_by`` (``host:pid``)."""
    return int(locked_by.rsplit(":", 1)[1])


def kill_hard(worker: CeleryWorker, timeout: float = 10) -> None:
    """SIGKILL the worker process (by its id): no warm shutdown, no ack, no cleanup."""
    assert worker.process is not None
    worker.process.send_signal(signal.SIGKILL)
    worker.process.wait(timeout)


# --- records and jobs ------------------------------------------------------------------------
def customer_with_site(name: str) -> Customer:
    """A customer and its default site, saved in one transaction (one change, its jobs).

    The customer has had its initial sync event (seed 000: a customer made directly is
    synced from its manual sync on), as one made from an order or a lead would."""
    with transaction.atomic():
        customer = CustomerFactory(name=name)
        initial_sync_events_record(
            customer_ids=[customer.pk], event=InitialSyncEvent.Event.MANUAL_SYNC
        )
        SiteFactory(customer=customer, name=f"{name} head office", is_default=True)
    return customer


def jobs():
    return SyncJob.objects.filter(platform=PLATFORM).order_by("pk")


def describe_jobs() -> str:
    return "Jobs: " + "; ".join(
        f"#{j.pk} {j.entity} {j.object_id} {j.status} attempts {j.attempts} "
        f"next {j.next_attempt_at:%H:%M:%S.%f} lease {j.locked_until} by {j.locked_by!r} "
        f"{j.last_error[:200]!r}"
        for j in jobs()
    )


def wait_settled(
    *workers: CeleryWorker,
    timeout: float = SETTLE_TIMEOUT,
    sweep: Callable[[], object] | None = None,
) -> None:
    """Wait until no Abillity job is pending or in flight (calling ``sweep`` between looks)."""

    def settled() -> bool:
        if sweep is not None:
            sweep()
        return not jobs().filter(status__in=OPEN).exists()

    def describe() -> str:
        logs = "\n".join(worker.describe() for worker in workers)
        return f"{describe_jobs()}\n{logs}"

    wait_for(settled, timeout=timeout, interval=0.25, describe=describe)


def assert_all_done() -> None:
    """Every job finished having done its work: none failed, aborted or left open."""
    assert not jobs().exclude(status__in=DONE).exists(), describe_jobs()


def companies_by_name(emulator: Emulator) -> dict[str, int]:
    """How many Abillity companies the emulator holds of each name."""
    counts: dict[str, int] = {}
    for company in emulator.state["companies"].values():
        counts[company["Name"]] = counts.get(company["Name"], 0) + 1
    return counts


def company_creates(emulator: Emulator) -> list[dict]:
    """The company creations the emulator carried out (not those a fault answered)."""
    return [call for call in emulator.calls("POST", "company") if call["status"] == 201]


# --- retry timing ------------------------------------------------------------------------------
RETRYABLE = (None, 429, 500, 502, 503, 504)


@dataclass(frozen=True)
class RetryGap:
    """A failed call of a job and the first call of its next attempt."""

    job_id: int
    failure: int  # 1 for the job's first failed attempt, 2 for its second, ...
    status: int | None  # None: no answer (a timeout)
    gap: float  # seconds from the failed call's end to the next call's start


def retry_gaps(job_ids: Iterable[int]) -> list[RetryGap]:
    """The gaps between each failed attempt of the jobs and their next attempt.

    A job's attempt ends at its first failed call (the error ends the run), so the
    call after a failed one is the next attempt's first.
    """
    gaps = []
    for job_id in job_ids:
        calls = list(SyncAttempt.objects.filter(job_id=job_id).order_by("started_at", "pk"))
        failures = 0
        for call, following in pairwise(calls):
            if call.status_code not in RETRYABLE:
                continue
            failures += 1
            ended = call.started_at + timedelta(milliseconds=call.duration_ms)
            gaps.append(
                RetryGap(
                    job_id=job_id,
                    failure=failures,
                    status=call.status_code,
                    gap=(following.started_at - ended).total_seconds(),
                )
            )
    return gaps


def backoff_ceiling(failure: int, *, base: float, cap: float) -> float:
    """The longest the engine may wait after a job's ``failure``-th failed attempt."""
    return min(cap, base * 2 ** (failure - 1))
