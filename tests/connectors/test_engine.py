"""The sync engine runs jobs against the fake platform's emulator, over real HTTP.

With no broker (the test settings) a job runs as soon as the change that
queued it commits; its retries wait for ``run_when_due`` (or the sweeper).
The test settings keep the backoff short (base 0.2 s, cap 2 s), so tests wait
out real retry times rather than moving clocks.
"""

import logging
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from connectors.base import UnknownPlatform
from connectors.choices import Entity, ErrorKind, JobStatus, Operation
from connectors.engine.claim import job_claim
from connectors.engine.queue import job_request
from connectors.engine.run import backoff_delay, job_process, job_run
from connectors.engine.sweep import jobs_process_due
from connectors.errors import ConfigurationError, PermanentError
from connectors.models import Binding, SyncAttempt, SyncJob
from customers import services as customer_services
from customers.models import Customer
from tests.connectors.engine_helpers import (
    integration_off,
    integration_set,
    job_of,
    jobs_of,
    platform_connections_open,
    run_when_due,
    wait_for,
    wait_until_due,
)
from tests.connectors.fake import PLATFORM, FakeConnector
from tests.factories import ContactFactory, CustomerFactory, SiteFactory


def ceiling(settings, attempt: int) -> float:
    """The backoff's upper bound before attempt ``attempt + 1``."""
    return min(settings.SYNC_BACKOFF_CAP, settings.SYNC_BACKOFF_BASE * 2 ** (attempt - 1))


def request(record, entity=Entity.CUSTOMER, **options) -> SyncJob:
    """A manual sync, committed (so with no broker it runs at once); the job after."""
    with transaction.atomic():
        job = job_request(
            platform=PLATFORM, entity=entity, object_id=record.pk, reason="test", **options
        )
    job.refresh_from_db()
    return job


def rename(customer: Customer, name: str) -> Customer:
    customer.name = name
    return customer_services.customer_save(customer=customer)


def accounts(emulator) -> list[dict]:
    return list(emulator.state["accounts"].values())


def assert_pending_within_backoff(job, settings, *, before, after, attempt=1, at_least=0.0):
    """The job is back in the queue, due within the backoff bounds of its attempt."""
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING, job.last_error
    assert (job.attempts, job.error_kind) == (attempt, ErrorKind.RECOVERABLE)
    earliest = before + timedelta(seconds=at_least)
    latest = after + timedelta(seconds=max(ceiling(settings, attempt), at_least))
    assert earliest <= job.next_attempt_at <= latest


# --- a plain sync ------------------------------------------------------------------------------
def test_a_new_customer_is_created_on_the_platform_and_bound_with_each_call_recorded(
    fake_platform,
):
    customer = CustomerFactory(name="Acme Ltd")

    job = job_of(customer)
    assert (job.status, job.operation, job.attempts) == (
        JobStatus.SUCCEEDED,
        Operation.INSERTED,
        1,
    )
    (account,) = accounts(fake_platform)
    assert (account["name"], account["reference"]) == ("Acme Ltd", f"C{customer.pk}")
    binding = Binding.objects.get(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=customer.pk)
    assert binding.external_id == job.external_id == str(account["id"])
    assert binding.first_synced_at is not None
    attempts = list(job.attempt_log.all())
    assert [(a.method, a.path, a.status_code) for a in attempts] == [
        ("GET", f"accounts?reference=C{customer.pk}", 200),
        ("POST", "accounts", 201),
    ]
    assert '"name": "Acme Ltd"' in attempts[1].request_excerpt
    assert f'"id": {account["id"]}' in attempts[1].response_excerpt
    assert all(a.duration_ms >= 0 and a.error == "" for a in attempts)


def test_a_workers_jobs_share_one_kept_alive_connection_to_the_platform(fake_platform):
    before = set(platform_connections_open())  # other platforms' sessions of this thread

    for name in ("Tidy Ltd", "Neat Ltd", "Trim Ltd"):
        assert job_of(CustomerFactory(name=name)).status == JobStatus.SUCCEEDED

    opened = [name for name in platform_connections_open() if name not in before]
    assert len(opened) <= 1  # (none if the thread's session had one open already)
    assert len(fake_platform.requests) >= 3


