"""The sync engine's admin: the Sync History (counts, filters, the job page with its attempt
log), the error queue's actions (retry, skip, map), bindings and entity settings.

Most tests work in one transaction, where a queued job is never run (nothing commits);
the last one serves the fake platform over real HTTP, where a queued job runs eagerly on
commit.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import BillingPlatform
from connectors.admin import jobs_status_summary
from connectors.choices import Entity, ErrorKind, FilterCondition, JobStatus, Operation
from connectors.engine.entity_settings import entity_settings_ensure
from connectors.models import (
    Binding,
    EntitySetting,
    ExportFilter,
    SyncAttempt,
    SyncJob,
    ValueMapping,
)
from tests.admin_helpers import (
    add_inline_row,
    admin_form_data,
    changelist_query_counts,
    inline_formset,
    page_messages,
)
from tests.connectors.fake import PLATFORM
from tests.factories import CustomerFactory, UserFactory

CHANGELIST = reverse("admin:connectors_syncjob_changelist")
VIEW = "connectors.view_syncjob"
ACT = "connectors.retry_syncjob"


def job_url(job: SyncJob, view: str = "change") -> str:
    return reverse(f"admin:connectors_syncjob_{view}", args=[job.pk])


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


def fake_integration(*, enabled: bool = True) -> None:
    """The fake platform's integration on (or off), its entities exported."""
    BillingPlatform.objects.update_or_create(
        code=PLATFORM, defaults={"name": "Fake platform", "integration_enabled": enabled}
    )
    entity_settings_ensure()


