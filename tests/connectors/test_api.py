"""The sync engine's REST API: /api/v1/sync-jobs/, a customer's sync and sync-status, and
/api/v1/sync-preview/.

Most tests work in one transaction, where jobs are queued but never run (nothing commits);
the end-to-end ones serve the fake platform's emulator over real HTTP (``fake_platform``),
where a queued job runs eagerly on commit.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import BillingPlatform
from connectors.api.sync_status import records_sync_state
from connectors.base import Connector, register, unregister
from connectors.choices import Entity, ErrorKind, JobStatus, Operation
from connectors.engine.entity_settings import entity_settings_ensure
from connectors.engine.push import payload_hash
from connectors.models import Binding, EntitySetting, SyncAttempt, SyncJob
from connectors.selectors import record_sync_state
from tests.api.conftest import user_with_perms
from tests.connectors.fake import PLATFORM
from tests.factories import AssetFactory, ContactFactory, CustomerFactory, SiteFactory

JOBS = "/api/v1/sync-jobs/"
PREVIEW = "/api/v1/sync-preview/"
VIEW = "connectors.view_syncjob"
ADD = "connectors.add_syncjob"
ACT = "connectors.retry_syncjob"

JOB_FIELDS = {
    "id",
    "platform",
    "entity",
    "object_id",
    "record",
    "status",
    "operation",
    "reason",
    "force",
    "attempts",
    "last_attempt_at",
    "next_attempt_at",
    "external_id",
    "error_kind",
    "last_error",
    "filtered_by",
    "blocked_by",
    "requested_by",
    "in_error_queue",
    "resolved_at",
    "created_at",
    "finished_at",
}


def sync_url(customer_id: int) -> str:
    return f"/api/v1/customers/{customer_id}/sync/"


def status_url(customer_id: int, platform: str | None = PLATFORM) -> str:
    query = f"?platform={platform}" if platform is not None else ""
    return f"/api/v1/customers/{customer_id}/sync-status/{query}"


def fake_integration(*, enabled: bool = True) -> None:
    """Turn the fake platform's integration on (or off), its entities exported."""
    BillingPlatform.objects.update_or_create(
        code=PLATFORM, defaults={"name": "Fake platform", "integration_enabled": enabled}
    )
    entity_settings_ensure()


def make_job(object_id: int = 1, **fields) -> SyncJob:
    values = {
        "platform": PLATFORM,
        "entity": Entity.CUSTOMER,
        "object_id": object_id,
        "next_attempt_at": timezone.now(),
        **fields,
    }
    return SyncJob.objects.create(**values)


def failed_job(object_id: int = 1, **fields) -> SyncJob:
    values = {
        "status": JobStatus.FAILED,
        "error_kind": ErrorKind.PERMANENT,
        "last_error": "name may be at most 50 characters",
        "attempts": 1,
        "finished_at": timezone.now(),
        **fields,
    }
    return make_job(object_id, **values)


