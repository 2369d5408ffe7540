"""Prepare (which records are out of date, queued in batches) and process, on the fake platform."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from connectors import prepare
from connectors.base import UnknownPlatform
from connectors.choices import Entity, ErrorKind, JobStatus
from connectors.error_queue import error_queue_retry
from connectors.models import Binding, EntitySetting, SyncJob
from connectors.prepare import (
    FULL,
    INCREMENTAL,
    SINCE,
    PrepareRefused,
    sync_prepare,
    sync_process,
    sync_statuses_since,
)
from tests.connectors.fake import PLATFORM
from tests.connectors.worker_helpers import capture_publishes, fake_integration_set
from tests.factories import ContactFactory, CustomerFactory, SiteFactory


class RecordedProgress:
    def __init__(self):
        self.steps: list[list] = []

    def start(self, label, total):
        self.steps.append([label, total, 0])

    def advance(self, amount):
        self.steps[-1][2] += amount


@pytest.fixture
def published(monkeypatch):
    return capture_publishes(monkeypatch)


@pytest.fixture
def customers(db, published):
    """Three customers made while the integration was off (so no job yet), then it is on."""
    fake_integration_set(enabled=False)
    made = CustomerFactory.create_batch(3)
    fake_integration_set(enabled=True)
    return made


def bind(record, *, entity=Entity.CUSTOMER, role=None, synced_at=None, external_id=None):
    """A binding as if the record had been synced at ``synced_at`` (now by default)."""
    return Binding.objects.create(
        platform=PLATFORM,
        role=role or entity,
        entity=entity,
        object_id=record.pk,
        external_id=external_id or f"X{entity}{record.pk}",
        first_synced_at=synced_at or timezone.now(),
        last_synced_at=synced_at or timezone.now(),
    )


def changed_at(record, when):
    type(record).objects.filter(pk=record.pk).update(updated_at=when)


def finished_job(record, status, *, entity=Entity.CUSTOMER, started=None, **fields):
    now = timezone.now()
    return SyncJob.objects.create(
        platform=PLATFORM,
        entity=entity,
        object_id=record.pk,
        status=status,
        next_attempt_at=now,
        last_attempt_at=started or now,
        finished_at=now,
        **fields,
    )


def pending_ids(entity=Entity.CUSTOMER):
    return set(
        SyncJob.objects.filter(
            platform=PLATFORM, entity=entity, status=JobStatus.PENDING
        ).values_list("object_id", flat=True)
    )


# --- incremental ---------------------------------------------------------------------
def test_incremental_prepare_queues_every_record_never_synced(customers):
    result = sync_prepare(platform=PLATFORM, entity=Entity.CUSTOMER)

    assert result.mode == INCREMENTAL
    assert [(e.entity, e.records, e.prepared, e.already_pending) for e in result.entities] == [
        (Entity.CUSTOMER, 3, 3, 0)
    ]
    assert pending_ids() == {c.pk for c in customers}
    assert set(SyncJob.objects.values_list("reason", flat=True)) == {"sync prepare (incremental)"}


def test_incremental_prepare_leaves_records_unchanged_since_their_last_sync(customers):
    synced, changed, never = customers
    an_hour_ago = timezone.now() - timedelta(hours=1)
    changed_at(synced, an_hour_ago - timedelta(minutes=5))
    bind(synced, synced_at=an_hour_ago)
    bind(changed, synced_at=an_hour_ago)
    changed_at(changed, an_hour_ago + timedelta(minutes=5))

    result = sync_prepare(platform=PLATFORM, entity=Entity.CUSTOMER)

    counts = result.entities[0]
    assert (counts.records, counts.prepared, counts.up_to_date) == (3, 2, 1)
    assert pending_ids() == {changed.pk, never.pk}


def test_a_record_whose_last_job_found_nothing_to_send_after_its_change_is_up_to_date(customers):
    record = customers[0]
    long_ago = timezone.now() - timedelta(days=2)
    bind(record, synced_at=long_ago)
    changed_at(record, long_ago + timedelta(days=1))
    # Its last job started after that change and found the payload unchanged.
    finished_job(record, JobStatus.NO_CHANGE, started=long_ago + timedelta(days=1, minutes=1))

    sync_prepare(platform=PLATFORM, entity=Entity.CUSTOMER)

    assert record.pk not in pending_ids()


def test_incremental_prepare_requeues_records_with_a_job_in_the_error_queue(customers):
    failing, resolved, _ = customers
    for record in (failing, resolved):
        changed_at(record, timezone.now() - timedelta(days=1))
        bind(record)
    finished_job(failing, JobStatus.FAILED, error_kind=ErrorKind.PERMANENT, last_error="refused")
    finished_job(resolved, JobStatus.FAILED, resolved_at=timezone.now())

    sync_prepare(platform=PLATFORM, entity=Entity.CUSTOMER)

    assert failing.pk in pending_ids()
    assert resolved.pk not in pending_ids()


def test_a_binding_without_external_id_or_in_another_role_is_not_a_sync(customers):
    no_id, other_role, _ = customers
    for record in (no_id, other_role):
        changed_at(record, timezone.now() - timedelta(days=1))
    Binding.objects.create(
        platform=PLATFORM, role=Entity.CUSTOMER, entity=Entity.CUSTOMER, object_id=no_id.pk
    )
    bind(other_role, role="billing_account")

    sync_prepare(platform=PLATFORM, entity=Entity.CUSTOMER)

    assert {no_id.pk, other_role.pk} <= pending_ids()


def test_records_with_a_pending_job_are_counted_not_queued_again(db, published):
    fake_integration_set(enabled=True)
    customer = CustomerFactory()  # its save queued a job
    assert pending_ids() == {customer.pk}

    result = sync_prepare(platform=PLATFORM, entity=Entity.CUSTOMER)

    assert (result.entities[0].prepared, result.entities[0].already_pending) == (0, 1)
    assert SyncJob.objects.count() == 1


# --- full and since ------------------------------------------------------------------
def test_full_prepare_queues_records_that_are_up_to_date_too(customers):
    for record in customers:
        changed_at(record, timezone.now() - timedelta(days=1))
        bind(record)

    assert sync_prepare(platform=PLATFORM, entity=Entity.CUSTOMER).prepared == 0
    result = sync_prepare(platform=PLATFORM, entity=Entity.CUSTOMER, full=True)

    assert (result.mode, result.prepared) == (FULL, 3)
    assert pending_ids() == {c.pk for c in customers}


def test_since_prepare_takes_the_records_changed_from_that_day_on(customers):
    before, on_the_day, after = customers
    day = date(2025, 3, 10)
    midnight = timezone.make_aware(timezone.datetime(2025, 3, 10))
    changed_at(before, midnight - timedelta(seconds=1))
    changed_at(on_the_day, midnight)
    changed_at(after, midnight + timedelta(days=3))
    for record in customers:
        bind(record)  # synced since: only the date counts

    result = sync_prepare(platform=PLATFORM, entity=Entity.CUSTOMER, since=day)

    assert (result.mode, result.since, result.entities[0].records) == (SINCE, midnight, 2)
    assert pending_ids() == {on_the_day.pk, after.pk}


# --- every entity, dry run, batches --------------------------------------------------
def test_prepare_visits_the_connectors_entities_in_order_skipping_inactive_ones(db, published):
    fake_integration_set(enabled=False)
    site = SiteFactory()
    ContactFactory(customer=site.customer, site=site)
    fake_integration_set(enabled=True)
    EntitySetting.objects.filter(platform=PLATFORM, entity=Entity.SITE).update(active=False)

    result = sync_prepare(platform=PLATFORM)

    assert [(e.entity, e.exported, e.prepared) for e in result.entities] == [
        (Entity.CUSTOMER, True, 1),
        (Entity.SITE, False, 0),
        (Entity.CONTACT, True, 1),
    ]
    assert pending_ids(Entity.SITE) == set()


def test_a_dry_run_counts_what_would_be_queued_and_writes_nothing(customers):
    dry = sync_prepare(platform=PLATFORM, dry_run=True)

    assert dry.dry_run
    assert dry.prepared == 3
    assert SyncJob.objects.count() == 0
    assert sync_prepare(platform=PLATFORM).prepared == dry.prepared


def test_prepare_reads_and_queues_in_batches_reporting_progress(customers, monkeypatch, published):
    monkeypatch.setattr(prepare, "PREPARE_BATCH", 2)
    more = CustomerFactory.create_batch(2)  # these saves queue jobs: counted as pending
    progress = RecordedProgress()

    result = sync_prepare(platform=PLATFORM, entity=Entity.CUSTOMER, progress=progress)

    assert progress.steps == [[Entity.CUSTOMER, 5, 5]]
    assert (result.entities[0].prepared, result.entities[0].already_pending) == (3, 2)
    assert pending_ids() == {c.pk for c in [*customers, *more]}
    assert SyncJob.objects.count() == 5


def test_the_queries_of_a_prepare_grow_with_batches_not_records(db, published, monkeypatch):
    monkeypatch.setattr(prepare, "PREPARE_BATCH", 10)
    fake_integration_set(enabled=False)
    CustomerFactory.create_batch(5)
    fake_integration_set(enabled=True)
    with CaptureQueriesContext(connection) as few:
        sync_prepare(platform=PLATFORM, entity=Entity.CUSTOMER, dry_run=True)
    fake_integration_set(enabled=False)
    CustomerFactory.create_batch(5)
    fake_integration_set(enabled=True)
    with CaptureQueriesContext(connection) as more:
        sync_prepare(platform=PLATFORM, entity=Entity.CUSTOMER, dry_run=True)

    assert len(more) == len(few)


def test_queued_jobs_are_published_when_their_batch_commits(
    customers, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sync_prepare(platform=PLATFORM, entity=Entity.CUSTOMER)

    assert sorted(published) == sorted((PLATFORM, Entity.CUSTOMER, c.pk) for c in customers)


# --- refused -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"platform": "nowhere"}, UnknownPlatform, 'Unknown platform "nowhere"'),
        ({"platform": PLATFORM, "entity": "asset"}, PrepareRefused, 'does not take "asset"'),
        (
            {"platform": PLATFORM, "full": True, "since": date(2025, 1, 1)},
            PrepareRefused,
            "not both",
        ),
    ],
)
def test_prepare_refuses_what_cannot_be_done_and_writes_nothing(customers, options, error, message):
    with pytest.raises(error, match=message):
        sync_prepare(**options)
    assert SyncJob.objects.count() == 0


def test_prepare_refuses_a_platform_whose_integration_is_off(customers):
    fake_integration_set(enabled=False)
    with pytest.raises(PrepareRefused, match="integration is off"):
        sync_prepare(platform=PLATFORM)
    assert SyncJob.objects.count() == 0


# --- process ------------------------------------------------------------------------------
def test_process_runs_the_prepared_jobs_here_dependencies_first(fake_platform, monkeypatch):
    fake_integration_set(enabled=False)
    SiteFactory(customer=CustomerFactory(name="Processed Ltd"), name="Head office")
    fake_integration_set(enabled=True)
    capture_publishes(monkeypatch)  # no eager run on commit: this process runs them below
    sync_prepare(platform=PLATFORM)
    progress = RecordedProgress()

    counts = sync_process(platform=PLATFORM, progress=progress)

    assert counts == {JobStatus.SUCCEEDED: 2}
    assert progress.steps == [["processing", 2, 2]]
    account = next(iter(fake_platform.state["accounts"].values()))
    location = next(iter(fake_platform.state["locations"].values()))
    assert (account["name"], location["name"]) == ("Processed Ltd", "Head office")
    assert location["account"] == str(account["id"])


def test_with_no_broker_prepared_jobs_run_as_each_batch_commits(fake_platform):
    fake_integration_set(enabled=False)
    customer = CustomerFactory(name="Eager Ltd")
    fake_integration_set(enabled=True)

    result = sync_prepare(platform=PLATFORM, entity=Entity.CUSTOMER)

    assert [a["name"] for a in fake_platform.state["accounts"].values()] == ["Eager Ltd"]
    assert sync_statuses_since(platform=PLATFORM, since=result.started_at) == {
        Entity.CUSTOMER: {JobStatus.SUCCEEDED: 1}
    }
    assert sync_process(platform=PLATFORM) == {}
    assert customer.pk not in pending_ids()


# --- the error queue ---------------------------------------------------------------------
def test_retrying_the_error_queue_requeues_the_matching_jobs_only(customers):
    permanent, recoverable, _ = customers
    refused = finished_job(permanent, JobStatus.FAILED, error_kind=ErrorKind.PERMANENT)
    gave_up = finished_job(recoverable, JobStatus.ABORTED, error_kind=ErrorKind.RECOVERABLE)

    retried = error_queue_retry(platform=PLATFORM, kind=ErrorKind.PERMANENT)

    assert [(r.job_id, r.requeued_as) for r in retried] == [(refused.pk, refused.pk)]
    refused.refresh_from_db()
    gave_up.refresh_from_db()
    assert (refused.status, refused.attempts) == (JobStatus.PENDING, 0)
    assert gave_up.status == JobStatus.ABORTED


def test_a_retried_job_merges_into_the_pending_job_of_its_record(customers):
    record = customers[0]
    failed = finished_job(record, JobStatus.FAILED, error_kind=ErrorKind.PERMANENT)
    pending = SyncJob.objects.create(
        platform=PLATFORM,
        entity=Entity.CUSTOMER,
        object_id=record.pk,
        next_attempt_at=timezone.now(),
    )

    retried = error_queue_retry(job_ids=[failed.pk])

    assert [r.requeued_as for r in retried] == [pending.pk]
    failed.refresh_from_db()
    assert failed.resolved_at is not None
    assert SyncJob.objects.filter(status=JobStatus.PENDING).count() == 1


def test_retrying_named_jobs_not_in_the_error_queue_is_refused_before_any_retry(customers):
    failed = finished_job(customers[0], JobStatus.FAILED)
    done = finished_job(customers[1], JobStatus.SUCCEEDED)

    with pytest.raises(PrepareRefused) as refused:
        error_queue_retry(job_ids=[failed.pk, done.pk, 999999])

    assert str(refused.value) == (
        f"Cannot retry: #{done.pk} is not in the error queue or does not match the filters; "
        "#999999 does not exist."
    )
    failed.refresh_from_db()
    assert failed.status == JobStatus.FAILED
