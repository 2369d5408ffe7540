"""Staff's error queue actions: retry, skip, and map a record to an existing platform record."""

import pytest
from django.db import transaction
from django.utils import timezone

from connectors.choices import Entity, ErrorKind, JobStatus, Operation
from connectors.engine.actions import binding_map, job_retry, job_skip
from connectors.engine.queue import job_request
from connectors.engine.run import job_process
from connectors.errors import PermanentError
from connectors.models import Binding, SyncJob
from connectors.selectors import error_queue
from customers.models import Customer
from tests.connectors.engine_helpers import integration_off, job_of, jobs_of
from tests.connectors.fake import PLATFORM, FakeConnector
from tests.factories import CustomerFactory


@pytest.fixture
def staff(superuser):
    return superuser


def failed_customer(emulator, name="Refused Ltd") -> tuple[Customer, SyncJob]:
    """A customer whose first sync the platform refused (400): its job is in the error queue."""
    emulator.faults_set(fail_next=1, fail_status=400)
    customer = CustomerFactory(name=name)
    job = job_of(customer)
    if job.status == JobStatus.PENDING:  # publishing is recorded, not run: run it here
        job = job_process(PLATFORM, Entity.CUSTOMER, customer.pk)
    assert job.status == JobStatus.FAILED
    return customer, job


def snapshot(job: SyncJob) -> tuple:
    job.refresh_from_db()
    return (job.status, job.attempts, job.next_attempt_at, job.resolved_at, job.last_error)


# --- retry ---------------------------------------------------------------------------------------
def test_a_retried_job_is_due_now_with_its_attempts_reset_then_runs(
    fake_platform, staff, publish_calls
):
    customer, job = failed_customer(fake_platform)
    publish_calls.clear()

    with transaction.atomic():
        retried = job_retry(job, user=staff)
        assert publish_calls == []  # published once the retry commits

    job.refresh_from_db()
    assert retried.pk == job.pk
    assert (job.status, job.attempts, job.resolved_at) == (JobStatus.PENDING, 0, None)
    assert job.next_attempt_at <= timezone.now()
    assert job.reason == f"retried by {staff.get_username()}"
    assert publish_calls == [(PLATFORM, Entity.CUSTOMER, customer.pk, 0)]

    finished = job_process(PLATFORM, Entity.CUSTOMER, customer.pk)

    assert (finished.status, finished.attempts) == (JobStatus.SUCCEEDED, 1)
    assert [a["name"] for a in fake_platform.state["accounts"].values()] == ["Refused Ltd"]
    assert not error_queue().exists()


def test_an_aborted_job_can_be_retried(fake_platform, settings, publish_calls):
    customer = CustomerFactory()
    job = job_of(customer)
    SyncJob.objects.filter(pk=job.pk).update(
        status=JobStatus.ABORTED, attempts=settings.SYNC_MAX_ATTEMPTS
    )
    job.refresh_from_db()

    job_retry(job, reason="the platform is back")

    job.refresh_from_db()
    assert (job.status, job.attempts, job.reason) == (
        JobStatus.PENDING,
        0,
        "retried: the platform is back",
    )


@pytest.mark.parametrize("status", [JobStatus.PENDING, JobStatus.SUCCEEDED, JobStatus.NO_CHANGE])
def test_only_failed_aborted_or_skipped_jobs_can_be_retried(fake_platform, publish_calls, status):
    customer = CustomerFactory()
    job = job_of(customer)
    SyncJob.objects.filter(pk=job.pk).update(status=status)
    job.refresh_from_db()
    before = snapshot(job)

    with pytest.raises(PermanentError) as raised:
        job_retry(job)

    label = JobStatus(status).label.lower()
    assert raised.value.message == (
        f"Job #{job.pk} is {label}; only failed, aborted or skipped jobs can be retried."
    )
    assert snapshot(job) == before


def test_retrying_a_job_whose_record_has_a_pending_job_merges_into_that_job(
    fake_platform, publish_calls
):
    customer, failed = failed_customer(fake_platform)
    customer.name = "Renamed Ltd"
    customer.save()  # a new pending job (publishing is recorded, so it waits)
    pending = jobs_of(customer)[-1]

    target = job_retry(failed)

    failed.refresh_from_db()
    assert target.pk == pending.pk
    assert target.status == JobStatus.PENDING
    assert failed.status == JobStatus.SKIPPED
    assert failed.resolved_at is not None
    assert f"Merged into the pending job #{pending.pk}." in failed.last_error
    assert list(error_queue()) == []


# --- skip ----------------------------------------------------------------------------------------
def test_a_skipped_job_leaves_the_error_queue_with_who_and_why(fake_platform, staff):
    _, job = failed_customer(fake_platform)
    was = job.last_error

    job_skip(job, user=staff, reason="duplicate of an old account")

    job.refresh_from_db()
    assert job.status == JobStatus.SKIPPED
    assert job.resolved_at is not None
    assert job.last_error == (
        f"Skipped by {staff.get_username()}: duplicate of an old account. Was: {was}"
    )
    assert not error_queue().exists()
    assert fake_platform.calls("POST") == []


@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.SKIPPED, JobStatus.PENDING])
def test_a_job_not_in_the_error_queue_cannot_be_skipped(fake_platform, publish_calls, status):
    customer = CustomerFactory()
    job = job_of(customer)
    SyncJob.objects.filter(pk=job.pk).update(status=status)
    job.refresh_from_db()
    before = snapshot(job)

    with pytest.raises(PermanentError, match=rf"^Job #{job.pk} is not in the error queue\.$"):
        job_skip(job)

    assert snapshot(job) == before