@pytest.fixture
def client_as(db):
    """``client_as(perm, ...)``: an API client signed in as a new user with those perms."""

    def sign_in(*perms: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(user=user_with_perms(*perms))
        return client

    return sign_in


@pytest.fixture
def staff(client_as) -> APIClient:
    return client_as(VIEW, ADD, ACT)


# --- the Sync History ----------------------------------------------------------------------
@pytest.mark.django_db
def test_the_job_list_shows_each_job_with_its_history_and_error_queue_flag(staff):
    blocker = failed_job(7, object_repr="Acme Ltd", entity=Entity.CUSTOMER)
    blocked = failed_job(
        8,
        entity=Entity.SITE,
        object_repr="Head office",
        error_kind=ErrorKind.DEPENDENCY,
        blocked_by=blocker,
        resolved_at=timezone.now(),
    )

    response = staff.get(JOBS)

    assert response.status_code == 200
    rows = {row["id"]: row for row in response.json()["results"]}
    assert set(rows) == {blocker.pk, blocked.pk}
    assert set(rows[blocker.pk]) == JOB_FIELDS
    assert rows[blocker.pk]["record"] == "Acme Ltd"
    assert rows[blocker.pk]["in_error_queue"] is True
    assert rows[blocker.pk]["last_error"] == "name may be at most 50 characters"
    assert rows[blocked.pk]["blocked_by"] == blocker.pk
    assert rows[blocked.pk]["in_error_queue"] is False  # resolved since
    assert [row["id"] for row in response.json()["results"]] == [blocked.pk, blocker.pk]


@pytest.mark.django_db
def test_the_job_list_filters_by_platform_status_entity_and_record(staff):
    wanted = failed_job(5, entity=Entity.SITE)
    make_job(5, entity=Entity.SITE)  # pending
    failed_job(6, entity=Entity.SITE)
    failed_job(5, entity=Entity.CONTACT)
    failed_job(5, entity=Entity.SITE, platform="other")

    response = staff.get(
        JOBS, {"platform": PLATFORM, "status": "failed", "entity": "site", "object_id": 5}
    )

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [wanted.pk]


@pytest.mark.django_db
def test_the_status_filter_takes_several_statuses(staff):
    failed = failed_job(1)
    aborted = failed_job(2, status=JobStatus.ABORTED)
    make_job(3)
    make_job(4, status=JobStatus.SUCCEEDED)

    response = staff.get(f"{JOBS}?status=failed&status=aborted")

    assert {row["id"] for row in response.json()["results"]} == {failed.pk, aborted.pk}


@pytest.mark.django_db
def test_in_error_queue_lists_failed_and_aborted_jobs_not_since_resolved(staff):
    failed = failed_job(1)
    aborted = failed_job(2, status=JobStatus.ABORTED, error_kind=ErrorKind.RECOVERABLE)
    resolved = failed_job(3, resolved_at=timezone.now())
    pending = make_job(4)

    queue = staff.get(JOBS, {"in_error_queue": "true"}).json()["results"]
    others = staff.get(JOBS, {"in_error_queue": "false"}).json()["results"]

    assert {row["id"] for row in queue} == {failed.pk, aborted.pk}
    assert {row["id"] for row in others} == {resolved.pk, pending.pk}


@pytest.mark.django_db
def test_the_error_kind_filter_picks_configuration_errors(staff):
    configuration = failed_job(1, error_kind=ErrorKind.CONFIGURATION)
    failed_job(2, error_kind=ErrorKind.PERMANENT)

    response = staff.get(JOBS, {"error_kind": "configuration"})

    assert [row["id"] for row in response.json()["results"]] == [configuration.pk]


@pytest.mark.django_db
def test_created_after_and_before_bound_the_creation_time(staff):
    now = timezone.now()
    old, middle, new = make_job(1), make_job(2), make_job(3)
    SyncJob.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=10))
    SyncJob.objects.filter(pk=middle.pk).update(created_at=now - timedelta(days=5))
    SyncJob.objects.filter(pk=new.pk).update(created_at=now - timedelta(days=1))

    response = staff.get(
        JOBS,
        {
            "created_after": (now - timedelta(days=6)).isoformat(),
            "created_before": (now - timedelta(days=2)).isoformat(),
        },
    )

    assert [row["id"] for row in response.json()["results"]] == [middle.pk]


@pytest.mark.django_db
def test_a_creation_bound_with_any_offset_python_reads_is_compared_in_utc(staff):
    # Found by the API fuzz test: an offset of -20:26 is valid ISO 8601 to Python but out
    # of PostgreSQL's range, which made the list a server error.
    job = make_job(1)

    response = staff.get(JOBS, {"created_before": "0007-10-11T23:54:46.4158-20:26"})
    later = staff.get(JOBS, {"created_after": "0007-10-11T23:54:46.4158-20:26"})

    assert response.status_code == 200
    assert response.json()["results"] == []
    assert [row["id"] for row in later.json()["results"]] == [job.pk]


