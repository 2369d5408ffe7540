"""Concurrent syncs of one record, with real workers: one company, and the latest state last.

Two real workers consume the private Redis while this process adds its own
contenders (threads, each with its own database connection, as more workers
would have). The emulator adds latency so the calls overlap.
"""

import threading
import time

from connectors.choices import Entity, JobStatus, Operation
from connectors.engine.queue import job_request
from connectors.engine.run import job_process
from connectors.models import Binding
from customers import services as customer_services
from customers.models import Customer
from tests.connectors.abillity.helpers import integration
from tests.connectors.worker_helpers import wait_for
from tests.helpers import run_concurrently

from .helpers import (
    assert_all_done,
    companies_by_name,
    company_creates,
    customer_with_site,
    describe_jobs,
    jobs,
    needs_postgresql,
    wait_settled,
)

pytestmark = needs_postgresql

SYNCS = 20


def test_twenty_concurrent_syncs_of_a_new_customer_create_exactly_one_company(
    abillity, start_workers, publishing
):
    integration(False)
    customer = customer_with_site("Concurrent Ltd")
    integration(True)
    workers = start_workers(2)
    abillity.faults_set(latency_ms=150)  # a first run of about a second

    def sync(position: int):
        # Spread over the first run, so later requests find the record in flight.
        time.sleep(position * 0.05)
        job_request(
            platform="abillity", entity=Entity.CUSTOMER, object_id=customer.pk, reason="race"
        )
        return job_process("abillity", Entity.CUSTOMER, customer.pk)

    _, errors = run_concurrently(*(lambda i=i: sync(i) for i in range(SYNCS)))
    assert errors == [None] * SYNCS
    wait_settled(*workers)

    assert_all_done()
    assert companies_by_name(abillity) == {"Concurrent Ltd": 1}
    assert len(company_creates(abillity)) == 1
    company_id = next(iter(abillity.state["companies"]))
    binding = Binding.objects.get(
        platform="abillity", role="company", entity=Entity.CUSTOMER, object_id=customer.pk
    )
    assert binding.external_id == company_id
    outcomes = list(jobs().filter(entity=Entity.CUSTOMER).values_list("status", "operation"))
    assert outcomes.count((JobStatus.SUCCEEDED, Operation.INSERTED)) == 1, outcomes


def test_two_fast_edits_while_a_worker_is_sending_leave_the_platform_with_the_latest(
    abillity, start_workers, publishing
):
    workers = start_workers(2)
    customer = customer_with_site("Edited Ltd")
    wait_settled(*workers)
    assert companies_by_name(abillity) == {"Edited Ltd": 1}
    abillity.faults_set(latency_ms=300)  # each call slow: the first edit is still going

    first = Customer.objects.get(pk=customer.pk)
    first.name = "Edited Ltd (first)"
    customer_services.customer_save(customer=first)
    wait_for(
        lambda: jobs().filter(entity=Entity.CUSTOMER, status=JobStatus.IN_FLIGHT).exists(),
        timeout=10,
        interval=0.02,
        describe=describe_jobs,
    )
    second = Customer.objects.get(pk=customer.pk)
    second.name = "Edited Ltd (second)"
    customer_services.customer_save(customer=second)
    wait_settled(*workers)

    assert_all_done()
    assert companies_by_name(abillity) == {"Edited Ltd (second)": 1}
    renames = [
        call["body"]["Name"]
        for call in abillity.calls("PATCH", "company/")
        if call["status"] == 200 and "Name" in (call["body"] or {})
    ]
    assert renames[-1] == "Edited Ltd (second)", renames
    assert renames.count("Edited Ltd (second)") == 1, renames


def test_an_edit_racing_a_worker_is_never_overwritten_by_an_older_state(
    abillity, start_workers, publishing
):
    """Ten quick renames from threads, each while workers may be sending: the last wins."""
    workers = start_workers(2)
    customer = customer_with_site("Raced Ltd")
    wait_settled(*workers)
    abillity.faults_set(latency_ms=100)
    lock = threading.Lock()
    order: list[str] = []

    def rename(position: int) -> None:
        time.sleep(position * 0.05)
        with lock:  # one save at a time, in a known order: the last one is the latest
            fresh = Customer.objects.get(pk=customer.pk)
            fresh.name = f"Raced Ltd {position}"
            customer_services.customer_save(customer=fresh)
            order.append(fresh.name)

    _, errors = run_concurrently(*(lambda i=i: rename(i) for i in range(10)))
    assert errors == [None] * 10
    wait_settled(*workers)

    assert_all_done()
    latest = Customer.objects.get(pk=customer.pk).name
    assert latest == order[-1]
    assert companies_by_name(abillity) == {latest: 1}


def test_a_customer_and_its_site_saved_together_sync_without_a_refusal_on_two_workers(
    abillity, start_workers, publishing
):
    workers = start_workers(2)
    abillity.faults_set(latency_ms=150)  # widen the customer job's run: company, then site
    customer = customer_with_site("Together Ltd")  # one transaction: a customer and a site job
    wait_settled(*workers)

    assert_all_done()
    assert companies_by_name(abillity) == {"Together Ltd": 1}
    company_id = int(next(iter(abillity.state["companies"])))
    sites = [s for s in abillity.state["sites"].values() if s["CompanyId"] == company_id]
    assert len(sites) == 1, sites
    assert customer.sites.count() == 1