def test_a_failed_job_already_resolved_cannot_be_skipped(fake_platform):
    _, job = failed_customer(fake_platform)
    SyncJob.objects.filter(pk=job.pk).update(resolved_at=timezone.now())
    job.refresh_from_db()

    with pytest.raises(PermanentError, match="is not in the error queue"):
        job_skip(job)


# --- map to an existing platform record -------------------------------------------------------
def test_mapping_binds_the_record_resolves_its_failures_and_updates_that_platform_record(
    fake_platform, staff
):
    customer, failed = failed_customer(fake_platform, name="Mapped Ltd")
    fake_platform.state["accounts"]["900"] = {"id": 900, "name": "MAPPED", "reference": "OLD"}

    with transaction.atomic():
        binding = binding_map(
            platform=PLATFORM,
            entity=Entity.CUSTOMER,
            object_id=customer.pk,
            external_id=" 900 ",
            user=staff,
        )

    assert (binding.role, binding.external_id) == (Entity.CUSTOMER, "900")
    failed.refresh_from_db()
    assert failed.resolved_at is not None
    assert failed.operation == Operation.MAPPED
    update = jobs_of(customer)[-1]
    assert update.reason == f"mapped to 900 by {staff.get_username()}"
    assert (update.status, update.operation) == (JobStatus.SUCCEEDED, Operation.UPDATED)
    assert [c["path"] for c in fake_platform.calls("PATCH")] == ["accounts/900"]
    assert list(fake_platform.state["accounts"]) == ["900"]  # nothing created
    assert fake_platform.state["accounts"]["900"]["name"] == "Mapped Ltd"
    assert fake_platform.state["accounts"]["900"]["reference"] == "OLD"  # one-off: kept
    assert not error_queue().exists()


def test_mapping_a_record_to_the_id_it_already_has_is_accepted(fake_platform, publish_calls):
    customer = CustomerFactory()
    binding_map(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=customer.pk, external_id="5")

    again = binding_map(
        platform=PLATFORM, entity=Entity.CUSTOMER, object_id=customer.pk, external_id="5"
    )

    assert again.external_id == "5"
    assert Binding.objects.count() == 1


@pytest.mark.parametrize(
    ("external_id", "message"),
    [
        ("", "Give the external id of the platform record to map to."),
        ("   ", "Give the external id of the platform record to map to."),
        ("9" * 101, "An external id is at most 100 characters; this one has 101."),
        ("../admin", '"../admin" is not a platform record id'),
        ("12 34", '"12 34" is not a platform record id'),
        ("https://elsewhere.example/x", "is not a platform record id"),
        ("..", '".." is not a platform record id'),
    ],
)
def test_mapping_to_an_unusable_external_id_is_refused_and_changes_nothing(
    fake_platform, publish_calls, external_id, message
):
    customer = CustomerFactory()
    jobs_before = SyncJob.objects.count()

    with pytest.raises(PermanentError) as raised:
        binding_map(
            platform=PLATFORM,
            entity=Entity.CUSTOMER,
            object_id=customer.pk,
            external_id=external_id,
        )

    assert message in raised.value.message
    assert not Binding.objects.exists()
    assert SyncJob.objects.count() == jobs_before


def test_mapping_an_id_already_mapped_to_another_record_is_refused_naming_it(
    fake_platform, publish_calls
):
    holder, other = CustomerFactory(), CustomerFactory()
    binding_map(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=holder.pk, external_id="41")

    with pytest.raises(PermanentError) as raised:
        binding_map(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=other.pk, external_id="41")

    assert raised.value.message == (
        f"Fake platform customer 41 is already mapped to customer #{holder.pk}."
    )
    assert not Binding.objects.filter(object_id=other.pk).exists()


def test_remapping_a_bound_record_to_another_id_is_refused(fake_platform, publish_calls):
    customer = CustomerFactory()
    binding_map(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=customer.pk, external_id="41")

    with pytest.raises(PermanentError) as raised:
        binding_map(
            platform=PLATFORM, entity=Entity.CUSTOMER, object_id=customer.pk, external_id="42"
        )

    assert raised.value.message == (
        "This customer is already mapped to Fake platform customer 41; it cannot be remapped to 42."
    )
    assert Binding.objects.get().external_id == "41"


@pytest.mark.parametrize(
    ("entity", "object_id", "message"),
    [
        (Entity.CUSTOMER, 999_999, "There is no customer #999999."),
        (Entity.ASSET, 1, "Fake platform does not take asset records."),
    ],
)
def test_mapping_a_record_that_cannot_be_mapped_is_refused(
    fake_platform, publish_calls, entity, object_id, message
):
    with pytest.raises(PermanentError, match=message):
        binding_map(platform=PLATFORM, entity=entity, object_id=object_id, external_id="41")

    assert not Binding.objects.exists()


def test_a_sync_that_finds_a_platform_record_bound_to_another_record_fails_naming_it(
    fake_platform, monkeypatch, publish_calls
):
    with integration_off():
        holder, other = CustomerFactory(), CustomerFactory()
    binding_map(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=holder.pk, external_id="77")
    monkeypatch.setattr(FakeConnector, "lookup", lambda *args: "77")  # the platform's mix-up
    job_request(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=other.pk, reason="x")

    finished = job_process(PLATFORM, Entity.CUSTOMER, other.pk)

    assert (finished.status, finished.error_kind) == (JobStatus.FAILED, ErrorKind.PERMANENT)
    assert finished.last_error == f"fake customer 77 is already bound to customer #{holder.pk}."
    assert not Binding.objects.filter(object_id=other.pk).exclude(external_id="").exists()
