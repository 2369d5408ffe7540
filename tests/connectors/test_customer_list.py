"""The customer list's Sync column (connectors.admin.customer_list): per platform, whether
each customer is on it, queued or failed, read within the list's own query, and the legend
of its symbols above the list.

The rule it shows is seed 000's "Checking sync status" (the green tick of a synced
customer), per customer on the list instead of per page; the issue asks for it in one
query per page, without a query per row.
"""

import re

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from connectors.choices import Entity, JobStatus
from connectors.models import Binding, SyncJob
from tests.connectors.fake import PLATFORM
from tests.factories import CustomerFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("admin:customers_customer_changelist")


def staff_client(*perms: str) -> Client:
    user = UserFactory(is_staff=True)
    for perm in ("customers.view_customer", *perms):
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    client = Client()
    client.force_login(user)
    return client


def job(customer, status: str, **fields) -> SyncJob:
    return SyncJob.objects.create(
        platform=PLATFORM,
        entity=Entity.CUSTOMER,
        object_id=customer.pk,
        status=status,
        next_attempt_at=timezone.now(),
        **fields,
    )


def bound(customer, external_id: str = "ACC-1") -> Binding:
    return Binding.objects.create(
        platform=PLATFORM,
        role="account",
        entity=Entity.CUSTOMER,
        object_id=customer.pk,
        external_id=external_id,
    )


def fake_state(html: str, customer) -> str:
    """The state the row of `customer` shows for the fake platform."""
    row = re.search(
        rf"<tr[^>]*>(?:(?!</tr>).)*?/customer/{customer.pk}/change/.*?</tr>", html, re.S
    )
    assert row, f"no row for {customer}"
    mark = re.search(rf'data-platform="{PLATFORM}" data-sync-state="(\w+)"', row.group(0))
    assert mark, f"no sync mark for {PLATFORM} in the row of {customer}"
    return mark.group(1)


def test_each_customer_shows_whether_it_is_on_queued_for_or_failed_on_each_platform():
    on = CustomerFactory(name="On Ltd")
    bound(on)
    queued = CustomerFactory(name="Queued Ltd")
    job(queued, JobStatus.PENDING)
    failed = CustomerFactory(name="Failed Ltd")
    bound(failed, "ACC-2")
    job(failed, JobStatus.FAILED, last_error="refused")
    retried_ok = CustomerFactory(name="Retried Ltd")  # failed once, since resolved
    job(retried_ok, JobStatus.FAILED, resolved_at=timezone.now())
    bound(retried_ok, "ACC-3")
    never = CustomerFactory(name="Never Ltd")
    bound(never, "")  # a binding without an external id: the create never succeeded
    LeadFactory(name="Lead Ltd")

    html = staff_client("connectors.view_syncjob").get(LIST_URL).content.decode()

    assert fake_state(html, on) == "on"
    assert fake_state(html, queued) == "queued"
    assert fake_state(html, failed) == "failed"  # what staff must act on comes first
    assert fake_state(html, retried_ok) == "on"
    assert fake_state(html, never) == "off"
    assert "a lead: synced once converted" in html
    assert 'id="sync-legend"' in html
    for meaning in ("on the platform", "a sync is queued", "failed: in the error queue"):
        assert meaning in html


def test_the_list_reads_every_rows_sync_state_in_its_own_query():
    client = staff_client("connectors.view_syncjob")
    client.get(LIST_URL)  # warm the content types

    def page_queries(count: int) -> list[str]:
        for index in range(count):
            customer = CustomerFactory()
            bound(customer, f"ACC-{customer.pk}")
            job(customer, JobStatus.FAILED if index % 2 else JobStatus.PENDING)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(LIST_URL)
        assert response.status_code == 200
        return [query["sql"] for query in queries.captured_queries]

    few = page_queries(2)
    many = page_queries(30)

    assert len(few) == len(many)
    sync_reads = [sql for sql in many if "connectors_" in sql]
    assert len(sync_reads) == 1, sync_reads
    assert '"customers_customer"' in sync_reads[0]  # within the list's own query


def test_staff_who_may_not_read_the_sync_history_see_no_sync_column():
    bound(CustomerFactory(name="On Ltd"))

    html = staff_client().get(LIST_URL).content.decode()

    assert "data-sync-state" not in html
    assert 'id="sync-legend"' not in html
