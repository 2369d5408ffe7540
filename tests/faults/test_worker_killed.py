"""A worker killed with SIGKILL in the middle of a job: another worker completes it, once.

Two real workers share a queue. The first call to create a company hangs at the
platform (the emulator's ``hang_next``, on POSTs only), and the worker making it
is killed with SIGKILL while it waits: no warm shutdown, no acknowledgement, its
job left in flight under a lease. The hung call still reaches the platform a
moment later, as a create whose answer nobody read. The sweeper releases the job
once its (short) lease has passed; the other worker runs it, finds the company by
its natural key and binds it instead of creating a second one. The broker still
holds the killed worker's unacknowledged message: a worker started afterwards (its
supervisor's restart) gets it redelivered, and it changes nothing.
"""

import re
import threading
import time

from connectors.choices import Entity, JobStatus, Operation
from connectors.engine.queue import job_request
from connectors.engine.sweep import sync_sweep
from tests.connectors.abillity.helpers import integration
from tests.connectors.worker_helpers import wait_for

from .helpers import (
    assert_all_done,
    companies_by_name,
    company_creates,
    customer_with_site,
    describe_jobs,
    jobs,
    kill_hard,
    needs_postgresql,
    wait_settled,
    worker_pid,
)

pytestmark = needs_postgresql

LEASE = 5.0  # seconds: well over a call's timeout (2 s), so only a dead worker loses it
HANG = 1.5  # the hung create completes at the platform before the lease passes
VISIBILITY = 3  # seconds before the broker hands an unacknowledged message out again
WORKER_SETTINGS = {
    "SYNC_LEASE_SECONDS": str(LEASE),
    "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY),
    # The settings refuse a visibility timeout below the longest countdown or backoff.
    "SYNC_MAX_COUNTDOWN": "1",
    "SYNC_BACKOFF_CAP": "1",
}


def received_task_ids(log: str) -> list[str]:
    return re.findall(r"Task connectors\.job_process\[([-\w]+)\] received", log)


def test_a_job_whose_worker_is_killed_mid_call_completes_on_another_without_a_duplicate(
    abillity, private_redis, start_workers, publishing, queue, monkeypatch, settings
):
    integration(False)  # built first: the job below is the only one
    customer = customer_with_site("Killed Worker Ltd")
    integration(True)
    workers = start_workers(2, WORKER_SETTINGS)

    hanging = threading.Event()
    draw_faults = abillity._draw_faults

    def draw_and_report(method):
        delay, hang, forced = draw_faults(method)
        if hang:
            hanging.set()
        return delay, hang, forced

    monkeypatch.setattr(abillity, "_draw_faults", draw_and_report)
    abillity.faults_set(hang_next=1, hang_seconds=HANG, only_method="POST")

    job = job_request(
        platform="abillity", entity=Entity.CUSTOMER, object_id=customer.pk, reason="kill test"
    )
    assert hanging.wait(30), f"No call hung at the platform. {describe_jobs()}"
    job.refresh_from_db()
    assert job.status == JobStatus.IN_FLIGHT, describe_jobs()
    holder = next(w for w in workers if w.process.pid == worker_pid(job.locked_by))
    survivor = next(w for w in workers if w is not holder)
    lost_task = received_task_ids(holder.log())[-1]
    kill_hard(holder)

    # The create the killed worker sent is carried out anyway, its answer unread.
    wait_for(lambda: company_creates(abillity), timeout=HANG + 10, describe=describe_jobs)
    job.refresh_from_db()
    assert job.status == JobStatus.IN_FLIGHT, "the job left flight with its worker dead"

    # Celery beat's sweeper, run here every half second with a short grace.
    settings.SYNC_PUBLISH_GRACE = 1.0
    released = []

    def sweep():
        released.append(sync_sweep()["released"])
        time.sleep(0.25)

    wait_settled(survivor, timeout=LEASE + 30, sweep=sweep)

    job.refresh_from_db()
    assert sum(released) == 1, released
    assert job.status == JobStatus.SUCCEEDED, describe_jobs()
    # The lost run is not counted; the retry found the killed worker's company by name
    # and bound it (then created the company's billing site: the job "inserted").
    assert job.attempts == 1, describe_jobs()
    assert job.operation == Operation.INSERTED, describe_jobs()
    assert "Found the existing company" in job.last_error
    assert re.search(r"Task connectors\.job_process\[[-\w]+\] succeeded", survivor.log())
    assert companies_by_name(abillity) == {"Killed Worker Ltd": 1}
    assert len(company_creates(abillity)) == 1

    # The killed worker's message, never acknowledged: the broker hands it out again to
    # the next worker to start (its supervisor's restart), and it finds nothing to do.
    (restarted,) = start_workers(1, WORKER_SETTINGS)
    wait_for(
        lambda: any(lost_task in received_task_ids(w.log()) for w in (survivor, restarted)),
        timeout=30,
        describe=lambda: f"Message {lost_task} not redelivered. {restarted.describe()}",
    )
    wait_for(
        lambda: private_redis.unacked() == 0 and private_redis.queued(queue) == 0,
        timeout=30,
        describe=lambda: f"{private_redis.unacked()} unacked, {private_redis.queued(queue)} queued",
    )
    wait_settled(survivor, restarted)
    assert_all_done()
    assert companies_by_name(abillity) == {"Killed Worker Ltd": 1}
    assert len(company_creates(abillity)) == 1
    assert jobs().filter(entity=Entity.CUSTOMER, status=JobStatus.SUCCEEDED).count() == 1