@pytest.mark.django_db
def test_the_job_list_orders_by_a_chosen_field(staff):
    few, many = failed_job(1, attempts=1), failed_job(2, attempts=8)

    by_attempts = staff.get(JOBS, {"ordering": "-attempts"}).json()["results"]

    assert [row["id"] for row in by_attempts] == [many.pk, few.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"platform": "nosuch"}, "platform", 'Unknown platform "nosuch". Known platforms:'),
        ({"status": "lost"}, "status", "Select a valid choice"),
        ({"in_error_queue": "perhaps"}, "in_error_queue", "use true or false"),
        ({"created_after": "last tuesday"}, "created_after", "valid date"),
        # Before the year 1 once in UTC: an error naming the value, never a server error.
        ({"created_before": "0001-01-01T00:00:00+05:00"}, "created_before", "out of range"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(staff, query, field, message):
    make_job(1)

    response = staff.get(JOBS, query)

    assert response.status_code == 400
    assert message in " ".join(response.json()[field])


@pytest.mark.django_db
def test_the_unknown_platform_message_names_the_known_platforms(staff):
    response = staff.get(JOBS, {"platform": "nosuch"})

    assert PLATFORM in response.json()["platform"][0]


@pytest.mark.django_db
def test_the_job_list_costs_the_same_queries_for_one_job_or_fifty(staff):
    user = user_with_perms(VIEW)
    requester = user_with_perms()

    def list_queries() -> int:
        client = APIClient()
        client.force_authenticate(user=user_with_perms(VIEW))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(JOBS).status_code == 200
        return len(queries)

    failed_job(1, requested_by=user)
    one = list_queries()
    blocker = failed_job(2)
    for object_id in range(3, 52):
        failed_job(object_id, requested_by=requester, blocked_by=blocker)

    assert list_queries() == one


@pytest.mark.django_db
def test_the_job_detail_adds_the_attempt_log(staff):
    job = failed_job(1)
    for status_code in (503, 400):
        SyncAttempt.objects.create(
            job=job,
            started_at=timezone.now(),
            method="POST",
            path="accounts",
            status_code=status_code,
            duration_ms=12,
            request_excerpt='{"name": "Acme"}',
            response_excerpt='{"message": "no"}',
        )

    response = staff.get(f"{JOBS}{job.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == JOB_FIELDS | {"attempt_log"}
    assert [a["status_code"] for a in body["attempt_log"]] == [503, 400]
    assert set(body["attempt_log"][0]) == {
        "id",
        "started_at",
        "method",
        "path",
        "status_code",
        "duration_ms",
        "request_excerpt",
        "response_excerpt",
        "error",
    }
    assert body["attempt_log"][0]["request_excerpt"] == '{"name": "Acme"}'


@pytest.mark.django_db
def test_an_unknown_job_is_a_404(staff):
    assert staff.get(f"{JOBS}999/").status_code == 404
    assert staff.post(f"{JOBS}999/retry/").status_code == 404


# --- retry and skip ------------------------------------------------------------------------
@pytest.mark.django_db
def test_retry_puts_a_failed_job_back_in_the_queue_and_answers_202(client_as):
    job = failed_job(1, attempts=3)
    client = client_as(VIEW, ACT)

    response = client.post(f"{JOBS}{job.pk}/retry/")

    assert response.status_code == 202, response.json()
    assert response.json()["id"] == job.pk
    assert response.json()["status"] == JobStatus.PENDING
    job.refresh_from_db()
    assert (job.status, job.attempts, job.resolved_at) == (JobStatus.PENDING, 0, None)
    assert job.reason.startswith("retried by user")


@pytest.mark.django_db
def test_retry_merges_into_the_records_pending_job_and_answers_that_job(staff):
    failed = failed_job(4)
    pending = make_job(4)

    response = staff.post(f"{JOBS}{failed.pk}/retry/")

    assert response.status_code == 202
    assert response.json()["id"] == pending.pk
    failed.refresh_from_db()
    assert failed.status == JobStatus.SKIPPED
    assert failed.resolved_at is not None
    assert SyncJob.objects.filter(status=JobStatus.PENDING).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.PENDING, JobStatus.IN_FLIGHT])
def test_retrying_a_job_that_has_not_failed_is_a_409_and_changes_nothing(staff, status):
    job = make_job(1, status=status, attempts=2)

    response = staff.post(f"{JOBS}{job.pk}/retry/")

    assert response.status_code == 409
    assert (
        "only failed, aborted or skipped jobs can be retried"
        in (response.json()["non_field_errors"][0])
    )
    job.refresh_from_db()
    assert (job.status, job.attempts) == (status, 2)


@pytest.mark.django_db
def test_skip_takes_a_job_out_of_the_error_queue_keeping_the_reason(staff):
    job = failed_job(1)

    response = staff.post(f"{JOBS}{job.pk}/skip/", {"reason": "closed account"})

    assert response.status_code == 200
    assert response.json()["status"] == JobStatus.SKIPPED
    assert response.json()["in_error_queue"] is False
    job.refresh_from_db()
    assert job.status == JobStatus.SKIPPED
    assert "closed account" in job.last_error
    assert "name may be at most 50 characters" in job.last_error


@pytest.mark.django_db
def test_skip_takes_no_reason_as_well(staff):
    job = failed_job(1)

    assert staff.post(f"{JOBS}{job.pk}/skip/").status_code == 200


@pytest.mark.django_db
def test_skipping_a_job_not_in_the_error_queue_is_a_409(staff):
    job = make_job(1, status=JobStatus.SUCCEEDED)

    response = staff.post(f"{JOBS}{job.pk}/skip/", {"reason": "x"})

    assert response.status_code == 409
    assert response.json() == {"non_field_errors": [f"Job #{job.pk} is not in the error queue."]}
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED


@pytest.mark.django_db
def test_a_skip_reason_over_200_characters_is_a_400(staff):
    job = failed_job(1)

    response = staff.post(f"{JOBS}{job.pk}/skip/", {"reason": "x" * 201})

    assert response.status_code == 400
    assert "reason" in response.json()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["retry", "skip"])
def test_retry_and_skip_need_the_retry_permission(client_as, action):
    job = failed_job(1)
    client = client_as(VIEW, ADD, "connectors.change_syncjob")

    response = client.post(f"{JOBS}{job.pk}/{action}/")

    assert response.status_code == 403
    assert ACT in response.json()["detail"]
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