def test_the_workers_session_is_made_again_in_a_forked_child(monkeypatch):
    from connectors import http

    session = http.worker_session("fake")
    assert http.worker_session("fake") is session
    monkeypatch.setattr(http.os, "getpid", lambda: -1)  # as in a prefork child
    assert http.worker_session("fake") is not session


def test_publishing_with_no_broker_runs_the_job_without_touching_a_broker(fake_platform, caplog):
    with caplog.at_level(logging.DEBUG, logger="kombu"):
        customer = CustomerFactory(name="Eager Ltd")

    assert job_of(customer).status == JobStatus.SUCCEEDED
    assert not [r for r in caplog.records if r.name.startswith("kombu")]


def test_a_burst_of_edits_in_one_transaction_makes_one_create_with_the_latest_state(
    fake_platform,
):
    with transaction.atomic():
        customer = CustomerFactory(name="First Ltd")
        rename(customer, "Second Ltd")
        rename(customer, "Latest Ltd")

    assert job_of(customer).status == JobStatus.SUCCEEDED
    assert [a["name"] for a in accounts(fake_platform)] == ["Latest Ltd"]
    assert len(fake_platform.calls("POST")) == 1
    assert fake_platform.calls("PATCH") == []


# --- recoverable errors: backoff, then success ------------------------------------------------
def test_a_500_returns_the_job_to_pending_within_the_backoff_then_a_later_run_succeeds(
    fake_platform, settings
):
    fake_platform.faults_set(fail_next=1, fail_status=500)
    before = timezone.now()
    customer = CustomerFactory(name="Retry Ltd")
    after = timezone.now()

    job = job_of(customer)
    assert_pending_within_backoff(job, settings, before=before, after=after)
    assert "Fake platform answered 500: Injected fault: status 500" in job.last_error
    assert accounts(fake_platform) == []

    finished = run_when_due(job)

    assert (finished.status, finished.operation, finished.attempts) == (
        JobStatus.SUCCEEDED,
        Operation.INSERTED,
        2,
    )
    assert [a["name"] for a in accounts(fake_platform)] == ["Retry Ltd"]
    assert [a.status_code for a in finished.attempt_log.all()] == [500, 200, 201]


def test_a_429_waits_at_least_its_retry_after_then_succeeds(fake_platform, settings):
    fake_platform.faults_set(fail_next=1, fail_status=429, retry_after=1)
    before = timezone.now()
    customer = CustomerFactory(name="Throttled Ltd")
    after = timezone.now()

    job = job_of(customer)
    assert_pending_within_backoff(job, settings, before=before, after=after, at_least=1.0)
    assert "answered 429" in job.last_error
    assert job_process(PLATFORM, Entity.CUSTOMER, customer.pk) is None  # not due yet

    assert run_when_due(job).status == JobStatus.SUCCEEDED
    assert len(accounts(fake_platform)) == 1


def test_a_hang_past_the_read_timeout_retries_and_finds_the_record_the_platform_made(
    fake_platform, settings
):
    settings.SYNC_READ_TIMEOUT = 0.5
    # The create (not the lookup before it) hangs: the platform makes the account after
    # the client has given up, so the client never learns its id.
    fake_platform.faults_set(hang_next=1, hang_seconds=1.0, only_method="POST")
    before = timezone.now()
    customer = CustomerFactory(name="Slow Ltd")
    after = timezone.now()

    job = job_of(customer)
    # The lost write may still be done by the platform: the retry waits for it to be.
    assert_pending_within_backoff(
        job, settings, before=before, after=after, at_least=settings.SYNC_UNCERTAIN_WRITE_DELAY
    )
    assert "did not answer within 0.5 s" in job.last_error
    timed_out = job.attempt_log.get(method="POST")
    assert timed_out.status_code is None
    assert "did not answer" in timed_out.error
    wait_for(lambda: fake_platform.calls("POST"), timeout=5, what="the hung create to finish")

    finished = run_when_due(job)

    assert finished.status == JobStatus.SUCCEEDED
    (account,) = accounts(fake_platform)  # found by its reference, not made twice
    assert finished.external_id == str(account["id"])
    assert finished.operation == Operation.UPDATED
    assert f"Found the existing customer {account['id']}" in finished.last_error