def staff_client(*perms: str) -> Client:
    """A test client logged in as a staff user (not a superuser) holding exactly ``perms``."""
    user = UserFactory(is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    client = Client()
    client.force_login(user)
    return client


def shown_ids(response) -> list[int]:
    return [job.pk for job in response.context["cl"].result_list]


def summary_counts(response) -> dict[str, int]:
    return {group["key"]: group["count"] for group in response.context["status_summary"]}


# --- the Sync History ---------------------------------------------------------------------


def jobs_in_every_status() -> None:
    """Two succeeded, one no change, a pending and an in-flight job, two failed (one since
    resolved), an aborted, a filtered and a skipped one; all customers but one failed site."""
    for object_id, status in enumerate(
        [
            JobStatus.SUCCEEDED,
            JobStatus.SUCCEEDED,
            JobStatus.NO_CHANGE,
            JobStatus.PENDING,
            JobStatus.IN_FLIGHT,
            JobStatus.ABORTED,
            JobStatus.FILTERED,
            JobStatus.SKIPPED,
        ],
        start=1,
    ):
        make_job(object_id, status=status)
    failed_job(20)
    failed_job(21, entity=Entity.SITE, resolved_at=timezone.now())


@pytest.mark.django_db
def test_the_summary_strip_counts_each_status_group_of_the_current_filter(superuser_client):
    jobs_in_every_status()

    everything = superuser_client.get(CHANGELIST)
    customers = superuser_client.get(CHANGELIST, {"entity__exact": Entity.CUSTOMER})

    assert everything.status_code == 200
    assert summary_counts(everything) == {
        "processed": 3,
        "pending": 2,
        "failed": 2,
        "aborted": 1,
        "filtered": 1,
        "skipped": 1,
        "error_queue": 2,
    }
    assert summary_counts(customers) == {
        "processed": 3,
        "pending": 2,
        "failed": 1,
        "aborted": 1,
        "filtered": 1,
        "skipped": 1,
        "error_queue": 2,
    }
    assert 'data-status-group="processed"><strong>3</strong> Processed' in (
        everything.content.decode()
    )


@pytest.mark.django_db
def test_the_status_counts_are_one_aggregate_query(django_assert_num_queries):
    jobs_in_every_status()

    with django_assert_num_queries(1):
        counts = jobs_status_summary(SyncJob.objects.all())

    assert counts["processed"] == 3


@pytest.mark.django_db
def test_each_count_links_to_the_list_narrowed_to_its_statuses(superuser_client):
    jobs_in_every_status()
    failed_job(30, platform="other")
    page = superuser_client.get(
        CHANGELIST, {"entity__exact": Entity.CUSTOMER, "platform": PLATFORM}
    )
    links = {group["key"]: group["url"] for group in page.context["status_summary"]}

    processed = superuser_client.get(CHANGELIST + links["processed"])
    failed = superuser_client.get(CHANGELIST + links["failed"])
    queue = superuser_client.get(CHANGELIST + links["error_queue"])

    assert {job.status for job in processed.context["cl"].result_list} == {
        JobStatus.SUCCEEDED,
        JobStatus.NO_CHANGE,
    }
    assert len(shown_ids(processed)) == 3
    # The platform and entity filters are kept: the other platform's job and the failed
    # site job are not listed.
    assert [(job.status, job.object_id) for job in failed.context["cl"].result_list] == [
        (JobStatus.FAILED, 20)
    ]
    assert {(job.status, job.object_id) for job in queue.context["cl"].result_list} == {
        (JobStatus.FAILED, 20),
        (JobStatus.ABORTED, 6),
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"platform": PLATFORM}, {"fake-failed-customer", "fake-pending-site"}),
        ({"entity__exact": Entity.SITE}, {"fake-pending-site", "other-failed-site"}),
        ({"status__exact": JobStatus.FAILED}, {"fake-failed-customer", "other-failed-site"}),
        ({"error_kind__exact": ErrorKind.CONFIGURATION}, {"other-failed-site"}),
        ({"in_error_queue": "yes"}, {"fake-failed-customer"}),
        ({"in_error_queue": "no"}, {"fake-pending-site", "other-failed-site"}),
    ],
)
def test_the_history_filters_by_platform_entity_status_error_kind_and_error_queue(
    superuser_client, query, expected
):
    make_job(1, object_repr="fake-failed-customer", status=JobStatus.FAILED)
    make_job(2, object_repr="fake-pending-site", entity=Entity.SITE)
    make_job(
        3,
        platform="other",
        object_repr="other-failed-site",
        entity=Entity.SITE,
        status=JobStatus.FAILED,
        error_kind=ErrorKind.CONFIGURATION,
        resolved_at=timezone.now(),
    )

    response = superuser_client.get(CHANGELIST, query)

    assert response.status_code == 200
    assert {job.object_repr for job in response.context["cl"].result_list} == expected


@pytest.mark.django_db
def test_the_history_narrows_by_creation_date(superuser_client):
    recent = make_job(1)
    old = make_job(2)
    last_year = timezone.now() - timedelta(days=400)
    SyncJob.objects.filter(pk=old.pk).update(created_at=last_year)

    response = superuser_client.get(CHANGELIST, {"created_at__year": last_year.year})

    assert shown_ids(response) == [old.pk]
    assert recent.pk not in shown_ids(response)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("acme", "by-name"),
        ("EXT-77", "by-external-id"),
        ("timed out", "by-error"),
        ("4242", "4242"),
    ],
)
def test_the_history_searches_record_external_id_error_and_record_id(
    superuser_client, term, expected
):
    make_job(1, object_repr="Acme Ltd", reason="by-name")
    make_job(2, external_id="EXT-77", reason="by-external-id")
    failed_job(3, last_error="The platform timed out", reason="by-error")
    make_job(4242, reason="4242")

    response = superuser_client.get(CHANGELIST, {"q": term})

    assert [job.reason for job in response.context["cl"].result_list] == [expected]


@pytest.mark.django_db
def test_a_search_for_text_where_a_record_id_is_searched_too_is_no_error(superuser_client):
    make_job(1, object_repr="Acme Ltd")

    response = superuser_client.get(CHANGELIST, {"q": "Acme Ltd"})

    assert response.status_code == 200
    assert len(shown_ids(response)) == 1