@pytest.mark.django_db
def test_reading_jobs_needs_the_view_permission(client_as):
    job = failed_job(1)
    client = client_as(ADD, ACT)

    assert client.get(JOBS).status_code == 403
    assert client.get(f"{JOBS}{job.pk}/").status_code == 403
    assert client_as(VIEW).get(f"{JOBS}{job.pk}/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_jobs_cannot_be_written_through_the_api(staff, method):
    job = failed_job(1)

    response = getattr(staff, method)(f"{JOBS}{job.pk}/", {"status": "succeeded"})

    assert response.status_code in (403, 405)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


@pytest.mark.django_db
def test_anonymous_users_are_refused_with_401(api_client):
    job = failed_job(1)
    customer = CustomerFactory()

    for response in (
        api_client.get(JOBS),
        api_client.post(f"{JOBS}{job.pk}/retry/"),
        api_client.post(f"{JOBS}{job.pk}/skip/"),
        api_client.post(sync_url(customer.pk), {"platform": PLATFORM}),
        api_client.get(status_url(customer.pk)),
        api_client.get(PREVIEW, {"platform": PLATFORM, "entity": "customer", "id": customer.pk}),
    ):
        assert response.status_code == 401
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert SyncJob.objects.count() == 1


# --- a customer's manual sync --------------------------------------------------------------
@pytest.mark.django_db
def test_a_manual_sync_queues_a_job_for_the_customer_and_answers_202(client_as):
    customer = CustomerFactory(name="Acme Ltd")
    fake_integration()
    client = client_as(ADD)

    response = client.post(sync_url(customer.pk), {"platform": PLATFORM})

    assert response.status_code == 202, response.json()
    body = response.json()
    job = SyncJob.objects.get()
    assert body["id"] == job.pk
    assert (body["platform"], body["entity"], body["object_id"]) == (
        PLATFORM,
        "customer",
        customer.pk,
    )
    assert body["status"] == JobStatus.PENDING
    assert body["force"] is False
    username = job.requested_by.username
    assert body["requested_by"] == username
    assert job.reason == f"manual sync by {username}"


@pytest.mark.django_db
def test_a_forced_manual_sync_marks_the_job_forced(staff):
    customer = CustomerFactory()
    fake_integration()

    response = staff.post(sync_url(customer.pk), {"platform": PLATFORM, "force": True})

    assert response.status_code == 202
    assert response.json()["force"] is True
    assert SyncJob.objects.get().force is True


@pytest.mark.django_db
def test_a_manual_sync_merges_into_the_customers_pending_job(staff):
    fake_integration()
    customer = CustomerFactory()  # saving it queued a job
    queued = SyncJob.objects.get(entity=Entity.CUSTOMER, object_id=customer.pk)

    response = staff.post(sync_url(customer.pk), {"platform": PLATFORM})

    assert response.status_code == 202
    assert response.json()["id"] == queued.pk
    assert SyncJob.objects.filter(entity=Entity.CUSTOMER).count() == 1


@pytest.mark.django_db
def test_a_manual_sync_with_an_external_id_maps_the_customer_first(staff):
    customer = CustomerFactory()
    fake_integration()

    response = staff.post(sync_url(customer.pk), {"platform": PLATFORM, "external_id": " 900 "})

    assert response.status_code == 202, response.json()
    binding = Binding.objects.get(platform=PLATFORM, entity=Entity.CUSTOMER)
    assert (binding.object_id, binding.external_id, binding.payload_hash) == (
        customer.pk,
        "900",
        "",
    )
    job = SyncJob.objects.get()
    assert response.json()["id"] == job.pk
    assert job.status == JobStatus.PENDING


@pytest.mark.django_db
def test_an_unknown_platform_is_a_400_naming_the_known_ones_and_queues_nothing(staff):
    customer = CustomerFactory()

    response = staff.post(sync_url(customer.pk), {"platform": "nosuch", "external_id": "9"})

    assert response.status_code == 400
    message = response.json()["platform"][0]
    assert message.startswith('Unknown platform "nosuch". Known platforms:')
    assert PLATFORM in message
    assert not SyncJob.objects.exists()
    assert not Binding.objects.exists()


@pytest.mark.django_db
def test_a_platform_whose_integration_is_off_is_a_409_and_leaves_no_mapping(staff):
    customer = CustomerFactory()
    fake_integration(enabled=False)

    response = staff.post(sync_url(customer.pk), {"platform": PLATFORM, "external_id": "900"})

    assert response.status_code == 409
    assert "The Fake platform integration is off" in response.json()["platform"][0]
    assert not Binding.objects.exists()
    assert not SyncJob.objects.exists()


@pytest.mark.django_db
def test_a_customer_entity_that_is_not_exported_is_a_409(staff):
    customer = CustomerFactory()
    fake_integration()
    EntitySetting.objects.filter(platform=PLATFORM, entity=Entity.CUSTOMER).update(active=False)

    response = staff.post(sync_url(customer.pk), {"platform": PLATFORM})

    assert response.status_code == 409
    assert "customer entity is inactive" in response.json()["platform"][0]
    assert not SyncJob.objects.exists()


@pytest.mark.django_db
def test_an_external_id_mapped_to_another_customer_is_a_400_and_changes_nothing(staff):
    other, customer = CustomerFactory(), CustomerFactory()
    fake_integration()
    Binding.objects.create(
        platform=PLATFORM,
        role=Entity.CUSTOMER,
        entity=Entity.CUSTOMER,
        object_id=other.pk,
        external_id="900",
    )

    response = staff.post(sync_url(customer.pk), {"platform": PLATFORM, "external_id": "900"})

    assert response.status_code == 400
    assert response.json()["external_id"] == [
        f"Fake platform customer 900 is already mapped to customer #{other.pk}."
    ]
    assert not Binding.objects.filter(object_id=customer.pk).exists()
    assert not SyncJob.objects.exists()


@pytest.mark.django_db
def test_remapping_a_mapped_customer_to_another_external_id_is_a_400(staff):
    customer = CustomerFactory()
    fake_integration()
    Binding.objects.create(
        platform=PLATFORM,
        role=Entity.CUSTOMER,
        entity=Entity.CUSTOMER,
        object_id=customer.pk,
        external_id="900",
    )

    response = staff.post(sync_url(customer.pk), {"platform": PLATFORM, "external_id": "901"})

    assert response.status_code == 400
    assert "cannot be remapped to 901" in response.json()["external_id"][0]
    assert Binding.objects.get().external_id == "900"
    assert not SyncJob.objects.exists()


@pytest.fixture
def assets_only_platform():
    """A platform that takes assets and nothing else, integration on."""

    class AssetsOnly(Connector):
        identifier = "assets-only"
        name = "Assets Only"
        entities = (Entity.ASSET,)

    register(AssetsOnly)
    BillingPlatform.objects.create(
        code=AssetsOnly.identifier, name=AssetsOnly.name, integration_enabled=True
    )
    entity_settings_ensure()
    yield AssetsOnly.identifier
    unregister(AssetsOnly.identifier)


@pytest.mark.django_db
def test_a_manual_sync_on_a_platform_that_takes_no_customers_is_a_400(staff, assets_only_platform):
    customer = CustomerFactory()

    response = staff.post(sync_url(customer.pk), {"platform": assets_only_platform})

    assert response.status_code == 400
    assert response.json() == {"platform": ["Assets Only does not take customer records."]}
    assert not SyncJob.objects.exists()


@pytest.mark.django_db
def test_a_manual_sync_of_an_unknown_customer_is_a_404(staff):
    fake_integration()

    response = staff.post(sync_url(999999), {"platform": PLATFORM})

    assert response.status_code == 404
    assert not SyncJob.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "platform"),
        ({"platform": PLATFORM, "force": "sometimes"}, "force"),
        ({"platform": PLATFORM, "external_id": "   "}, "external_id"),
        ({"platform": PLATFORM, "external_id": "9" * 101}, "external_id"),
    ],
    ids=["no platform", "force not a boolean", "blank external id", "external id too long"],
)
def test_a_bad_sync_request_is_a_400_on_its_field(staff, body, field):
    customer = CustomerFactory()
    fake_integration()

    response = staff.post(sync_url(customer.pk), body)

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not SyncJob.objects.exists()


