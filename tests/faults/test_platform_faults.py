"""The platform answering 500, 429 with Retry-After, or hanging past the timeout for a while.

Three customers are saved while the emulator misbehaves; two real workers retry
with the engine's backoff until it recovers. Every customer then reaches the
platform once, and the SyncAttempt rows show the retries kept to the bounds: a
job's next attempt never comes before a 429's Retry-After, nor later than the
backoff ceiling (``min(cap, base * 2 ** (n - 1))`` after its n-th failure) plus
the time a worker may take to get to it.

The workers run with the test settings (backoff base 0.2 s, cap 2 s, read
timeout 2 s: ``layer_sync.settings_test``), which this process reads too.
"""

from __future__ import annotations

import time

from django.conf import settings

from connectors.choices import Entity, JobStatus
from connectors.models import SyncAttempt
from customers import services as customer_services
from tests.connectors.abillity.helpers import integration
from tests.connectors.worker_helpers import wait_for

from .helpers import (
    RetryGap,
    assert_all_done,
    backoff_ceiling,
    companies_by_name,
    company_creates,
    customer_with_site,
    describe_jobs,
    jobs,
    needs_postgresql,
    retry_gaps,
    wait_settled,
)

pytestmark = needs_postgresql

CUSTOMERS = 3
# What a worker may add to a due retry: the message's trip, a claim, and another job's
# run it is in the middle of (a job's calls take milliseconds here, but for hangs).
DISPATCH_SLACK = 1.0


def saved_during(
    emulator, start_workers, name: str, *, count: int = CUSTOMERS, **faults
) -> list[str]:
    """Set the faults, save ``count`` customers, wait until every job has settled.

    Returns the names of the customers saved.
    """
    integration(False)  # built without jobs: each save below makes one customer job
    customers = [customer_with_site(f"{name} {n} Ltd") for n in range(1, count + 1)]
    integration(True)
    workers = start_workers(2)
    emulator.faults_set(**faults)
    for customer in customers:
        customer_services.customer_save(customer=customer)
    wait_settled(*workers)
    return [customer.name for customer in customers]


def assert_each_arrived_once(emulator, names: list[str]) -> None:
    assert_all_done()
    assert companies_by_name(emulator) == dict.fromkeys(names, 1)
    assert len(company_creates(emulator)) == len(names)
    for job in jobs().filter(entity=Entity.CUSTOMER):
        assert job.status == JobStatus.SUCCEEDED, describe_jobs()


def failed_gaps(status: int | None) -> list[RetryGap]:
    return [gap for gap in retry_gaps(jobs().values_list("pk", flat=True)) if gap.status == status]


def describe(gaps: list[RetryGap]) -> str:
    return "Gaps: " + "; ".join(
        f"job #{g.job_id} failure {g.failure} ({g.status}): {g.gap:.3f} s" for g in gaps
    )


def assert_within_backoff(gaps: list[RetryGap], *, slack: float = DISPATCH_SLACK) -> None:
    base, cap = settings.SYNC_BACKOFF_BASE, settings.SYNC_BACKOFF_CAP
    for gap in gaps:
        assert gap.gap >= 0, describe(gaps)
        assert gap.gap <= backoff_ceiling(gap.failure, base=base, cap=cap) + slack, describe(gaps)


def test_platform_500s_for_a_while_every_change_arrives_once_within_the_backoff_bounds(
    abillity, start_workers, publishing
):
    names = saved_during(abillity, start_workers, "Five Hundred", fail_next=6, fail_status=500)

    assert_each_arrived_once(abillity, names)
    # Each 500 ended one attempt, and each was retried within the backoff.
    assert SyncAttempt.objects.filter(status_code=500).count() == 6
    gaps = failed_gaps(500)
    assert len(gaps) == 6, describe(gaps)
    assert_within_backoff(gaps)


def test_platform_429s_are_retried_no_sooner_than_retry_after_and_every_change_arrives_once(
    abillity, start_workers, publishing
):
    retry_after = 1.0  # under the backoff cap (2 s), which also caps a Retry-After
    names = saved_during(
        abillity,
        start_workers,
        "Too Many",
        fail_next=4,
        fail_status=429,
        retry_after=retry_after,
    )

    assert_each_arrived_once(abillity, names)
    gaps = failed_gaps(429)
    assert len(gaps) == 4, describe(gaps)
    for gap in gaps:
        # The attempt row ends when the answer came; the next attempt may not start
        # before Retry-After has passed (1 ms: the row's duration is whole milliseconds).
        assert gap.gap >= retry_after - 0.001, describe(gaps)
        ceiling = backoff_ceiling(
            gap.failure, base=settings.SYNC_BACKOFF_BASE, cap=settings.SYNC_BACKOFF_CAP
        )
        assert gap.gap <= max(ceiling, retry_after) + DISPATCH_SLACK, describe(gaps)


def test_platform_hanging_past_the_timeout_every_change_arrives_once_within_the_backoff(
    abillity, start_workers, publishing
):
    timeout = settings.SYNC_READ_TIMEOUT
    # The lookups hang: a GET done late changes nothing, so no create can be lost.
    names = saved_during(
        abillity,
        start_workers,
        "Hanging",
        hang_next=2,
        hang_seconds=timeout + 1,
        only_method="GET",
    )

    assert_each_arrived_once(abillity, names)
    timed_out = SyncAttempt.objects.filter(status_code__isnull=True)
    assert timed_out.count() == 2
    for call in timed_out:
        assert f"did not answer within {timeout:g} s" in call.error
        assert call.duration_ms >= timeout * 1000 - 50
    gaps = failed_gaps(None)
    assert len(gaps) == 2, describe(gaps)
    # A worker may be sitting out the other hung call when a retry falls due.
    assert_within_backoff(gaps, slack=DISPATCH_SLACK + timeout)


def test_a_create_hanging_past_the_timeout_is_not_made_twice_on_the_platform(
    abillity, start_workers, publishing, monkeypatch
):
    timeout = settings.SYNC_READ_TIMEOUT
    hang = timeout + 4  # the platform finishes the create 4 s after the client gave up
    hung_at = []
    draw_faults = abillity._draw_faults

    def draw_and_note(method):
        delay, hung, forced = draw_faults(method)
        if hung:
            hung_at.append(time.monotonic())
        return delay, hung, forced

    monkeypatch.setattr(abillity, "_draw_faults", draw_and_note)
    (name,) = saved_during(
        abillity,
        start_workers,
        "Hung Create",
        count=1,
        hang_next=1,
        hang_seconds=hang,
        only_method="POST",
    )
    assert len(hung_at) == 1
    # Look once the platform has carried the hung create out.
    wait_for(
        lambda: time.monotonic() > hung_at[0] + hang + 0.5,
        timeout=hang + 10,
    )
    wait_settled()

    assert companies_by_name(abillity) == {name: 1}