@pytest.mark.django_db
def test_the_record_column_links_to_the_records_page_while_the_record_exists(superuser_client):
    customer = CustomerFactory(name="Acme Ltd")
    make_job(customer.pk, object_repr="Acme Ltd")
    make_job(customer.pk + 1000, object_repr="Gone Ltd", status=JobStatus.SKIPPED)

    page = superuser_client.get(CHANGELIST).content.decode()

    customer_url = reverse("admin:customers_customer_change", args=[customer.pk])
    assert f'<a href="{customer_url}">Acme Ltd</a>' in page
    assert "Gone Ltd" in page
    assert reverse("admin:customers_customer_change", args=[customer.pk + 1000]) not in page


@pytest.mark.django_db
def test_the_status_shows_as_a_badge_and_the_error_shortened(superuser_client):
    failed_job(1, last_error="E" * 300)

    page = superuser_client.get(CHANGELIST).content.decode()

    assert '<span class="sync-status sync-status-error">Failed</span>' in page
    assert "E" * 79 + "…" in page
    assert "E" * 81 not in page.replace(f'title="{"E" * 300}"', "")


@pytest.mark.django_db
def test_the_history_costs_the_same_queries_for_five_jobs_or_twenty(superuser_client):
    customers = [CustomerFactory() for _ in range(3)]

    def populate(count: int) -> None:
        for index in range(count):
            make_job(
                customers[index % 3].pk,
                status=JobStatus.SUCCEEDED,
                object_repr=f"job {index}",
            )

    small, large, rows = changelist_query_counts(superuser_client, CHANGELIST, populate)

    assert rows == (5, 20)
    assert small == large


@pytest.mark.django_db
def test_jobs_cannot_be_added_changed_or_deleted_in_the_admin(superuser_client):
    job = failed_job()

    add = superuser_client.get(reverse("admin:connectors_syncjob_add"))
    change = superuser_client.post(job_url(job), {"status": JobStatus.SUCCEEDED})
    delete = superuser_client.post(job_url(job, "delete"), {"post": "yes"})

    assert (add.status_code, change.status_code, delete.status_code) == (403, 403, 403)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


# --- the job page ------------------------------------------------------------------------------


def job_with_attempts() -> SyncJob:
    job = failed_job(object_repr="Acme Ltd", external_id="", reason="customer saved")
    SyncAttempt.objects.create(
        job=job,
        started_at=timezone.now(),
        method="GET",
        path="accounts?reference=C1",
        status_code=200,
        duration_ms=12,
        request_excerpt="",
        response_excerpt="[]",
    )
    SyncAttempt.objects.create(
        job=job,
        started_at=timezone.now(),
        method="POST",
        path="accounts",
        status_code=400,
        duration_ms=34,
        request_excerpt='{"name": "AAAA"}',
        response_excerpt='{"message": "name may be at most 50 characters"}',
        error="name may be at most 50 characters",
    )
    return job


@pytest.mark.django_db
def test_the_job_page_shows_every_field_read_only_with_the_attempt_log(superuser_client):
    job = job_with_attempts()

    response = superuser_client.get(job_url(job))

    assert response.status_code == 200
    page = response.content.decode()
    assert not response.context["adminform"].form.fields  # nothing editable
    assert 'name="_save"' not in page
    attempts = inline_formset(response, "attempt_log")
    assert [form.instance.method for form in attempts.forms] == ["GET", "POST"]
    assert not attempts.forms[0].fields.get("method")  # read-only rows
    assert "accounts?reference=C1" in page
    assert "12 ms" in page and "34 ms" in page
    assert "{&quot;message&quot;: &quot;name may be at most 50 characters&quot;}" in page
    assert "Fake platform (fake)" in page


