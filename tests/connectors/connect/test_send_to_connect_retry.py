"""Retry of a failed Send to Connect job (issue 20's brief for helper F: "Make Retry on such
a job do what staff expect: send the customer to Connect again (the same path as the page's
button, recorded the same way) ... never a misleading skip"), against the emulator over
real HTTP.

docs/connect.md: Send to Connect "is a manual action, not a change-driven sync: the
connector ... declares no entities, so saving a customer never queues a Connect job"; so a
Connect job cannot go back in the queue (the engine would end it skipped). docs/connect.md,
*Retry*: staff's Retry sends the customer again at once, as the page's button does.
"""

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from billing.models import BillingPlatform
from connectors.choices import Entity, JobStatus, Operation
from connectors.connect.services import connect_client_send, connect_client_state
from connectors.engine.actions import job_retry
from connectors.errors import PermanentError
from connectors.models import Binding, SyncJob
from connectors.selectors import error_queue
from tests.factories import CustomerFactory


def failed_send(connect, sender, customer) -> SyncJob:
    """A send Connect refused (422 on the create): a failed job in the error queue."""
    connect.faults_set(fail_next=1, fail_status=422, only_method="POST")
    with pytest.raises(PermanentError):
        connect_client_send(customer_id=customer.pk, user=sender)
    connect.requests.clear()
    [job] = SyncJob.objects.filter(platform="connect")
    assert job.status == JobStatus.FAILED and job.resolved_at is None
    return job


def test_admin_retry_sends_the_customer_again_at_once(connect, sender, superuser):
    customer = CustomerFactory()
    failed = failed_send(connect, sender, customer)
    staff = Client()
    staff.force_login(superuser)

    answer = staff.post(reverse("admin:connectors_syncjob_retry", args=[failed.pk]))

    redone = SyncJob.objects.filter(platform="connect").exclude(pk=failed.pk).get()
    assert answer.status_code == 302
    assert answer.url.endswith(reverse("admin:connectors_syncjob_change", args=[redone.pk]))
    # The same path as the page's button, recorded the same way.
    assert (redone.status, redone.operation, redone.requested_by) == (
        JobStatus.SUCCEEDED,
        Operation.INSERTED,
        superuser,
    )
    assert [(a.method, a.status_code) for a in redone.attempt_log.order_by("pk")] == [
        ("GET", 200),
        ("POST", 201),
    ]
    assert connect_client_state(customer).client_id == redone.external_id
    failed.refresh_from_db()
    assert failed.status == JobStatus.FAILED and failed.resolved_at is not None
    # Never a queued job the engine would end skipped.
    assert not SyncJob.objects.filter(platform="connect", status=JobStatus.PENDING).exists()
    assert not SyncJob.objects.filter(platform="connect", status=JobStatus.SKIPPED).exists()
    page = staff.get(answer.url)
    assert f"Job #{failed.pk} was done again at once: job #{redone.pk}" in page.content.decode()


def test_the_bulk_retry_action_sends_each_selected_connect_job_again(connect, sender, superuser):
    customer = CustomerFactory()
    failed = failed_send(connect, sender, customer)
    staff = Client()
    staff.force_login(superuser)

    answer = staff.post(
        reverse("admin:connectors_syncjob_changelist"),
        {"action": "retry_jobs", "_selected_action": [failed.pk]},
        follow=True,
    )

    redone = SyncJob.objects.filter(platform="connect").exclude(pk=failed.pk).get()
    assert redone.status == JobStatus.SUCCEEDED
    [message] = [str(m) for m in answer.context["messages"]]
    assert message.startswith("Done again at once (Send to Connect): 1.")


def test_a_retry_connect_refuses_again_leaves_one_failed_job_in_the_error_queue(connect, sender):
    customer = CustomerFactory()
    failed = failed_send(connect, sender, customer)
    connect.faults_set(fail_next=1, fail_status=422, only_method="POST")

    redone = job_retry(failed, user=sender)

    assert redone.pk != failed.pk
    assert (redone.status, redone.reason) == (
        JobStatus.FAILED,
        f"Send to Connect (retry of job #{failed.pk})",
    )
    assert "422" in redone.last_error
    assert list(error_queue().filter(platform="connect")) == [redone]


def test_retry_failed_sends_each_failed_connect_job_again(connect, sender):
    customer = CustomerFactory()
    failed = failed_send(connect, sender, customer)
    out = StringIO()

    call_command("retry_failed", "--platform", "connect", "--json", stdout=out)

    redone = SyncJob.objects.filter(platform="connect").exclude(pk=failed.pk).get()
    assert redone.status == JobStatus.SUCCEEDED
    assert Binding.objects.get(
        platform="connect", entity=Entity.CUSTOMER, object_id=customer.pk
    ).external_id == (redone.external_id)
    assert f'"requeued_as": {redone.pk}' in out.getvalue()
    assert not error_queue().filter(platform="connect").exists()


def test_a_retry_with_the_integration_off_is_refused_naming_the_pages_button(connect, sender):
    customer = CustomerFactory()
    failed = failed_send(connect, sender, customer)
    BillingPlatform.objects.filter(code="connect").update(integration_enabled=False)

    with pytest.raises(PermanentError) as refused:
        job_retry(failed, user=sender)

    assert "The Connect integration is off" in refused.value.message
    assert "Send to Connect on the customer's page" in refused.value.message
    assert not connect.requests
    assert list(error_queue().filter(platform="connect")) == [failed]


def test_a_retry_for_a_customer_on_connect_already_is_refused(connect, sender):
    customer = CustomerFactory()
    failed = failed_send(connect, sender, customer)
    Binding.objects.create(
        platform="connect",
        role="client",
        entity=Entity.CUSTOMER,
        object_id=customer.pk,
        external_id="77",
    )

    with pytest.raises(PermanentError) as refused:
        job_retry(failed, user=sender)

    assert "on Connect already (client 77)" in refused.value.message
    assert not connect.requests
    assert SyncJob.objects.filter(platform="connect").count() == 1


def test_the_api_retry_answers_the_new_send(connect, sender, superuser):
    customer = CustomerFactory()
    failed = failed_send(connect, sender, customer)
    api = APIClient()
    api.force_authenticate(superuser)

    answer = api.post(f"/api/v1/sync-jobs/{failed.pk}/retry/")

    redone = SyncJob.objects.filter(platform="connect").exclude(pk=failed.pk).get()
    assert answer.status_code == 202
    assert (answer.json()["id"], answer.json()["status"]) == (redone.pk, JobStatus.SUCCEEDED)
