"""A transaction's records go in one broker message, and still all arrive (issue 24 item 3).

docs/sync-engine.md, *The flow of one change* 3: after commit one message is published
for the transaction's records, whose worker runs the first and publishes the others;
publishing is best effort: with the broker down the jobs wait for the sweeper. A
customer saved with its site (one transaction, two jobs) against a Redis of the test's
own and real workers (see conftest).
"""

import logging
import re

from connectors.choices import Entity, JobStatus
from connectors.engine.sweep import sync_sweep
from customers.models import Site

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


def site_creates(emulator) -> list[dict]:
    return [call for call in emulator.calls("POST", "site") if call["status"] == 201]


def test_one_message_for_a_customer_and_its_site_syncs_both(
    abillity, private_redis, start_workers, publishing
):
    workers = start_workers(2)

    customer = customer_with_site("Together Ltd")

    wait_settled(*workers)
    assert_all_done()
    assert companies_by_name(abillity) == {"Together Ltd": 1}
    assert len(site_creates(abillity)) == 1
    logs = "\n".join(worker.log() for worker in workers)
    # One message for the transaction; the worker that took it published the other job on.
    assert len(re.findall(r"Task connectors\.jobs_process\[[-\w]+\] received", logs)) == 1
    assert re.search(r"Task connectors\.job_process\[[-\w]+\] received", logs)
    site = Site.objects.get(customer=customer)
    assert {(job.entity, job.object_id) for job in jobs()} == {
        (Entity.CUSTOMER, customer.pk),
        (Entity.SITE, site.pk),
    }


def test_the_sweeper_delivers_a_transactions_jobs_when_its_one_message_failed(
    abillity, private_redis, start_workers, publishing, settings, caplog
):
    workers = start_workers(1)
    private_redis.stop()
    with caplog.at_level(logging.ERROR, logger="connectors.engine.publish"):
        customer = customer_with_site("Lost Message Ltd")
    site = Site.objects.get(customer=customer)

    # Both changes committed with their jobs; only the one publish failed, naming both.
    assert (
        f"Could not publish the sync of abillity customer #{customer.pk}, abillity site #{site.pk}"
        in caplog.text
    )
    assert [(job.entity, job.status) for job in jobs()] == [
        (Entity.CUSTOMER, JobStatus.PENDING),
        (Entity.SITE, JobStatus.PENDING),
    ]
    assert companies_by_name(abillity) == {}

    private_redis.start()
    settings.SYNC_PUBLISH_GRACE = 0  # due at once: the sweeper (Celery beat's) republishes
    assert sync_sweep() == {"released": 0, "published": 2}

    wait_settled(*workers)
    assert_all_done()
    assert companies_by_name(abillity) == {"Lost Message Ltd": 1}
    assert len(company_creates(abillity)) == 1
    assert len(site_creates(abillity)) == 1