@pytest.mark.django_db
def test_a_manual_sync_needs_the_add_job_permission(client_as):
    customer = CustomerFactory()
    fake_integration()

    response = client_as(VIEW, ACT, "customers.change_customer").post(
        sync_url(customer.pk), {"platform": PLATFORM}
    )

    assert response.status_code == 403
    assert not SyncJob.objects.exists()


@pytest.mark.django_db
def test_mapping_to_an_external_id_needs_the_map_permission_as_well(client_as):
    customer = CustomerFactory()
    fake_integration()
    client = client_as(ADD)

    refused = client.post(sync_url(customer.pk), {"platform": PLATFORM, "external_id": "900"})

    assert refused.status_code == 403
    assert ACT in refused.json()["detail"]
    assert not Binding.objects.exists()
    assert not SyncJob.objects.exists()
    assert client.post(sync_url(customer.pk), {"platform": PLATFORM}).status_code == 202


# --- a customer's sync status ----------------------------------------------------------------
def customer_with_sites_and_contacts(sites: int = 2, contacts: int = 2, **customer_fields):
    """A customer, its default site, ``sites - 1`` more, a subsite, and contacts, made while
    no integration is on (a subsite is refused otherwise)."""
    customer = CustomerFactory(**customer_fields)
    default = SiteFactory(customer=customer, name="Head office", is_default=True)
    others = [SiteFactory(customer=customer, name=f"Branch {n}") for n in range(1, sites)]
    subsite = SiteFactory(customer=customer, name="Annex", parent=default)
    people = [
        ContactFactory(customer=customer, site=default, last_name=f"Person{n:02}")
        for n in range(contacts)
    ]
    return customer, default, others, subsite, people