@pytest.mark.django_db
def test_staff_who_may_read_the_history_see_the_attempts_but_no_action_buttons():
    job = job_with_attempts()
    reader = staff_client(VIEW)

    response = reader.get(job_url(job))

    assert response.status_code == 200
    assert len(inline_formset(response, "attempt_log").forms) == 2
    page = response.content.decode()
    assert job_url(job, "retry") not in page
    assert job_url(job, "skip") not in page
    assert job_url(job, "map") not in page


@pytest.mark.django_db
def test_the_job_page_offers_retry_skip_and_map_for_a_job_in_the_error_queue(superuser_client):
    job = failed_job()

    page = superuser_client.get(job_url(job)).content.decode()

    assert f'action="{job_url(job, "retry")}"' in page
    assert f'action="{job_url(job, "skip")}"' in page
    assert f'href="{job_url(job, "map")}"' in page


@pytest.mark.django_db
def test_a_succeeded_job_offers_no_error_queue_action(superuser_client):
    job = make_job(status=JobStatus.SUCCEEDED)

    page = superuser_client.get(job_url(job)).content.decode()

    assert job_url(job, "retry") not in page
    assert job_url(job, "skip") not in page
    assert job_url(job, "map") not in page


# --- retry ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_retry_puts_a_failed_job_back_in_the_queue_and_says_so(superuser_client):
    job = failed_job(attempts=3)

    response = superuser_client.post(job_url(job, "retry"))

    assert response.status_code == 302
    assert response["Location"] == job_url(job)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.resolved_at) == (JobStatus.PENDING, 0, None)
    assert job.reason.startswith("retried by ")
    (message,) = page_messages(response)
    assert f"Job #{job.pk} is back in the queue" in message
    assert "runs in the background" in message


@pytest.mark.django_db
def test_retry_merges_into_the_records_pending_job_and_leads_to_it(superuser_client):
    job = failed_job(5)
    pending = make_job(5)

    response = superuser_client.post(job_url(job, "retry"))

    assert response["Location"] == job_url(pending)
    job.refresh_from_db()
    assert job.status == JobStatus.SKIPPED
    assert job.resolved_at is not None
    assert "merged into it" in page_messages(response)[0]


@pytest.mark.django_db
def test_retrying_a_succeeded_job_is_refused_with_the_reason_and_changes_nothing(
    superuser_client,
):
    job = make_job(status=JobStatus.SUCCEEDED, attempts=1)

    response = superuser_client.post(job_url(job, "retry"))

    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1)
    assert page_messages(response) == [
        f"Job #{job.pk} is succeeded; only failed, aborted or skipped jobs can be retried."
    ]


@pytest.mark.django_db
def test_retry_answers_post_only(superuser_client):
    job = failed_job()

    response = superuser_client.get(job_url(job, "retry"))

    assert response.status_code == 405
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


@pytest.mark.django_db
def test_retry_is_csrf_protected(superuser):
    job = failed_job()
    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser)

    response = client.post(job_url(job, "retry"))

    assert response.status_code == 403
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


@pytest.mark.django_db
@pytest.mark.parametrize("view", ["retry", "skip", "map"])
def test_the_error_queue_actions_need_the_retry_permission(view):
    job = failed_job()
    reader = staff_client(VIEW)

    response = reader.post(job_url(job, view), {"reason": "x", "external_id": "900"})

    assert response.status_code == 403
    job.refresh_from_db()
    assert (job.status, job.resolved_at) == (JobStatus.FAILED, None)
    assert not Binding.objects.exists()


@pytest.mark.django_db
def test_staff_with_the_retry_permission_may_retry():
    job = failed_job()
    actor = staff_client(VIEW, ACT)

    response = actor.post(job_url(job, "retry"))

    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING


