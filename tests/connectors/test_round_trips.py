"""What a sync job spends between its calls, kept small without giving up a guarantee: the
claim that says whether the job's end has anything to clean up, and the export checks in
one read."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import BillingPlatform
from connectors.choices import Direction, Entity, ErrorKind, JobStatus
from connectors.engine.claim import job_claim
from connectors.engine.finish import (
    job_finish as _finish,
)
from connectors.engine.finish import (
    job_requeue_if_unblocked as _requeue_if_unblocked,
)
from connectors.models import EntitySetting, ExportFilter, SyncJob
from connectors.selectors import export_rules
from tests.connectors.fake import PLATFORM


def queued(entity: str = Entity.CUSTOMER, object_id: int = 1, **fields) -> SyncJob:
    fields.setdefault("next_attempt_at", timezone.now() - timedelta(seconds=1))
    return SyncJob.objects.create(platform=PLATFORM, entity=entity, object_id=object_id, **fields)


def failed_waiting_on(blocking: SyncJob) -> SyncJob:
    """A site's job failed because ``blocking`` (its customer's) could not be synced first."""
    return queued(
        Entity.SITE,
        7,
        status=JobStatus.FAILED,
        error_kind=ErrorKind.DEPENDENCY,
        blocked_by=blocking,
        finished_at=timezone.now(),
    )


# --- the claim --------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_claim_is_one_statement_returning_the_job_in_flight():
    job = queued()
    with CaptureQueriesContext(connection) as done:
        claimed = job_claim(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=1)
    # (in the test's transaction, inside a savepoint: in a worker, the statement alone)
    statements = [q["sql"] for q in done.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 1 and statements[0].lstrip().startswith("UPDATE"), statements
    assert claimed.pk == job.pk
    assert (claimed.status, claimed.attempts, claimed.has_followers) == (
        JobStatus.IN_FLIGHT,
        1,
        False,
    )
    claimed.refresh_from_db()
    assert claimed.status == JobStatus.IN_FLIGHT and claimed.locked_until > timezone.now()


@pytest.mark.django_db
def test_a_job_not_due_yet_is_not_claimed():
    queued(next_attempt_at=timezone.now() + timedelta(minutes=5))
    assert job_claim(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=1) is None


@pytest.mark.django_db
def test_with_nothing_to_clean_up_a_successful_end_is_one_statement(django_assert_num_queries):
    queued()
    claimed = job_claim(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=1)
    with django_assert_num_queries(1):
        _finish(claimed, JobStatus.SUCCEEDED)


@pytest.mark.django_db
def test_the_claim_sees_the_records_failures_and_its_success_clears_them():
    failed = queued(status=JobStatus.FAILED, finished_at=timezone.now())
    queued()
    claimed = job_claim(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=1)
    assert claimed.has_followers is True
    _finish(claimed, JobStatus.SUCCEEDED)
    failed.refresh_from_db()
    assert failed.resolved_at is not None


@pytest.mark.django_db
def test_the_claim_sees_a_job_waiting_on_the_record_and_its_success_requeues_it():
    blocking = queued(status=JobStatus.SKIPPED, finished_at=timezone.now())
    waiting = failed_waiting_on(blocking)
    queued()
    claimed = job_claim(platform=PLATFORM, entity=Entity.CUSTOMER, object_id=1)
    assert claimed.has_followers is True
    _finish(claimed, JobStatus.SUCCEEDED)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.blocked_by_id) == (JobStatus.PENDING, None)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("then", "requeued"),
    [("in flight", True), ("succeeded after", True), ("succeeded before", False), (None, False)],
)
def test_a_job_failed_waiting_on_a_record_that_moved_on_since_is_requeued(then, requeued):
    """Its blocker's record got a job claimed after the blocker ended: that job's end read
    the waiting jobs at its claim, before this one was saved, so would not requeue it."""
    ended = timezone.now() - timedelta(seconds=10)
    blocking = queued(status=JobStatus.FILTERED, finished_at=ended)
    if then == "in flight":
        queued(status=JobStatus.IN_FLIGHT)
    elif then is not None:
        at = ended + timedelta(seconds=5 if then == "succeeded after" else -5)
        queued(status=JobStatus.SUCCEEDED, finished_at=at)
    waiting = failed_waiting_on(blocking)
    after = _requeue_if_unblocked(waiting)
    after.refresh_from_db()
    assert (after.status == JobStatus.PENDING) is requeued


# --- the export checks ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_export_checks_are_one_read_of_the_setting_and_its_active_filters(
    django_assert_num_queries,
):
    BillingPlatform.objects.update_or_create(
        code=PLATFORM, defaults={"name": "Fake", "integration_enabled": True}
    )
    setting, _ = EntitySetting.objects.update_or_create(
        platform=PLATFORM,
        entity=Entity.CUSTOMER,
        defaults={"active": True, "direction": Direction.EXPORT},
    )
    with django_assert_num_queries(1):
        assert export_rules(PLATFORM, Entity.CUSTOMER) == []
    first = ExportFilter.objects.create(setting=setting, field="name", condition="not_empty")
    ExportFilter.objects.create(setting=setting, field="name", condition="empty", active=False)
    second = ExportFilter.objects.create(
        setting=setting, field="name", condition="contains", value="b"
    )
    with django_assert_num_queries(1):
        rules = export_rules(PLATFORM, Entity.CUSTOMER)
    assert [(r.pk, r.field, r.condition, r.value) for r in rules] == [
        (first.pk, "name", "not_empty", ""),
        (second.pk, "name", "contains", "b"),
    ]
    assert all(r.setting_id == setting.pk and r.active for r in rules)


@pytest.mark.django_db
@pytest.mark.parametrize("off", ["integration", "entity", "direction", "unregistered"])
def test_the_export_checks_say_none_when_the_platform_does_not_export_the_entity(off):
    BillingPlatform.objects.update_or_create(
        code=PLATFORM,
        defaults={"name": "Fake", "integration_enabled": off != "integration"},
    )
    EntitySetting.objects.update_or_create(
        platform=PLATFORM,
        entity=Entity.CUSTOMER,
        defaults={
            "active": off != "entity",
            "direction": Direction.IMPORT if off == "direction" else Direction.BOTH,
        },
    )
    platform = "nowhere" if off == "unregistered" else PLATFORM
    assert export_rules(platform, Entity.CUSTOMER) is None