@pytest.mark.django_db
def test_sync_status_shows_the_customer_its_sites_subsites_and_contacts(client_as):
    customer, default, (branch,), subsite, (first, second) = customer_with_sites_and_contacts(
        name="Acme Ltd"
    )
    fake_integration()
    synced_at = timezone.now()
    Binding.objects.create(
        platform=PLATFORM,
        role="customer",
        entity=Entity.CUSTOMER,
        object_id=customer.pk,
        external_id="41",
        first_synced_at=synced_at,
        last_synced_at=synced_at,
    )
    Binding.objects.create(
        platform="other", role="customer", entity=Entity.CUSTOMER, object_id=customer.pk
    )
    done = make_job(customer.pk, status=JobStatus.SUCCEEDED, operation=Operation.INSERTED)
    waiting = make_job(default.pk, entity=Entity.SITE, reason="site saved")
    broken = failed_job(first.pk, entity=Entity.CONTACT)

    response = client_as(VIEW).get(status_url(customer.pk))

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["platform"] == PLATFORM
    assert body["exported_entities"] == ["contact", "customer", "site"]
    state = body["customer"]
    assert (state["id"], state["name"], state["synced"]) == (customer.pk, "Acme Ltd", True)
    assert state["external_ids"] == {"customer": "41"}
    assert state["last_synced_at"] is not None
    assert state["bindings"][0]["external_id"] == "41"
    assert state["last_job"]["id"] == done.pk
    assert state["last_job"]["status"] == "succeeded"
    assert state["pending_job"] is None
    assert state["failed_job"] is None
    sites = {site["id"]: site for site in body["sites"]}
    assert list(sites) == [default.pk, subsite.pk, branch.pk]
    assert sites[default.pk]["is_default"] is True
    assert sites[subsite.pk]["parent"] == default.pk
    assert sites[default.pk]["pending_job"]["id"] == waiting.pk
    assert sites[default.pk]["synced"] is False
    assert sites[branch.pk] == {
        "id": branch.pk,
        "name": "Branch 1",
        "is_default": False,
        "parent": None,
        "synced": False,
        "external_ids": {},
        "last_synced_at": None,
        "bindings": [],
        "pending_job": None,
        "last_job": None,
        "failed_job": None,
    }
    contacts = {contact["id"]: contact for contact in body["contacts"]}
    assert set(contacts) == {first.pk, second.pk}
    assert contacts[first.pk]["failed_job"]["id"] == broken.pk
    assert contacts[first.pk]["failed_job"]["last_error"] == "name may be at most 50 characters"
    assert contacts[first.pk]["last_job"]["id"] == broken.pk
    assert contacts[first.pk]["site"] == default.pk
    assert contacts[second.pk]["failed_job"] is None


@pytest.mark.django_db
def test_sync_status_reads_only_the_platform_asked_for(staff):
    customer = CustomerFactory()
    failed_job(customer.pk, platform="other")
    Binding.objects.create(
        platform="other",
        role="customer",
        entity=Entity.CUSTOMER,
        object_id=customer.pk,
        external_id="5",
    )

    body = staff.get(status_url(customer.pk)).json()

    assert body["customer"]["synced"] is False
    assert body["customer"]["failed_job"] is None
    assert body["exported_entities"] == []  # the fake integration was never turned on


@pytest.mark.django_db
def test_sync_status_costs_the_same_queries_for_one_site_or_many(
    client_as, django_assert_max_num_queries
):
    def status_queries(customer) -> int:
        client = client_as(VIEW)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(status_url(customer.pk)).status_code == 200
        return len(queries)

    small, small_site, *_ = customer_with_sites_and_contacts(sites=1, contacts=1)
    big, default, branches, subsite, people = customer_with_sites_and_contacts(sites=8, contacts=12)
    for record in [small_site, default, *branches, subsite]:
        make_job(record.pk, entity=Entity.SITE, status=JobStatus.SUCCEEDED)
        failed_job(record.pk, entity=Entity.SITE)
        make_job(record.pk, entity=Entity.SITE)
        Binding.objects.create(
            platform=PLATFORM,
            role="site",
            entity=Entity.SITE,
            object_id=record.pk,
            external_id=str(record.pk),
        )
    for person in people:
        failed_job(person.pk, entity=Entity.CONTACT)

    assert status_queries(big) == status_queries(small)
    client = client_as(VIEW)
    # Two for the user's permissions, the customer, its sites, its contacts, the exported
    # entities, the latest jobs' ids, those jobs and the bindings.
    with django_assert_max_num_queries(9):
        assert client.get(status_url(big.pk)).status_code == 200