def test_a_lookup_that_times_out_is_retried_within_the_plain_backoff(fake_platform, settings):
    settings.SYNC_READ_TIMEOUT = 0.5
    fake_platform.faults_set(hang_next=1, hang_seconds=1.0, only_method="GET")
    before = timezone.now()
    customer = CustomerFactory(name="Slow Lookup Ltd")
    after = timezone.now()

    # A read changes nothing on the platform: no reason to wait longer than the backoff.
    assert_pending_within_backoff(job_of(customer), settings, before=before, after=after)
    wait_for(lambda: fake_platform.calls("GET"), timeout=5, what="the hung look-up to end")


def test_a_refused_connection_is_recoverable_and_the_job_succeeds_once_it_answers(
    fake_platform, settings, closed_port
):
    settings.FAKE_API_URL = f"http://127.0.0.1:{closed_port}/sandbox/fake/"
    before = timezone.now()
    customer = CustomerFactory(name="Unreachable Ltd")
    after = timezone.now()

    job = job_of(customer)
    assert_pending_within_backoff(job, settings, before=before, after=after)
    assert job.last_error.startswith("Could not reach Fake platform")
    (attempt,) = job.attempt_log.all()
    assert attempt.status_code is None
    assert attempt.error.startswith("Could not reach Fake platform")

    settings.FAKE_API_URL = ""  # the platform is back

    assert run_when_due(job).status == JobStatus.SUCCEEDED
    assert len(accounts(fake_platform)) == 1


def test_after_the_maximum_attempts_a_job_is_aborted_into_the_error_queue(fake_platform, settings):
    settings.SYNC_MAX_ATTEMPTS = 3
    fake_platform.faults_set(fail_next=100, fail_status=503)
    customer = CustomerFactory(name="Down Ltd")
    job = job_of(customer)

    assert run_when_due(job).status == JobStatus.PENDING
    finished = run_when_due(job)

    assert (finished.status, finished.attempts) == (JobStatus.ABORTED, 3)
    assert finished.error_kind == ErrorKind.RECOVERABLE
    assert finished.last_error.startswith("Gave up after 3 attempts. Last error: Fake platform")
    assert finished.in_error_queue
    assert job_process(PLATFORM, Entity.CUSTOMER, customer.pk) is None  # not retried again
    assert len(fake_platform.calls()) == 3


@pytest.mark.parametrize("attempt", [1, 2, 3, 5, 12])
def test_the_backoff_is_full_jitter_below_the_exponential_ceiling_and_the_cap(settings, attempt):
    delays = [backoff_delay(attempt) for _ in range(400)]

    top = ceiling(settings, attempt)
    assert all(0 <= delay <= top for delay in delays)
    assert min(delays) < top * 0.1  # spread over the whole range, not bunched at the top
    assert max(delays) > top * 0.9


def test_the_backoff_honours_retry_after_up_to_the_cap(settings):
    assert all(backoff_delay(1, retry_after=1.5) >= 1.5 for _ in range(50))
    assert backoff_delay(1, retry_after=10_000) == settings.SYNC_BACKOFF_CAP


# --- errors that go to the error queue at once ----------------------------------------------
def test_a_400_fails_at_once_with_the_platforms_message(fake_platform):
    customer = CustomerFactory(name="N" * 60)

    job = job_of(customer)
    assert (job.status, job.error_kind, job.attempts) == (
        JobStatus.FAILED,
        ErrorKind.PERMANENT,
        1,
    )
    assert job.last_error == "Fake platform answered 400: name may be at most 50 characters"
    assert job.in_error_queue
    assert accounts(fake_platform) == []


