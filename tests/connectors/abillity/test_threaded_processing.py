"""Jobs run on several threads of one process, against the emulator over real HTTP.

``jobs_process_due(threads=N)`` runs N jobs at once, each thread on its own database
connection, as N workers would; ``SYNC_CALLS_PER_PROCESS`` holds the process to that
many platform calls on the wire at once (``connectors.http.call_slot``).
"""

import json
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from connectors.choices import ERROR_STATUSES, JobStatus
from connectors.engine.sweep import jobs_process_due
from connectors.models import SyncJob
from connectors.prepare import sync_prepare, sync_process
from tests.connectors.worker_helpers import calls_at_once as counting_calls_at_once
from tests.connectors.worker_helpers import capture_publishes
from tests.factories import ContactFactory, CustomerFactory, SiteFactory
from tests.helpers import on_postgresql

from .helpers import integration

CUSTOMERS = 4


@pytest.fixture
def customers(abillity, settings, monkeypatch):
    """Customers of two sites and two contacts each, built with the integration off; jobs
    queued from here on wait for a worker (none runs as it is queued)."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    capture_publishes(monkeypatch)
    integration(False)
    made = []
    for n in range(CUSTOMERS):
        customer = CustomerFactory(name=f"Threaded {n} Ltd", bill_run="Monthly 1st")
        SiteFactory(customer=customer, name="Head Office", is_default=True)
        SiteFactory(customer=customer, name="Depot")
        ContactFactory.create_batch(2, customer=customer)
        made.append(customer)
    integration(True)
    return made


@pytest.fixture
def calls_at_once(abillity):
    """The most API calls the emulator was answering at one time (its latency included)."""
    abillity.faults_set(latency_ms=40)  # long enough for calls of two threads to overlap
    with counting_calls_at_once(abillity) as seen:
        yield seen


def queue_all() -> int:
    """Queue the initial sync (as ``manage.py sync`` does); how many jobs wait."""
    sync_prepare(platform="abillity")
    waiting = SyncJob.objects.filter(status=JobStatus.PENDING).count()
    assert waiting >= CUSTOMERS
    return waiting


def run_dry(threads: int) -> None:
    """Run the due jobs on ``threads`` threads until none is pending (a job that found its
    dependency in flight on another thread waits a little: made due again here)."""
    for _ in range(10):
        pending = SyncJob.objects.filter(status=JobStatus.PENDING)
        if not pending.exists():
            return
        pending.update(next_attempt_at=timezone.now())
        jobs_process_due(platform="abillity", threads=threads)
    raise AssertionError(f"jobs still pending: {list(pending.values('entity', 'last_error'))}")


def names_on_the_platform(emulator) -> list[str]:
    return sorted(company["Name"] for company in emulator.state["companies"].values())


@on_postgresql
@pytest.mark.parametrize(("slots", "most"), [(1, 1), (0, None)])
def test_jobs_on_three_threads_sync_everything_once_within_the_call_slots(
    abillity, customers, calls_at_once, settings, slots, most
):
    settings.SYNC_CALLS_PER_PROCESS = slots
    queue_all()

    run_dry(threads=3)

    assert not SyncJob.objects.filter(status__in=ERROR_STATUSES).exists()
    assert names_on_the_platform(abillity) == [c.name for c in customers]
    assert len(abillity.state["sites"]) == 2 * CUSTOMERS
    if most is not None:
        assert calls_at_once["most"] == most
    else:  # no limit: the threads' calls did overlap, so the slot is what held them to one
        assert calls_at_once["most"] > 1


@on_postgresql
def test_an_error_in_a_job_thread_is_raised_to_the_caller_after_all_stop(
    abillity, customers, monkeypatch
):
    from connectors.engine import run

    queue_all()
    taken = []

    def broken(platform, entity, object_id):
        taken.append(object_id)
        raise RuntimeError(f"broken {entity} #{object_id}")

    monkeypatch.setattr(run, "job_process", broken)
    with pytest.raises(RuntimeError, match="broken customer"):
        jobs_process_due(platform="abillity", threads=2)
    # A thread stops at its first error, and none takes a job after one: of the queue
    # (4 customers and their sites and contacts), each thread took one at most.
    assert 1 <= len(taken) <= 2
    assert not [t for t in threading.enumerate() if t.name.startswith("sync-job-")]


def test_fewer_than_one_thread_is_refused(abillity):
    with pytest.raises(ValueError, match="at least 1 thread, not 0"):
        sync_process(platform="abillity", threads=0)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's refusal")
def test_threads_are_refused_on_sqlite_before_anything_runs(abillity, customers):
    queued = queue_all()
    with pytest.raises(ValueError, match="2 threads need PostgreSQL"):
        sync_process(platform="abillity", threads=2)
    assert SyncJob.objects.filter(status=JobStatus.PENDING).count() == queued


def test_the_sync_command_takes_threads_with_process_only(abillity):
    with pytest.raises(CommandError, match="--threads is for --process"):
        call_command("sync", platform="abillity", threads=2)
    with pytest.raises(CommandError, match="at least 1 thread"):
        call_command("sync", platform="abillity", process=True, threads=0)


@on_postgresql
def test_the_sync_command_processes_on_threads(abillity, customers, settings, capsys):
    settings.SYNC_CALLS_PER_PROCESS = 1
    call_command("sync", platform="abillity", process=True, threads=2, as_json=True)
    assert json.loads(capsys.readouterr().out)["processed"]
    run_dry(threads=2)  # what waited on a dependency in flight on the other thread
    assert names_on_the_platform(abillity) == [c.name for c in customers]
    assert not SyncJob.objects.filter(status__in=ERROR_STATUSES).exists()