@pytest.mark.django_db
def test_the_bulk_sync_state_agrees_with_the_one_record_selector():
    histories = {
        1: [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.PENDING],
        2: [JobStatus.FAILED, JobStatus.ABORTED, JobStatus.SUCCEEDED],
        3: [JobStatus.IN_FLIGHT],
        4: [],
    }
    for object_id, statuses in histories.items():
        for status in statuses:
            make_job(object_id, entity=Entity.SITE, status=status)
    SyncJob.objects.filter(object_id=2, status=JobStatus.FAILED).update(resolved_at=timezone.now())
    Binding.objects.create(
        platform=PLATFORM, role="site", entity=Entity.SITE, object_id=1, external_id="77"
    )
    Binding.objects.create(
        platform=PLATFORM, role="billing_information", entity=Entity.SITE, object_id=1
    )

    bulk = records_sync_state(platform=PLATFORM, records={Entity.SITE: list(histories)})

    for object_id in (1, 2, 3):
        single = record_sync_state(PLATFORM, Entity.SITE, object_id)
        single["bindings"].sort(key=lambda b: b["role"])
        assert bulk[Entity.SITE, object_id] == single, object_id
    assert (Entity.SITE, 4) not in bulk


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("platform", "message"),
    [(None, "This field is required."), ("nosuch", 'Unknown platform "nosuch"')],
    ids=["missing", "unknown"],
)
def test_sync_status_needs_a_known_platform(staff, platform, message):
    customer = CustomerFactory()

    response = staff.get(status_url(customer.pk, platform))

    assert response.status_code == 400
    assert message in response.json()["platform"][0]


@pytest.mark.django_db
def test_sync_status_of_an_unknown_customer_is_a_404(staff):
    assert staff.get(status_url(999999)).status_code == 404


@pytest.mark.django_db
def test_sync_status_needs_the_view_job_permission(client_as):
    customer = CustomerFactory()

    response = client_as("customers.view_customer", ADD, ACT).get(status_url(customer.pk))

    assert response.status_code == 403


# --- preview -----------------------------------------------------------------------------------
def preview(client: APIClient, entity: str, object_id, platform: str = PLATFORM):
    return client.get(PREVIEW, {"platform": platform, "entity": entity, "id": object_id})


@pytest.mark.django_db
def test_the_preview_of_a_customer_never_sent_would_create_it_with_every_field(client_as):
    customer = CustomerFactory(name="Acme Ltd", email="accounts@acme.example.test")
    fake_integration()

    response = preview(client_as(VIEW), "customer", customer.pk)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["action"], body["record"], body["problems"], body["filtered_by"]) == (
        "create",
        "Acme Ltd",
        [],
        "",
    )
    (part,) = body["parts"]
    assert (part["role"], part["external_id"], part["action"]) == ("customer", "", "create")
    fields = {f["field"]: f for f in part["fields"]}
    assert fields["name"] == {
        "field": "name",
        "rule": "repeated",
        "sent": None,
        "now": "Acme Ltd",
        "changed": True,
        "will_send": True,
    }
    assert fields["reference"]["rule"] == "one_off"
    assert all(f["will_send"] for f in part["fields"])
    assert not SyncJob.objects.exists()


@pytest.mark.django_db
def test_the_preview_after_a_sync_sends_only_changed_repeated_fields(staff):
    customer = CustomerFactory(name="Acme Ltd")
    fake_integration()
    sent = {
        "reference": "C0",
        "name": "Old name",
        "status": customer.status,
        "email": customer.email,
    }
    Binding.objects.create(
        platform=PLATFORM,
        role="customer",
        entity=Entity.CUSTOMER,
        object_id=customer.pk,
        external_id="41",
        payload=sent,
        payload_hash=payload_hash(sent),
    )

    part = preview(staff, "customer", customer.pk).json()["parts"][0]

    assert part["action"] == "update"
    fields = {f["field"]: f for f in part["fields"]}
    assert (fields["name"]["sent"], fields["name"]["now"]) == ("Old name", "Acme Ltd")
    assert fields["name"]["will_send"] is True
    # One-off: it differs, but it is never resent after creation.
    assert (fields["reference"]["changed"], fields["reference"]["will_send"]) == (True, False)
    assert fields["email"]["changed"] is False


@pytest.mark.django_db
def test_the_preview_says_when_the_integration_is_off(staff):
    customer = CustomerFactory()
    fake_integration(enabled=False)

    body = preview(staff, "customer", customer.pk).json()

    assert body["action"] == "refused"
    assert "integration is off" in body["problems"][0]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"platform": "nosuch", "entity": "customer", "id": "1"}, "platform", "Known platforms"),
        ({"platform": PLATFORM, "entity": "asset", "id": "1"}, "entity", "does not take asset"),
        ({"platform": PLATFORM, "entity": "planet", "id": "1"}, "entity", "not a valid choice"),
        ({"platform": PLATFORM, "entity": "customer", "id": "x"}, "id", "valid integer"),
        ({"platform": PLATFORM, "entity": "customer"}, "id", "required"),
        ({"entity": "customer", "id": "1"}, "platform", "required"),
    ],
    ids=["unknown platform", "entity not taken", "unknown entity", "bad id", "no id", "none"],
)
def test_a_bad_preview_request_is_a_400_naming_the_field(staff, query, field, message):
    response = staff.get(PREVIEW, query)

    assert response.status_code == 400
    assert message in response.json()[field][0]