@pytest.mark.django_db
def test_the_retry_action_requeues_the_selected_jobs_and_reports_refusals(superuser_client):
    first, second = failed_job(1), failed_job(2, status=JobStatus.ABORTED)
    done = make_job(3, status=JobStatus.SUCCEEDED)

    response = superuser_client.post(
        CHANGELIST,
        {"action": "retry_jobs", "_selected_action": [first.pk, second.pk, done.pk]},
        follow=True,
    )

    statuses = dict(SyncJob.objects.values_list("pk", "status"))
    assert statuses == {
        first.pk: JobStatus.PENDING,
        second.pk: JobStatus.PENDING,
        done.pk: JobStatus.SUCCEEDED,
    }
    done_message, refused_message = page_messages(response)
    assert done_message.startswith("Queued again: 2. They run in the background")
    assert refused_message.startswith("Refused 1: ")
    assert "only failed, aborted or skipped jobs can be retried" in refused_message


@pytest.mark.django_db
def test_the_retry_action_is_refused_to_staff_without_the_permission():
    job = failed_job()
    reader = staff_client(VIEW)

    response = reader.post(
        CHANGELIST, {"action": "retry_jobs", "_selected_action": [job.pk]}, follow=True
    )

    assert response.status_code == 200
    assert response.context["action_form"] is None  # no action is offered to this user
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


# --- skip ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_skip_from_the_job_page_keeps_the_reason_and_leaves_the_error_queue(superuser_client):
    job = failed_job()

    response = superuser_client.post(job_url(job, "skip"), {"reason": "duplicate of 12"})

    assert response["Location"] == job_url(job)
    job.refresh_from_db()
    assert job.status == JobStatus.SKIPPED
    assert job.resolved_at is not None
    assert ": duplicate of 12. Was: name may be at most 50 characters" in job.last_error
    (message,) = page_messages(response)
    assert "was skipped" in message and "Retry" in message


@pytest.mark.django_db
def test_skip_takes_no_reason_as_well(superuser_client):
    job = failed_job()

    superuser_client.post(job_url(job, "skip"), {"reason": ""})

    job.refresh_from_db()
    assert job.status == JobStatus.SKIPPED


@pytest.mark.django_db
def test_a_skip_reason_over_200_characters_is_a_form_error_and_changes_nothing(superuser_client):
    job = failed_job()

    response = superuser_client.post(job_url(job, "skip"), {"reason": "x" * 201})

    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


@pytest.mark.django_db
def test_skipping_a_job_not_in_the_error_queue_is_refused(superuser_client):
    job = failed_job(resolved_at=timezone.now())

    response = superuser_client.post(job_url(job, "skip"), {"reason": ""})

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert page_messages(response) == [f"Job #{job.pk} is not in the error queue."]


@pytest.mark.django_db
def test_the_skip_action_asks_for_a_reason_then_skips_the_selected_jobs(superuser_client):
    first, second = failed_job(1), failed_job(2)
    selected = {"action": "skip_jobs", "_selected_action": [first.pk, second.pk]}

    asked = superuser_client.post(CHANGELIST, selected)
    untouched = set(SyncJob.objects.values_list("status", flat=True))
    applied = superuser_client.post(
        CHANGELIST, {**selected, "apply": "yes", "reason": "closed accounts"}, follow=True
    )

    assert asked.status_code == 200
    assert "admin/connectors/syncjob/skip.html" in [t.name for t in asked.templates]
    assert 'name="reason"' in asked.content.decode()
    assert untouched == {JobStatus.FAILED}
    assert set(SyncJob.objects.values_list("status", flat=True)) == {JobStatus.SKIPPED}
    assert all(
        "closed accounts" in error for error in SyncJob.objects.values_list("last_error", flat=True)
    )
    assert page_messages(applied)[0].startswith(
        "Skipped (out of the error queue, nothing sent): 2."
    )


# --- map to an existing external id ----------------------------------------------------------


@pytest.mark.django_db
def test_the_map_page_asks_for_the_external_id(superuser_client):
    job = failed_job(object_repr="Acme Ltd")

    response = superuser_client.get(job_url(job, "map"))

    assert response.status_code == 200
    assert 'name="external_id"' in response.content.decode()
    assert "Acme Ltd" in response.content.decode()
    assert not Binding.objects.exists()