def test_a_401_fails_at_once_flagged_as_configuration(fake_platform, settings):
    settings.FAKE_API_KEY = "a-key-the-platform-does-not-know"

    customer = CustomerFactory(name="Locked Out Ltd")

    job = job_of(customer)
    assert (job.status, job.error_kind) == (JobStatus.FAILED, ErrorKind.CONFIGURATION)
    assert job.last_error.startswith("Fake platform answered 401: Invalid API key")
    assert job.in_error_queue


def test_a_platform_with_no_api_url_fails_its_jobs_as_configuration_not_left_in_flight(
    fake_platform, settings
):
    settings.FAKE_API_URL = ""
    settings.SANDBOX_EMULATORS_ENABLED = False  # so no emulator stands in for it

    customer = CustomerFactory(name="Nowhere Ltd")

    job = job_of(customer)
    assert (job.status, job.error_kind) == (JobStatus.FAILED, ErrorKind.CONFIGURATION)
    assert job.last_error == "No API URL is configured for Fake platform."
    assert (job.locked_by, job.locked_until) == ("", None)


def test_a_job_of_a_platform_no_longer_installed_fails_as_configuration(db):
    job = SyncJob.objects.create(
        platform="retired",
        entity=Entity.CUSTOMER,
        object_id=CustomerFactory().pk,
        next_attempt_at=timezone.now(),
    )

    finished = job_process("retired", Entity.CUSTOMER, job.object_id)

    assert (finished.status, finished.error_kind) == (JobStatus.FAILED, ErrorKind.CONFIGURATION)
    assert finished.last_error.startswith('Unknown platform "retired". Known platforms: ')


def test_a_contact_without_the_required_email_fails_with_a_message_and_sends_nothing(
    fake_platform,
):
    contact = ContactFactory(first_name="Ann", last_name="Lee", email="")

    job = job_of(contact, Entity.CONTACT)
    assert (job.status, job.error_kind) == (JobStatus.FAILED, ErrorKind.PERMANENT)
    assert job.last_error == "Contact Ann Lee has no email, which the fake platform requires."
    assert fake_platform.state["people"] == {}
    assert not job.attempt_log.exists()


def test_an_unexpected_error_fails_the_job_with_a_message_and_logs_the_traceback(
    fake_platform, monkeypatch, caplog
):
    def broken(self, entity, record):
        raise ValueError("the mapper tripped")

    monkeypatch.setattr(FakeConnector, "build_payload", broken)
    with caplog.at_level(logging.ERROR, logger="connectors.engine.run"):
        customer = CustomerFactory(name="Buggy Ltd")

    job = job_of(customer)
    assert (job.status, job.error_kind) == (JobStatus.FAILED, ErrorKind.PERMANENT)
    assert job.last_error == "Internal error (ValueError: the mapper tripped); see the worker log."
    (record,) = [r for r in caplog.records if r.name == "connectors.engine.run"]
    assert record.getMessage() == f"Sync job #{job.pk} failed unexpectedly"
    assert record.exc_info is not None


# --- jobs that end without sending -------------------------------------------------------------
def test_a_record_deleted_before_its_job_runs_is_skipped(fake_platform, publish_calls):
    customer = CustomerFactory(name="Gone Ltd")
    job = job_of(customer)
    Customer.objects.filter(pk=customer.pk).delete()

    finished = job_process(PLATFORM, Entity.CUSTOMER, job.object_id)

    assert (finished.status, finished.last_error) == (
        JobStatus.SKIPPED,
        "The record no longer exists.",
    )
    assert fake_platform.calls() == []


