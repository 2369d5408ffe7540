"""What a committed change publishes to a real broker: one message per transaction.

docs/sync-engine.md, *The flow of one change* 3: after commit a task is published; a
transaction's records, however many, cost it one broker message. The messages go to a
queue of the test's own on the local Redis, which no worker reads, and are read back
from it. Without a Redis answering, the tests skip, saying so.
"""

import base64
import json

import redis
from django.db import transaction

from connectors.choices import Entity
from customers import services as customer_services
from customers.models import Customer
from tests.connectors.fake import PLATFORM
from tests.connectors.worker_helpers import REDIS_URL
from tests.factories import ContactFactory, CustomerFactory, SiteFactory


def messages(queue: str) -> list[tuple[str, list]]:
    """(task name, arguments) of each message in ``queue``, oldest first."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=2)
    try:
        raw = client.lrange(queue, 0, -1)
    finally:
        client.close()
    found = []
    for item in reversed(raw):  # kombu pushes on the left and pops on the right
        envelope = json.loads(item)
        args, _kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
        found.append((envelope["headers"]["task"], args))
    return found


def test_a_customer_saved_with_its_site_and_contact_in_one_transaction_publishes_one_message(
    fake_platform, publishing_to_worker, worker_queue
):
    with transaction.atomic():
        customer = CustomerFactory(name="One Message Ltd")
        site = SiteFactory(customer=customer, name="Head office", is_default=True)
        contact = ContactFactory(customer=customer, site=site)
        assert messages(worker_queue) == []  # nothing before the commit

    # Three records' jobs, one message naming them all, dependencies first.
    assert messages(worker_queue) == [
        (
            "connectors.jobs_process",
            [
                [
                    [PLATFORM, Entity.CUSTOMER, customer.pk],
                    [PLATFORM, Entity.SITE, site.pk],
                    [PLATFORM, Entity.CONTACT, contact.pk],
                ]
            ],
        )
    ]


def test_a_burst_of_saves_of_one_record_in_one_transaction_publishes_one_message(
    fake_platform, publishing_to_worker, worker_queue
):
    customer = CustomerFactory(name="Burst Message Ltd")
    before = len(messages(worker_queue))

    with transaction.atomic():
        for n in range(5):
            customer = Customer.objects.get(pk=customer.pk)
            customer.name = f"Burst Message {n} Ltd"
            customer_services.customer_save(customer=customer)

    assert messages(worker_queue)[before:] == [
        ("connectors.job_process", [PLATFORM, Entity.CUSTOMER, customer.pk])
    ]