@pytest.mark.django_db
def test_mapping_binds_the_record_resolves_its_failures_and_queues_an_update(superuser_client):
    customer = CustomerFactory(name="Acme Ltd")
    fake_integration()
    job = failed_job(customer.pk, object_repr="Acme Ltd")

    response = superuser_client.post(job_url(job, "map"), {"external_id": " 900 "})

    assert response.status_code == 302
    assert response["Location"] == job_url(job)
    binding = Binding.objects.get()
    assert (binding.platform, binding.role, binding.object_id, binding.external_id) == (
        PLATFORM,
        "customer",
        customer.pk,
        "900",
    )
    job.refresh_from_db()
    assert job.resolved_at is not None
    assert job.operation == Operation.MAPPED
    pending = SyncJob.objects.get(status=JobStatus.PENDING, object_id=customer.pk)
    (message,) = page_messages(response)
    assert "is now mapped to Fake platform (fake) customer 900" in message
    assert f"Job #{pending.pk} is queued to update that platform record" in message


@pytest.mark.django_db
def test_an_external_id_mapped_to_another_record_is_a_form_error_and_changes_nothing(
    superuser_client,
):
    customer, other = CustomerFactory(), CustomerFactory()
    Binding.objects.create(
        platform=PLATFORM,
        role="customer",
        entity=Entity.CUSTOMER,
        object_id=other.pk,
        external_id="900",
    )
    job = failed_job(customer.pk)

    response = superuser_client.post(job_url(job, "map"), {"external_id": "900"})

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "external_id": [f"Fake platform customer 900 is already mapped to customer #{other.pk}."]
    }
    assert Binding.objects.count() == 1
    job.refresh_from_db()
    assert (job.resolved_at, job.operation) == (None, Operation.NONE)


@pytest.mark.django_db
def test_mapping_a_record_already_mapped_elsewhere_is_a_form_error(superuser_client):
    customer = CustomerFactory()
    Binding.objects.create(
        platform=PLATFORM,
        role="customer",
        entity=Entity.CUSTOMER,
        object_id=customer.pk,
        external_id="900",
    )
    job = failed_job(customer.pk)

    response = superuser_client.post(job_url(job, "map"), {"external_id": "901"})

    assert "cannot be remapped to 901" in response.context["form"].errors["external_id"][0]
    assert Binding.objects.get().external_id == "900"


@pytest.mark.django_db
def test_mapping_needs_an_external_id(superuser_client):
    job = failed_job(CustomerFactory().pk)

    response = superuser_client.post(job_url(job, "map"), {"external_id": ""})

    assert response.context["form"].errors == {"external_id": ["This field is required."]}
    assert not Binding.objects.exists()


@pytest.mark.django_db
def test_mapping_a_job_not_in_the_error_queue_is_refused(superuser_client):
    job = make_job(CustomerFactory().pk, status=JobStatus.SUCCEEDED)

    response = superuser_client.post(job_url(job, "map"), {"external_id": "900"})

    assert response["Location"] == job_url(job)
    assert not Binding.objects.exists()
    assert "is not in the error queue" in page_messages(response)[0]


@pytest.mark.django_db
def test_the_map_action_leads_to_the_map_page_of_the_one_job_selected(superuser_client):
    job = failed_job()

    response = superuser_client.post(
        CHANGELIST, {"action": "map_job", "_selected_action": [job.pk]}
    )

    assert response.status_code == 302
    assert response["Location"] == job_url(job, "map")


@pytest.mark.django_db
def test_the_map_action_with_several_jobs_asks_for_one(superuser_client):
    first, second = failed_job(1), failed_job(2)

    response = superuser_client.post(
        CHANGELIST, {"action": "map_job", "_selected_action": [first.pk, second.pk]}, follow=True
    )

    assert page_messages(response) == [
        "Select exactly one job to map: a mapping binds one record to one platform record."
    ]
    assert not Binding.objects.exists()