def test_a_job_whose_integration_was_turned_off_after_queueing_is_skipped_unsent(
    fake_platform, publish_calls
):
    customer = CustomerFactory(name="Paused Ltd")
    integration_set(enabled=False)

    finished = job_process(PLATFORM, Entity.CUSTOMER, customer.pk)

    assert finished.status == JobStatus.SKIPPED
    assert finished.last_error == (
        "Not sent: the Fake platform integration is off, or its customer entity is inactive "
        "or not exported."
    )
    assert fake_platform.calls() == []


def test_a_record_the_connector_does_not_take_is_skipped_with_its_reason(
    fake_platform, monkeypatch
):
    monkeypatch.setattr(
        FakeConnector, "skip_reason", lambda self, entity, record: f"{record} is a lead."
    )

    customer = CustomerFactory(name="Prospect Ltd")

    job = job_of(customer)
    assert (job.status, job.last_error) == (JobStatus.SKIPPED, "Not sent: Prospect Ltd is a lead.")
    assert not job.in_error_queue
    assert fake_platform.calls() == []


# --- dependencies ----------------------------------------------------------------------------
def test_a_contacts_customer_and_site_are_created_before_it_in_this_worker(fake_platform):
    with integration_off():
        customer = CustomerFactory(name="Parent Ltd")
        site = SiteFactory(customer=customer, name="Head office")
        contact = ContactFactory(customer=customer, site=site)

    job = request(contact, Entity.CONTACT)

    assert job.status == JobStatus.SUCCEEDED, job.last_error
    assert [(c["method"], c["path"]) for c in fake_platform.calls("POST")] == [
        ("POST", "accounts"),
        ("POST", "locations"),
        ("POST", "people"),
    ]
    (account,) = accounts(fake_platform)
    (location,) = fake_platform.state["locations"].values()
    assert location["account"] == str(account["id"])
    site_job, customer_job = job_of(site, Entity.SITE), job_of(customer)
    assert (site_job.status, site_job.reason) == (
        JobStatus.SUCCEEDED,
        f"needed first by job #{job.pk}",
    )
    assert (customer_job.status, customer_job.reason) == (
        JobStatus.SUCCEEDED,
        f"needed first by job #{site_job.pk}",
    )


def test_a_failed_dependency_fails_the_record_blocked_by_it_until_it_succeeds(fake_platform):
    with integration_off():
        customer = CustomerFactory(name="L" * 60)  # the platform refuses it
        site = SiteFactory(customer=customer, name="Depot")

    job = request(site, Entity.SITE)

    blocking = job_of(customer)
    assert (job.status, job.error_kind, job.blocked_by_id) == (
        JobStatus.FAILED,
        ErrorKind.DEPENDENCY,
        blocking.pk,
    )
    assert job.last_error.startswith(f"customer {customer} could not be synced first")
    assert "name may be at most 50 characters" in job.last_error
    assert fake_platform.state["locations"] == {}

    rename(customer, "Fixed Ltd")  # its job runs (no broker) and succeeds

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.last_error
    assert job.blocked_by_id is None
    (location,) = fake_platform.state["locations"].values()
    assert location["account"] == str(accounts(fake_platform)[0]["id"])
    assert not SyncJob.objects.filter(status=JobStatus.FAILED, resolved_at__isnull=True).exists()


def test_a_dependency_in_flight_elsewhere_defers_the_record_without_counting_an_attempt(
    fake_platform, settings, publish_calls
):
    with integration_off():
        customer = CustomerFactory(name="Shared Ltd")
        site = SiteFactory(customer=customer)
    integration_set(enabled=True)
    job_request(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=customer.pk, reason="x")
    job_claim(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=customer.pk)  # elsewhere
    job_request(platform=PLATFORM, entity=Entity.SITE, object_id=site.pk, reason="x")
    before = timezone.now()

    deferred = job_process(PLATFORM, Entity.SITE, site.pk)

    assert (deferred.status, deferred.attempts) == (JobStatus.PENDING, 0)
    assert deferred.last_error == f"Waiting for customer {customer} to sync first."
    assert deferred.next_attempt_at >= before + timedelta(seconds=settings.SYNC_BUSY_DELAY)
    assert fake_platform.calls() == []


