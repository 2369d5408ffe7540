"""Send to Connect in the Sync History (issue 20, item 6: "Send to Connect goes through the
same recorded client, so its calls appear in Sync History with their attempts, keeping its
answer-at-once page"), against the emulator over real HTTP.

docs/sync-engine.md, *History*: every job keeps its status, the operation done, attempts,
last error, and each HTTP attempt (method, path, status, duration, redacted excerpts);
*Statuses*: a later success for the same record resolves its jobs in the error queue.
"""

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from connectors.choices import ErrorKind, JobStatus, Operation
from connectors.connect.services import SendRefused, connect_client_send
from connectors.errors import PermanentError, RecoverableError
from connectors.models import SyncJob
from tests.admin_helpers import inline_formset
from tests.factories import CustomerFactory, LeadFactory


def send_url(customer) -> str:
    return reverse("customer-send-to-connect", args=[customer.pk])


def calls_of(job: SyncJob) -> list[tuple[str, str, int | None]]:
    return [(a.method, a.path, a.status_code) for a in job.attempt_log.order_by("pk")]


def test_a_send_is_a_succeeded_job_with_an_attempt_per_call(connect, sender_api, sender):
    customer = CustomerFactory(name="Acme Telecoms")

    answer = sender_api.post(send_url(customer))

    assert answer.status_code == 201, answer.json()  # the page still answers at once
    [job] = SyncJob.objects.filter(platform="connect")
    assert (job.entity, job.object_id, job.object_repr) == ("customer", customer.pk, str(customer))
    assert (job.status, job.operation, job.attempts) == (
        JobStatus.SUCCEEDED,
        Operation.INSERTED,
        1,
    )
    assert job.external_id == answer.json()["client_id"]
    assert job.requested_by == sender
    assert job.finished_at is not None and job.last_attempt_at is not None
    assert calls_of(job) == [
        ("GET", f"clients?billing_reference={customer.pk}", 200),
        ("POST", "clients", 201),
    ]
    # The same calls the emulator answered: one look-up, one create.
    assert [(c["method"], c["path"]) for c in connect.requests] == [
        ("GET", "clients"),
        ("POST", "clients"),
    ]


def test_a_client_found_by_billing_reference_is_a_mapped_job(connect, sender_api):
    customer = CustomerFactory()
    connect.state["clients"]["77"] = {
        "id": 77,
        "name": customer.name,
        "type": "Virtual",
        "start_date": "2026-01-01T00:00:00+00:00",
        "end_date": "2027-01-01T00:00:00+00:00",
        "billing_reference": str(customer.pk),
        "status": "Active",
    }

    assert sender_api.post(send_url(customer)).status_code == 201

    [job] = SyncJob.objects.filter(platform="connect")
    assert (job.status, job.operation, job.external_id) == (
        JobStatus.SUCCEEDED,
        Operation.MAPPED,
        "77",
    )
    assert calls_of(job) == [("GET", f"clients?billing_reference={customer.pk}", 200)]


def test_connect_refusing_the_client_is_a_failed_job_in_the_error_queue(connect, sender_api):
    customer = CustomerFactory()
    connect.faults_set(fail_next=1, fail_status=422, only_method="POST")

    answer = sender_api.post(send_url(customer))

    assert answer.status_code == 502
    [job] = SyncJob.objects.filter(platform="connect")
    assert (job.status, job.error_kind, job.attempts) == (
        JobStatus.FAILED,
        ErrorKind.PERMANENT,
        1,
    )
    assert "422" in job.last_error
    assert job.resolved_at is None  # in the error queue
    assert calls_of(job) == [
        ("GET", f"clients?billing_reference={customer.pk}", 200),
        ("POST", "clients", 422),
    ]


def test_a_send_that_got_no_answer_is_an_aborted_job_with_the_call_that_timed_out(connect, sender):
    customer = CustomerFactory()
    connect.faults_set(
        hang_next=1, hang_seconds=django_settings.SYNC_READ_TIMEOUT + 1, only_method="POST"
    )

    with pytest.raises(RecoverableError):
        connect_client_send(customer_id=customer.pk, user=sender)

    [job] = SyncJob.objects.filter(platform="connect")
    assert (job.status, job.error_kind) == (JobStatus.ABORTED, ErrorKind.RECOVERABLE)
    [lookup, create] = job.attempt_log.order_by("pk")
    assert (lookup.method, lookup.status_code) == ("GET", 200)
    assert (create.method, create.path, create.status_code) == ("POST", "clients", None)
    assert create.error  # what the client saw: no answer


def test_a_later_successful_send_takes_the_failed_one_out_of_the_error_queue(connect, sender):
    customer = CustomerFactory()
    connect.faults_set(fail_next=1, fail_status=422, only_method="POST")
    with pytest.raises(PermanentError):
        connect_client_send(customer_id=customer.pk, user=sender)

    connect_client_send(customer_id=customer.pk, user=sender)

    failed, succeeded = SyncJob.objects.filter(platform="connect").order_by("pk")
    assert failed.status == JobStatus.FAILED and failed.resolved_at is not None
    assert succeeded.status == JobStatus.SUCCEEDED


def test_a_send_refused_by_our_rules_calls_nothing_and_records_nothing(connect, sender):
    lead = LeadFactory()

    with pytest.raises(SendRefused):
        connect_client_send(customer_id=lead.pk, user=sender)

    assert not SyncJob.objects.filter(platform="connect").exists()
    assert not connect.requests


def test_a_customer_already_sent_makes_no_call_and_no_job(connect, sender):
    customer = CustomerFactory()
    connect_client_send(customer_id=customer.pk, user=sender)

    connect_client_send(customer_id=customer.pk, user=sender)

    assert SyncJob.objects.filter(platform="connect").count() == 1


def test_the_sync_history_page_shows_the_sends_calls(connect, sender_api, superuser):
    customer = CustomerFactory()
    sender_api.post(send_url(customer))
    [job] = SyncJob.objects.filter(platform="connect")
    staff = Client()
    staff.force_login(superuser)

    listed = staff.get(reverse("admin:connectors_syncjob_changelist") + "?platform=connect")
    page = staff.get(reverse("admin:connectors_syncjob_change", args=[job.pk]))

    assert reverse("admin:connectors_syncjob_change", args=[job.pk]) in listed.content.decode()
    attempts = inline_formset(page, "attempt_log")
    assert [(f.instance.method, f.instance.status_code) for f in attempts.forms] == [
        ("GET", 200),
        ("POST", 201),
    ]