# --- bindings ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_binding_list_shows_each_binding_and_finds_one_by_external_id(superuser_client):
    customer = CustomerFactory()
    now = timezone.now()
    Binding.objects.create(
        platform=PLATFORM,
        role="customer",
        entity=Entity.CUSTOMER,
        object_id=customer.pk,
        external_id="900",
        first_synced_at=now,
        last_synced_at=now,
    )
    Binding.objects.create(
        platform=PLATFORM, role="site", entity=Entity.SITE, object_id=5, external_id="77"
    )
    url = reverse("admin:connectors_binding_changelist")

    everything = superuser_client.get(url)
    found = superuser_client.get(url, {"q": "900"})

    assert everything.status_code == 200
    assert len(everything.context["cl"].result_list) == 2
    assert [b.external_id for b in found.context["cl"].result_list] == ["900"]
    customer_url = reverse("admin:customers_customer_change", args=[customer.pk])
    assert f'<a href="{customer_url}">#{customer.pk}</a>' in found.content.decode()


@pytest.mark.django_db
def test_bindings_are_read_only_in_the_admin(superuser_client):
    binding = Binding.objects.create(
        platform=PLATFORM, role="customer", entity=Entity.CUSTOMER, object_id=1, external_id="9"
    )
    change_url = reverse("admin:connectors_binding_change", args=[binding.pk])

    add = superuser_client.get(reverse("admin:connectors_binding_add"))
    view = superuser_client.get(change_url)
    change = superuser_client.post(change_url, {"external_id": "10"})

    assert (add.status_code, view.status_code, change.status_code) == (403, 200, 403)
    binding.refresh_from_db()
    assert binding.external_id == "9"


# --- value mappings ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_value_mapping_is_added_for_a_registered_platform_only(superuser_client):
    url = reverse("admin:connectors_valuemapping_add")
    mapping = {"kind": "bill_run", "layer_value": "Monthly", "external_value": "3"}

    unknown = superuser_client.post(url, {**mapping, "platform": "nowhere"})
    known = superuser_client.post(url, {**mapping, "platform": PLATFORM})

    assert "platform" in unknown.context["adminform"].form.errors
    assert known.status_code == 302
    saved = ValueMapping.objects.get()
    assert (saved.platform, saved.layer_value, saved.external_value) == (PLATFORM, "Monthly", "3")


# --- entity settings -----------------------------------------------------------------------------


def setting_page(client, entity: str = Entity.CUSTOMER):
    fake_integration()
    setting = EntitySetting.objects.get(platform=PLATFORM, entity=entity)
    url = reverse("admin:connectors_entitysetting_change", args=[setting.pk])
    return setting, url, client.get(url)


def post_filter(client, *, field: str, condition: str, value: str = ""):
    setting, url, page = setting_page(client)
    data = admin_form_data(page)
    add_inline_row(data, "filters", active="on", field=field, condition=condition, value=value)
    return setting, client.post(url, data)


@pytest.mark.django_db
def test_the_entity_settings_list_names_each_platforms_connector(superuser_client):
    fake_integration()

    response = superuser_client.get(reverse("admin:connectors_entitysetting_changelist"))

    assert response.status_code == 200
    assert "Fake platform (fake)" in response.content.decode()


@pytest.mark.django_db
def test_a_valid_export_filter_is_saved(superuser_client):
    setting, response = post_filter(
        superuser_client, field="customer_class__code", condition=FilterCondition.EQUALS, value="X"
    )

    assert response.status_code == 302
    (condition,) = ExportFilter.objects.filter(setting=setting)
    assert (condition.field, condition.condition, condition.value) == (
        "customer_class__code",
        FilterCondition.EQUALS,
        "X",
    )