def test_a_dependency_waiting_out_a_backoff_defers_the_record_until_then(
    fake_platform, publish_calls
):
    fake_platform.faults_set(fail_next=1, fail_status=500)
    with integration_off():
        customer = CustomerFactory(name="Backoff Ltd")
        site = SiteFactory(customer=customer)
    job_request(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=customer.pk, reason="x")
    customer_job = job_process(PLATFORM, Entity.CUSTOMER, customer.pk)
    assert customer_job.status == JobStatus.PENDING
    job_request(platform=PLATFORM, entity=Entity.SITE, object_id=site.pk, reason="x")
    # The customer's job is waiting for its retry time: not due, so not claimed here.
    customer_job.next_attempt_at = timezone.now() + timedelta(seconds=1)
    customer_job.save(update_fields=["next_attempt_at"])

    deferred = job_process(PLATFORM, Entity.SITE, site.pk)

    assert deferred.status == JobStatus.PENDING
    assert deferred.next_attempt_at >= customer_job.next_attempt_at
    wait_until_due(deferred)
    assert jobs_process_due(platform=PLATFORM) == {JobStatus.SUCCEEDED: 2}
    assert job_of(site, Entity.SITE).status == JobStatus.SUCCEEDED


# --- change detection ------------------------------------------------------------------------
def test_an_unchanged_resync_sends_nothing(fake_platform):
    customer = CustomerFactory(name="Steady Ltd")

    job = request(customer)

    assert (job.status, job.operation) == (JobStatus.NO_CHANGE, Operation.NONE)
    assert fake_platform.calls("PATCH") == []
    assert fake_platform.calls("POST", "accounts") != []  # the first sync did create it
    assert not job.attempt_log.exists()


def test_a_changed_repeated_field_is_sent_without_the_one_off_fields(fake_platform):
    customer = CustomerFactory(name="Before Ltd")

    rename(customer, "After Ltd")

    job = jobs_of(customer)[-1]
    assert (job.status, job.operation) == (JobStatus.SUCCEEDED, Operation.UPDATED)
    (patch,) = fake_platform.calls("PATCH")
    assert patch["body"]["name"] == "After Ltd"
    assert "reference" not in patch["body"]
    assert "registered_name" not in patch["body"]
    assert accounts(fake_platform)[0]["name"] == "After Ltd"


def test_a_changed_one_off_field_is_not_sent(fake_platform):
    customer = CustomerFactory(name="Stable Ltd", registered_company_name="Stable Holdings")

    customer.registered_company_name = "Renamed Holdings"
    customer_services.customer_save(customer=customer)

    assert jobs_of(customer)[-1].status == JobStatus.NO_CHANGE
    assert fake_platform.calls("PATCH") == []
    assert accounts(fake_platform)[0]["registered_name"] == "Stable Holdings"


def test_a_forced_sync_resends_an_unchanged_record(fake_platform):
    customer = CustomerFactory(name="Forced Ltd")

    job = request(customer, force=True)

    assert (job.status, job.operation) == (JobStatus.SUCCEEDED, Operation.UPDATED)
    (patch,) = fake_platform.calls("PATCH")
    assert patch["body"]["name"] == "Forced Ltd"


def test_a_record_the_platform_already_holds_is_found_by_natural_key_not_created(
    fake_platform,
):
    with integration_off():
        customer = CustomerFactory(name="Known Ltd")
    fake_platform.state["accounts"]["77"] = {"id": 77, "reference": f"C{customer.pk}"}

    job = request(customer)

    assert (job.status, job.operation, job.external_id) == (
        JobStatus.SUCCEEDED,
        Operation.UPDATED,
        "77",
    )
    assert fake_platform.calls("POST") == []
    assert fake_platform.state["accounts"]["77"]["name"] == "Known Ltd"


