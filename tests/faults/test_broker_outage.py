"""Redis stopped while customers are saved, then started again: every change arrives, once.

The broker is a redis-server of the test's own (see conftest): stopping it loses
the messages it held, as an outage does. Saves go on meanwhile: each change
commits with its job, the publish fails and is logged, and the job waits in the
outbox. Once Redis is back, the sweeper (run here, as Celery beat would) publishes
the jobs nobody took, and two real workers deliver them.

The customers and their sites are built with the integration off, so each save
below makes exactly one customer job and the counts stay simple to check (a customer
and its site queued together are covered by test_concurrent_syncs).
"""

import logging
import time

from connectors.choices import Entity, JobStatus, Operation
from connectors.engine.sweep import sync_sweep
from customers import services as customer_services
from customers.models import Customer
from tests.connectors.abillity.helpers import integration

from .helpers import (
    assert_all_done,
    companies_by_name,
    company_creates,
    customer_with_site,
    jobs,
    needs_postgresql,
    wait_settled,
)

pytestmark = needs_postgresql

SWEEP_EVERY = 1.0  # seconds: a fast Celery beat


def save(customer: Customer) -> Customer:
    """Save a customer as staff would (its job commits with the change)."""
    return customer_services.customer_save(customer=Customer.objects.get(pk=customer.pk))


def test_changes_saved_while_redis_is_down_all_arrive_once_it_is_back(
    abillity, private_redis, start_workers, publishing, settings, caplog
):
    names = [f"Outage {n} Ltd" for n in range(1, 7)]
    integration(False)
    customers = [customer_with_site(name) for name in names]
    integration(True)
    workers = start_workers(2)

    before = [save(customer) for customer in customers[:2]]
    private_redis.stop()
    with caplog.at_level(logging.ERROR, logger="connectors.engine.publish"):
        during = [save(customer) for customer in customers[2:5]]
    # Each change committed with its job; only its publish failed, and said so.
    for customer in during:
        assert f"Could not publish the sync of abillity customer #{customer.pk}" in caplog.text
        job = jobs().get(entity=Entity.CUSTOMER, object_id=customer.pk)
        assert job.status == JobStatus.PENDING
    assert not any(name in companies_by_name(abillity) for name in names[2:5])

    private_redis.start()
    after = [save(customers[5])]

    # The sweeper: due jobs nobody took for a second are published again.
    settings.SYNC_PUBLISH_GRACE = SWEEP_EVERY
    last_sweep = [0.0]

    def sweep():
        if time.monotonic() - last_sweep[0] >= SWEEP_EVERY:
            sync_sweep()
            last_sweep[0] = time.monotonic()

    wait_settled(*workers, sweep=sweep)

    assert_all_done()
    assert companies_by_name(abillity) == dict.fromkeys(names, 1)
    assert len(company_creates(abillity)) == len(names)
    for customer in [*before, *during, *after]:
        outcomes = list(
            jobs()
            .filter(entity=Entity.CUSTOMER, object_id=customer.pk)
            .values_list("status", "operation")
        )
        assert outcomes.count((JobStatus.SUCCEEDED, Operation.INSERTED)) == 1, outcomes
