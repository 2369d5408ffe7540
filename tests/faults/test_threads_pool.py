"""A Celery worker on its threads pool: jobs at once in one process, one call on the wire.

``celery worker -P threads -c 3`` with ``SYNC_CALLS_PER_PROCESS=1`` (README, "Scale
out"): the worker's threads run three jobs at once, each on its own database
connection, and share one call slot, so the platform sees one call at a time.
"""

import pytest

from tests.connectors.worker_helpers import calls_at_once as counting_calls_at_once

from .helpers import (
    assert_all_done,
    companies_by_name,
    customer_with_site,
    needs_postgresql,
    wait_settled,
)

pytestmark = needs_postgresql

CUSTOMERS = 6


@pytest.fixture
def calls_at_once(abillity):
    """The most API calls the emulator was answering at one time (its latency included)."""
    with counting_calls_at_once(abillity) as seen:
        yield seen


@pytest.mark.parametrize(("slots", "most"), [("1", 1), ("0", None)])
def test_a_threads_pool_worker_keeps_to_its_call_slots_and_syncs_each_customer_once(
    abillity, start_workers, publishing, calls_at_once, slots, most
):
    workers = start_workers(1, environment={"SYNC_CALLS_PER_PROCESS": slots}, pool=("threads", 3))
    abillity.faults_set(latency_ms=60)  # calls long enough for three jobs' to meet
    names = [f"Pooled {n} Ltd" for n in range(CUSTOMERS)]
    for name in names:
        customer_with_site(name)
    wait_settled(*workers)

    assert_all_done()
    assert companies_by_name(abillity) == dict.fromkeys(names, 1)
    if most is not None:
        assert calls_at_once["most"] == most
    else:  # no limit: the pool's jobs did overlap, so the slot is what held them to one
        assert calls_at_once["most"] > 1