# --- claiming ---------------------------------------------------------------------------------
def test_a_record_in_flight_cannot_be_claimed_again_its_new_job_looks_again_shortly(
    fake_platform, settings, publish_calls
):
    customer = CustomerFactory(name="Claimed Ltd")
    first = job_claim(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=customer.pk)
    rename(customer, "Claimed Again Ltd")
    publish_calls.clear()
    before = timezone.now()

    assert job_claim(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=customer.pk) is None

    after = timezone.now()
    first.refresh_from_db()
    waiting = jobs_of(customer)[-1]
    assert first.status == JobStatus.IN_FLIGHT
    assert (waiting.status, waiting.attempts) == (JobStatus.PENDING, 0)
    # Shortly: not at the end of the other job's lease (minutes away).
    busy = timedelta(seconds=settings.SYNC_BUSY_DELAY)
    assert before + busy <= waiting.next_attempt_at <= after + busy
    assert first.locked_until > after + 10 * busy
    assert publish_calls == [(PLATFORM, Entity.CUSTOMER, customer.pk, settings.SYNC_BUSY_DELAY)]


def test_a_retry_of_a_job_whose_record_changed_meanwhile_merges_into_the_new_job(
    fake_platform, settings, publish_calls
):
    customer = CustomerFactory(name="Merging Ltd")
    first = job_claim(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=customer.pk)
    rename(customer, "Merging Again Ltd")  # a new pending job while the first is in flight
    fake_platform.faults_set(fail_next=1, fail_status=500)

    carried = job_run(first)

    first.refresh_from_db()
    newer = jobs_of(customer)[-1]
    assert carried.pk == newer.pk
    assert first.status == JobStatus.SKIPPED
    assert f"Merged into the pending job #{newer.pk}" in first.last_error
    assert (newer.status, newer.attempts) == (JobStatus.PENDING, 1)
    assert newer.next_attempt_at >= first.next_attempt_at


# --- manual requests -----------------------------------------------------------------------------
def test_a_manual_request_merges_into_the_pending_job_and_can_force_it(
    fake_platform, publish_calls
):
    customer = CustomerFactory(name="Requested Ltd")
    pending = job_of(customer)

    job = job_request(
        platform=PLATFORM, entity=Entity.CUSTOMER, object_id=customer.pk, reason="x", force=True
    )

    assert job.pk == pending.pk
    pending.refresh_from_db()
    assert pending.force is True


def test_a_staff_request_brings_a_job_waiting_out_a_backoff_forward(
    fake_platform, publish_calls, superuser
):
    customer = CustomerFactory(name="Impatient Ltd")
    SyncJob.objects.update(next_attempt_at=timezone.now() + timedelta(hours=1))

    job = job_request(
        platform=PLATFORM, entity=Entity.CUSTOMER, object_id=customer.pk, reason="x", user=superuser
    )

    assert job.next_attempt_at <= timezone.now()
    assert SyncJob.objects.get(pk=job.pk).next_attempt_at == job.next_attempt_at


@pytest.mark.parametrize(
    ("platform", "entity", "error", "message"),
    [
        ("nowhere", Entity.CUSTOMER, UnknownPlatform, 'Unknown platform "nowhere"'),
        (PLATFORM, Entity.ASSET, PermanentError, "Fake platform does not take asset records."),
    ],
)
def test_a_manual_request_for_something_the_platform_does_not_take_is_refused(
    fake_platform, platform, entity, error, message
):
    customer = CustomerFactory()
    SyncJob.objects.all().delete()

    with pytest.raises(error, match=message):
        job_request(platform=platform, entity=entity, object_id=customer.pk, reason="x")

    assert not SyncJob.objects.exists()


def test_a_manual_request_while_the_integration_is_off_is_refused_with_a_message(fake_platform):
    with integration_off():
        customer = CustomerFactory()
    integration_set(enabled=False)

    with pytest.raises(ConfigurationError, match="The Fake platform integration is off"):
        job_request(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=customer.pk, reason="x")

    assert not SyncJob.objects.exists()
    assert not SyncAttempt.objects.exists()
