"""Concurrent syncs and edits of one record, on PostgreSQL (real concurrent transactions).

Each thread has its own database connection, as separate workers would; the
fake platform's emulator answers over real HTTP with added latency, so the
calls overlap. Publishing is captured: the threads run the jobs themselves.
"""

import threading
import time

import pytest
from django.db import connection

from connectors.choices import Entity, JobStatus, Operation
from connectors.engine.claim import job_claim
from connectors.engine.queue import job_request
from connectors.engine.run import job_process, job_run
from connectors.models import Binding, SyncJob
from customers import services as customer_services
from customers.models import Customer
from tests.connectors.fake import PLATFORM
from tests.connectors.worker_helpers import capture_publishes, wait_for
from tests.factories import CustomerFactory
from tests.helpers import on_postgresql, run_concurrently

pytestmark = on_postgresql

SYNCS = 20


@pytest.fixture
def published(monkeypatch):
    return capture_publishes(monkeypatch)


def open_jobs(object_id: int) -> SyncJob | None:
    return SyncJob.objects.filter(
        platform=PLATFORM,
        entity=Entity.CUSTOMER,
        object_id=object_id,
        status__in=(JobStatus.PENDING, JobStatus.IN_FLIGHT),
    ).first()


def drain(object_id: int, timeout: float = 20) -> None:
    """Run the record's open jobs now, whatever their schedule, until none is left.

    Jobs pushed back because the record was busy wait for a while; the tests
    look at what they do when they run, not at how long they wait.
    """

    def done():
        job = job_claim(
            platform=PLATFORM, entity=Entity.CUSTOMER, object_id=object_id, ignore_schedule=True
        )
        if job is not None:
            job_run(job)
        return open_jobs(object_id) is None

    def describe():
        jobs = SyncJob.objects.filter(platform=PLATFORM, object_id=object_id).order_by("pk")
        return "Jobs: " + "; ".join(
            f"#{j.pk} {j.status} attempts {j.attempts} next {j.next_attempt_at:%H:%M:%S.%f} "
            f"lease {j.locked_until} {j.last_error}"
            for j in jobs
        )

    wait_for(done, timeout=timeout, interval=0.1, describe=describe)


def record_jobs(customer: Customer):
    return SyncJob.objects.filter(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=customer.pk)


def test_twenty_concurrent_syncs_of_a_new_customer_create_exactly_one_account(
    fake_platform, published
):
    customer = CustomerFactory(name="Concurrent Ltd")
    fake_platform.faults_set(latency_ms=50)

    def sync(position: int):
        # Spread the requests over the first job's run, so later ones find it in flight.
        time.sleep(position * 0.004)
        job_request(
            platform=PLATFORM, entity=Entity.CUSTOMER, object_id=customer.pk, reason="concurrent"
        )
        return job_process(PLATFORM, Entity.CUSTOMER, customer.pk)

    _, errors = run_concurrently(*(lambda i=i: sync(i) for i in range(SYNCS)))
    assert errors == [None] * SYNCS
    drain(customer.pk)

    accounts = list(fake_platform.state["accounts"].values())
    assert [a["reference"] for a in accounts] == [f"C{customer.pk}"]
    assert len(fake_platform.calls("POST", "accounts")) == 1
    binding = Binding.objects.get(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=customer.pk)
    assert binding.external_id == str(accounts[0]["id"])
    outcomes = list(record_jobs(customer).values_list("status", "operation"))
    assert outcomes.count((JobStatus.SUCCEEDED, Operation.INSERTED)) == 1
    assert {status for status, _ in outcomes} <= {
        JobStatus.SUCCEEDED,
        JobStatus.NO_CHANGE,
        JobStatus.SKIPPED,
    }, outcomes


def test_a_burst_of_concurrent_saves_merges_into_one_pending_job_sent_once(
    fake_platform, published
):
    customer = CustomerFactory(name="Burst Ltd")
    assert record_jobs(customer).count() == 1

    def save(position: int):
        fresh = Customer.objects.get(pk=customer.pk)
        fresh.name = f"Burst Ltd {position}"
        return customer_services.customer_save(customer=fresh)

    _, errors = run_concurrently(*(lambda i=i: save(i) for i in range(10)))
    assert errors == [None] * 10

    assert list(record_jobs(customer).values_list("status", flat=True)) == [JobStatus.PENDING]
    drain(customer.pk)
    latest = Customer.objects.get(pk=customer.pk).name
    assert len(fake_platform.calls("POST", "accounts")) == 1
    assert fake_platform.calls("PATCH") == []
    assert [a["name"] for a in fake_platform.state["accounts"].values()] == [latest]


def test_an_edit_made_while_the_previous_one_is_being_sent_reaches_the_platform_last(
    fake_platform, published
):
    customer = CustomerFactory(name="Edited Ltd")
    drain(customer.pk)
    fake_platform.faults_set(latency_ms=300)

    first = Customer.objects.get(pk=customer.pk)
    first.name = "Edited Ltd (first)"
    customer_services.customer_save(customer=first)

    def send_first():
        try:
            job_process(PLATFORM, Entity.CUSTOMER, customer.pk)
        finally:
            connection.close()  # this thread's own connection

    sending = threading.Thread(target=send_first)
    sending.start()
    try:
        wait_for(
            lambda: record_jobs(customer).filter(status=JobStatus.IN_FLIGHT).exists(), timeout=10
        )
        second = Customer.objects.get(pk=customer.pk)
        second.name = "Edited Ltd (second)"
        customer_services.customer_save(customer=second)
    finally:
        sending.join(20)
    assert not sending.is_alive()
    drain(customer.pk)

    account = next(iter(fake_platform.state["accounts"].values()))
    assert account["name"] == "Edited Ltd (second)"
    patches = [call["body"]["name"] for call in fake_platform.calls("PATCH", "accounts/")]
    assert patches == ["Edited Ltd (first)", "Edited Ltd (second)"]