@pytest.mark.django_db
def test_a_filter_on_a_field_the_record_lacks_is_an_error_on_the_field(superuser_client):
    _, response = post_filter(
        superuser_client, field="colour", condition=FilterCondition.EQUALS, value="red"
    )

    assert response.status_code == 200
    errors = inline_formset(response, "filters").forms[-1].errors
    assert list(errors) == ["field"]
    assert errors["field"][0].startswith('Customer has no field "colour". Fields: ')
    assert not ExportFilter.objects.exists()


@pytest.mark.django_db
def test_a_filter_through_a_list_of_records_is_an_error_on_the_field(superuser_client):
    _, response = post_filter(superuser_client, field="sites", condition=FilterCondition.NOT_EMPTY)

    errors = inline_formset(response, "filters").forms[-1].errors
    assert errors == {"field": ['"sites" is a list of records; a filter needs a single value.']}
    assert not ExportFilter.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("condition", "value", "message"),
    [
        (FilterCondition.EQUALS, "", "This condition needs a value."),
        (FilterCondition.EMPTY, "x", "This condition takes no value."),
    ],
)
def test_a_filter_value_missing_or_not_taken_is_an_error_on_the_value(
    superuser_client, condition, value, message
):
    _, response = post_filter(superuser_client, field="name", condition=condition, value=value)

    assert inline_formset(response, "filters").forms[-1].errors == {"value": [message]}
    assert not ExportFilter.objects.exists()


@pytest.mark.django_db
def test_entity_settings_are_neither_added_nor_deleted_in_the_admin(superuser_client):
    setting, _, _ = setting_page(superuser_client)

    add = superuser_client.get(reverse("admin:connectors_entitysetting_add"))
    delete = superuser_client.post(
        reverse("admin:connectors_entitysetting_delete", args=[setting.pk]), {"post": "yes"}
    )

    assert (add.status_code, delete.status_code) == (403, 403)
    assert EntitySetting.objects.filter(pk=setting.pk).exists()


@pytest.mark.django_db
def test_an_entity_setting_can_be_turned_off(superuser_client):
    setting, url, page = setting_page(superuser_client)
    data = admin_form_data(page)
    data.pop("active")

    response = superuser_client.post(url, data)

    assert response.status_code == 302
    setting.refresh_from_db()
    assert setting.active is False


# --- end to end, over real HTTP -------------------------------------------------------------


def test_a_retry_from_the_job_page_sends_the_record_again(fake_platform, client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    customer = CustomerFactory(name="A" * 60)  # the platform refuses names over 50
    job = SyncJob.objects.get(entity=Entity.CUSTOMER, object_id=customer.pk)
    assert job.status == JobStatus.FAILED
    type(customer).objects.filter(pk=customer.pk).update(name="Acme Ltd")  # no new job

    response = client.post(job_url(job, "retry"))

    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert [a["name"] for a in fake_platform.state["accounts"].values()] == ["Acme Ltd"]
    page = client.get(job_url(job)).content.decode()
    assert "sync-status-done" in page
    assert page.count('class="sync-excerpt"') >= 2  # the new attempts are on the page


def test_the_history_names_platforms_and_says_attempts_with_their_local_times(superuser_client):
    """Issue 22: names staff understand, one local time format, a list that fits."""
    last = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    make_job(
        status=JobStatus.PENDING,
        attempts=2,
        last_attempt_at=last,
        next_attempt_at=last + timedelta(minutes=5),
    )

    html = superuser_client.get(reverse("admin:connectors_syncjob_changelist")).content.decode()

    row = html[html.index("<tbody>") : html.index("</tbody>")]
    assert '<td class="field-platform_short">Fake platform</td>' in row
    # 09:30 UTC in January is 09:30 in London, said as the admin says times.
    assert "2<br>last 5 Jan 2026, 9:30 a.m.<br>next 5 Jan 2026, 9:35 a.m." in row
    assert "2026-01-05" not in row