@pytest.mark.django_db
def test_the_preview_of_an_unknown_record_is_a_404(staff):
    fake_integration()

    response = preview(staff, "site", 999999)

    assert response.status_code == 404
    assert response.json() == {"detail": "There is no site #999999."}


@pytest.mark.django_db
def test_the_preview_of_an_entity_the_platform_does_not_take_names_those_it_takes(staff):
    asset = AssetFactory()

    response = preview(staff, "asset", asset.pk)

    assert response.status_code == 400
    assert "(it takes: customer, site, contact)" in response.json()["entity"][0]


@pytest.mark.django_db
def test_the_preview_needs_the_view_job_permission(client_as):
    customer = CustomerFactory()

    response = preview(client_as("customers.view_customer", ADD, ACT), "customer", customer.pk)

    assert response.status_code == 403


# --- end to end, over real HTTP ----------------------------------------------------------------
def test_a_manual_sync_reaches_the_platform_and_shows_in_status_and_preview(fake_platform):
    BillingPlatform.objects.filter(code=PLATFORM).update(integration_enabled=False)
    customer = CustomerFactory(name="Acme Ltd")
    BillingPlatform.objects.filter(code=PLATFORM).update(integration_enabled=True)
    client = APIClient()
    client.force_authenticate(user=user_with_perms(VIEW, ADD, ACT))

    response = client.post(sync_url(customer.pk), {"platform": PLATFORM})

    assert response.status_code == 202, response.json()
    job = SyncJob.objects.get(pk=response.json()["id"])
    assert (job.status, job.operation) == (JobStatus.SUCCEEDED, Operation.INSERTED)
    (account,) = fake_platform.state["accounts"].values()
    assert account["name"] == "Acme Ltd"
    state = client.get(status_url(customer.pk)).json()["customer"]
    assert state["external_ids"] == {"customer": str(account["id"])}
    assert state["last_job"]["id"] == job.pk
    detail = client.get(f"{JOBS}{job.pk}/").json()
    assert [(a["method"], a["status_code"]) for a in detail["attempt_log"]] == [
        ("GET", 200),
        ("POST", 201),
    ]
    assert preview(client, "customer", customer.pk).json()["action"] == "no change"


def test_a_manual_sync_with_an_external_id_updates_that_platform_record(fake_platform):
    BillingPlatform.objects.filter(code=PLATFORM).update(integration_enabled=False)
    customer = CustomerFactory(name="Acme Ltd")
    BillingPlatform.objects.filter(code=PLATFORM).update(integration_enabled=True)
    fake_platform.state["accounts"]["900"] = {"id": 900, "name": "ACME", "reference": "LEGACY"}
    client = APIClient()
    client.force_authenticate(user=user_with_perms(VIEW, ADD, ACT))

    response = client.post(sync_url(customer.pk), {"platform": PLATFORM, "external_id": "900"})

    assert response.status_code == 202, response.json()
    assert list(fake_platform.state["accounts"]) == ["900"]  # nothing created
    assert fake_platform.state["accounts"]["900"]["name"] == "Acme Ltd"
    assert fake_platform.state["accounts"]["900"]["reference"] == "LEGACY"  # one-off
    assert SyncJob.objects.get(pk=response.json()["id"]).status == JobStatus.SUCCEEDED


def test_retrying_a_failed_job_sends_the_record_again(fake_platform):
    customer = CustomerFactory(name="A" * 60)  # the platform refuses names over 50
    job = SyncJob.objects.get(entity=Entity.CUSTOMER, object_id=customer.pk)
    assert job.status == JobStatus.FAILED
    type(customer).objects.filter(pk=customer.pk).update(name="Acme Ltd")  # no new job
    client = APIClient()
    client.force_authenticate(user=user_with_perms(VIEW, ACT))

    response = client.post(f"{JOBS}{job.pk}/retry/")

    assert response.status_code == 202
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert [a["name"] for a in fake_platform.state["accounts"].values()] == ["Acme Ltd"]


@pytest.mark.django_db
def test_the_api_root_lists_the_sync_jobs_and_the_preview(client_as):
    response = client_as().get("/api/v1/")

    assert response.status_code == 200
    assert response.json()["sync-jobs"].endswith("/api/v1/sync-jobs/")
    assert response.json()["sync-preview"].endswith("/api/v1/sync-preview/")
    assert response.json()["customers"].endswith("/api/v1/customers/")
