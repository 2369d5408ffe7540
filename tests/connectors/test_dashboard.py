"""The sync dashboard (connectors.dashboard, connectors.admin.dashboard), a job's status as
JSON for the pages' progress indicator, Retry and Map to existing on a record's sync
panel, the asset page's tick, and the record of each reconciliation run."""

import html
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from connectors.base import Connector, ReconcileDifference, register, unregister
from connectors.choices import Entity, ErrorKind, JobStatus
from connectors.dashboard import dashboard_window, error_reasons, sync_dashboard
from connectors.http import PlatformClient
from connectors.models import Binding, ReconciliationRun, SyncJob
from connectors.reconciliation import reconciliation_report
from tests.admin_helpers import page_messages
from tests.connectors.fake import PLATFORM
from tests.factories import AssetFactory, ContactFactory, CustomerFactory

from .test_admin_panels import (  # noqa: F401  (assets_platform: a fixture)
    ADD,
    VIEW,
    assets_platform,
    change_url,
    fake_integration,
    make_job,
    staff_client,
)

RETRY = "connectors.retry_syncjob"
DASHBOARD = "/admin/connectors/syncjob/dashboard/"

pytestmark = pytest.mark.django_db


def finished_job(status: str, *, when=None, error: str = "", queued: bool = True, **fields):
    """A finished job of a new record (a record has one open job at most)."""
    when = when or timezone.now()
    job = make_job(
        Entity.CUSTOMER,
        SyncJob.objects.count() + 1000,
        status=status,
        finished_at=when,
        last_error=error,
        error_kind=ErrorKind.PERMANENT if error else ErrorKind.NONE,
        **fields,
    )
    if error and not queued:
        SyncJob.objects.filter(pk=job.pk).update(resolved_at=when)
    return job


def fake_board(board: dict):
    (entry,) = [p for p in board["platforms"] if p.platform == PLATFORM]
    return entry


def card_of(page: str, platform: str) -> str:
    """A platform's card on the dashboard page."""
    start = page.index(f'<div class="module" data-platform="{platform}"')
    return page[start : page.index('data-figure="reconciliation"', start) + 600]


# --- the selector -----------------------------------------------------------------------------


def test_the_dashboard_counts_the_queue_and_dates_its_oldest_pending_job():
    fake_integration()
    old = make_job(Entity.CUSTOMER, 1)
    SyncJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=3))
    make_job(Entity.CUSTOMER, 2)
    make_job(Entity.CUSTOMER, 3, status=JobStatus.IN_FLIGHT)

    entry = fake_board(sync_dashboard())

    assert (entry.pending, entry.in_flight, entry.integration_on) == (2, 1, True)
    assert timezone.now() - entry.oldest_pending_at >= timedelta(hours=3)


def test_the_error_queue_counts_only_unresolved_failures_and_ranks_their_reasons():
    for _ in range(3):
        finished_job(JobStatus.FAILED, error="Missing charge type for Broadband")
    finished_job(JobStatus.ABORTED, error="HTTP 503 from the platform")
    finished_job(JobStatus.FAILED, error="Resolved since", queued=False)
    finished_job(JobStatus.SUCCEEDED)

    entry = fake_board(sync_dashboard())

    assert entry.error_queue == 4
    assert [(r.text, r.count) for r in entry.reasons] == [
        ("Missing charge type for Broadband", 3),
        ("HTTP 503 from the platform", 1),
    ]


def test_reasons_group_by_their_first_80_characters_and_only_five_per_platform_show():
    prefix = "x" * 80
    finished_job(JobStatus.FAILED, error=prefix + " record 1")
    finished_job(JobStatus.FAILED, error=prefix + " record 2")
    for n in range(6):
        finished_job(JobStatus.FAILED, error=f"reason {n}")

    reasons = [r for r in error_reasons() if r["platform"] == PLATFORM]

    assert len(reasons) == 5
    assert reasons[0] == {
        "platform": PLATFORM,
        "error_kind": ErrorKind.PERMANENT,
        "text": prefix,
        "count": 2,
    }


def test_outcomes_are_counted_per_day_for_the_last_two_weeks_only():
    now = timezone.now()
    finished_job(JobStatus.SUCCEEDED, when=now)
    finished_job(JobStatus.NO_CHANGE, when=now)
    finished_job(JobStatus.FAILED, when=now - timedelta(days=1), error="refused")
    finished_job(JobStatus.SUCCEEDED, when=now - timedelta(days=20))
    finished_job(JobStatus.FILTERED, when=now)

    entry = fake_board(sync_dashboard(now=now))

    assert [day.day for day in entry.days] == dashboard_window(now=now)
    assert len(entry.days) == 14
    assert (entry.days[-1].succeeded, entry.days[-1].failed) == (2, 0)
    assert (entry.days[-2].succeeded, entry.days[-2].failed) == (0, 1)
    assert (entry.succeeded, entry.failed) == (2, 1)


# --- the page --------------------------------------------------------------------------------


def test_the_dashboard_page_shows_each_figure_with_a_link_to_the_history(superuser_client):
    fake_integration()
    make_job(Entity.CUSTOMER, 1)
    failed = finished_job(JobStatus.FAILED, error="Missing charge type for Broadband")
    finished_job(JobStatus.SUCCEEDED)

    response = superuser_client.get(reverse("admin:connectors_syncjob_dashboard"))

    assert response.status_code == 200
    page = response.content.decode()
    card = card_of(page, PLATFORM)
    assert "<strong>1</strong> pending" in card
    assert "oldest queued" in card
    assert "<strong>1</strong> in the error queue" in card
    assert "Missing charge type for Broadband" in card
    assert "in_error_queue=yes&amp;error_kind__exact=permanent&amp;q=Missing+charge" in card
    assert 'data-succeeded="1" data-failed="1"' in card
    assert "<svg" in card
    # The newest in the error queue, linking to the job and its record.
    assert reverse("admin:connectors_syncjob_change", args=[failed.pk]) in page
    assert 'id="sync-dashboard-link"' in page  # the header links to it


def test_the_dashboard_needs_the_permission_to_read_the_sync_history():
    assert staff_client().get(DASHBOARD).status_code == 403
    assert staff_client(VIEW).get(DASHBOARD).status_code == 200


def test_the_dashboards_queries_do_not_grow_with_the_number_of_jobs(superuser_client):
    def populate(count: int) -> None:
        base = SyncJob.objects.count()
        for n in range(count):
            make_job(Entity.CONTACT, base + n + 1)  # pending
            finished_job(JobStatus.SUCCEEDED)
            finished_job(JobStatus.FAILED, error=f"refused {n}")

    superuser_client.get(DASHBOARD)  # warm the content types and sessions
    populate(2)
    with CaptureQueriesContext(connection) as few:
        assert superuser_client.get(DASHBOARD).status_code == 200
    populate(30)
    with CaptureQueriesContext(connection) as many:
        assert superuser_client.get(DASHBOARD).status_code == 200

    assert len(many) == len(few)


def test_the_latest_reconciliation_of_a_platform_shows_on_the_dashboard(superuser_client):
    ReconciliationRun.objects.create(
        platform="affinity",
        started_at=timezone.now(),
        finished_at=timezone.now(),
        difference_count=1,
        counts={"old": 1},
    )
    ReconciliationRun.objects.create(
        platform="affinity",
        started_at=timezone.now(),
        finished_at=timezone.now(),
        difference_count=3,
        counts={"cli_differs": 2, "live_unknown_there": 1},
    )

    page = superuser_client.get(DASHBOARD).content.decode()

    card = card_of(page, "affinity")
    assert "3 differences" in card
    assert "cli_differs 2, live_unknown_there 1" in card
    assert reverse("admin:connectors_syncjob_reconciliation", args=["affinity"]) in card


# --- reconciliation runs are recorded ---------------------------------------------------------


@pytest.fixture
def reconciling_platform():
    class Reconciling(Connector):
        identifier = "reconciling"
        name = "Reconciling"
        entities = (Entity.ASSET,)

        def client(self, observer=None, session=None):
            return PlatformClient("http://127.0.0.1:9/", timeout=(1, 1))

        def reconcile(self, client):
            return [
                ReconcileDifference(
                    kind="cli_differs",
                    label="CLI differs",
                    entity=Entity.ASSET,
                    object_id=1,
                    external_id="A1",
                    record="asset 1",
                )
            ]

    register(Reconciling)
    yield Reconciling.identifier
    unregister(Reconciling.identifier)


def test_each_reconciliation_run_is_kept_with_its_counts(reconciling_platform):
    report = reconciliation_report(platform=reconciling_platform)

    run = ReconciliationRun.objects.get()
    assert (run.platform, run.ok, run.difference_count, run.counts) == (
        reconciling_platform,
        True,
        1,
        {"cli_differs": 1},
    )
    assert run.finished_at == report.generated_at


# --- a job's status for the progress indicator -------------------------------------------------


def test_a_jobs_status_json_says_whether_it_is_done_and_how_it_ended():
    job = make_job(Entity.CUSTOMER, 1)
    client = staff_client(VIEW)
    url = reverse("admin:connectors_syncjob_status", args=[job.pk])

    running = client.get(url).json()
    SyncJob.objects.filter(pk=job.pk).update(
        status=JobStatus.FAILED, last_error="Name too long", finished_at=timezone.now()
    )
    ended = client.get(url).json()

    assert (running["status"], running["done"]) == (JobStatus.PENDING, False)
    assert (ended["status"], ended["done"], ended["error"], ended["in_error_queue"]) == (
        JobStatus.FAILED,
        True,
        "Name too long",
        True,
    )
    assert ended["url"] == reverse("admin:connectors_syncjob_change", args=[job.pk])


def test_a_jobs_status_needs_the_permission_and_an_existing_job():
    job = make_job(Entity.CUSTOMER, 1)

    assert (
        staff_client().get(reverse("admin:connectors_syncjob_status", args=[job.pk])).status_code
        == 403
    )
    missing = reverse("admin:connectors_syncjob_status", args=[job.pk + 99])
    assert staff_client(VIEW).get(missing).status_code == 404


def test_an_open_job_on_the_record_panel_is_followed_by_the_progress_indicator(superuser_client):
    customer = CustomerFactory()
    fake_integration()
    job = make_job(Entity.CUSTOMER, customer.pk)

    page = superuser_client.get(change_url(customer)).content.decode()

    assert f'data-job-status-url="{reverse("admin:connectors_syncjob_status", args=[job.pk])}"' in (
        page
    )
    assert "window.layerSyncJobProgress" in page


# --- Retry and Map to existing on the record panel ----------------------------------------------


def test_a_failed_job_on_the_record_panel_has_retry_and_map_for_staff_who_may_act():
    contact = ContactFactory(email="")
    fake_integration()
    failed = make_job(
        Entity.CONTACT,
        contact.pk,
        status=JobStatus.FAILED,
        last_error="Contact has no email",
        finished_at=timezone.now(),
    )
    url = change_url(contact)

    acting = staff_client(VIEW, RETRY).get(url).content.decode()
    reading = staff_client(VIEW).get(url).content.decode()

    retry = reverse("admin:connectors_syncjob_retry", args=[failed.pk])
    mapping = reverse("admin:connectors_syncjob_map", args=[failed.pk])
    assert f'action="{retry}"' in acting
    assert f'href="{mapping}?next=' in acting
    assert f'action="{retry}"' not in reading
    assert mapping not in reading


def test_retry_from_the_record_panel_requeues_the_job_and_comes_back_to_the_record():
    contact = ContactFactory()
    fake_integration()
    failed = make_job(
        Entity.CONTACT, contact.pk, status=JobStatus.FAILED, last_error="Contact has no email"
    )
    back = change_url(contact)

    response = staff_client(VIEW, RETRY).post(
        reverse("admin:connectors_syncjob_retry", args=[failed.pk]), {"next": back}
    )

    assert response.status_code == 302
    assert response["Location"] == back
    failed.refresh_from_db()
    assert failed.status == JobStatus.PENDING
    (message,) = page_messages(response)
    assert "back in the queue" in message


def test_retry_never_goes_back_to_another_site():
    failed = make_job(Entity.CONTACT, 1, status=JobStatus.FAILED, last_error="refused")

    response = staff_client(VIEW, RETRY).post(
        reverse("admin:connectors_syncjob_retry", args=[failed.pk]),
        {"next": "https://evil.example/"},
    )

    assert response["Location"] == reverse("admin:connectors_syncjob_change", args=[failed.pk])


def test_map_to_existing_from_the_record_panel_binds_it_and_comes_back_to_the_record():
    customer = CustomerFactory()
    fake_integration()
    failed = make_job(
        Entity.CUSTOMER, customer.pk, status=JobStatus.FAILED, last_error="Name taken"
    )
    back = change_url(customer)
    url = reverse("admin:connectors_syncjob_map", args=[failed.pk]) + f"?next={back}"
    client = staff_client(VIEW, RETRY, ADD)

    form = client.get(url).content.decode()
    response = client.post(url, {"external_id": "ACC-77"})

    assert f'href="{back}" class="closelink"' in form
    assert response.status_code == 302
    assert response["Location"] == back
    failed.refresh_from_db()
    assert not failed.in_error_queue


# --- the asset page's tick ------------------------------------------------------------------


def test_the_asset_page_shows_the_tick_when_the_asset_is_on_the_platform(
    superuser_client,
    assets_platform,  # noqa: F811
):
    asset = AssetFactory()
    Binding.objects.create(
        platform=assets_platform,
        role="service",
        entity=Entity.ASSET,
        object_id=asset.pk,
        external_id="SVC-9",
        last_synced_at=timezone.now(),
    )

    page = superuser_client.get(change_url(asset)).content.decode()

    start = page.index('id="record-sync-badges"')
    badge = page[start : page.index('id="sync-state"', start)]
    assert 'aria-label="synced"' in badge
    assert "On Assets Platform (SVC-9)" in badge
    assert page.index('id="record-sync-badges"') < page.index('id="sync-state"')


def test_the_asset_page_says_what_failed_and_why(
    superuser_client,
    assets_platform,  # noqa: F811
):
    asset = AssetFactory()
    failed = SyncJob.objects.create(
        platform=assets_platform,
        entity=Entity.ASSET,
        object_id=asset.pk,
        status=JobStatus.FAILED,
        last_error="Missing charge type for Broadband",
        next_attempt_at=timezone.now(),
    )

    page = superuser_client.get(change_url(asset)).content.decode()

    start = page.index('id="record-sync-badges"')
    badge = page[start : page.index('id="sync-state"', start)]
    assert "Not on Assets Platform yet" in badge
    assert '<span class="sync-status sync-status-error">failed</span>' in badge
    assert f"Job #{failed.pk}</a>: Missing charge type for Broadband" in badge


def test_a_platform_that_cannot_be_reconciled_says_why(superuser_client):
    """A connector that reads nothing back says why, not a bare "cannot be reconciled".
    (Issue 21 item 6: Abillity and Connect are reconciled now; the test connector is not.)"""
    page = superuser_client.get(DASHBOARD).content.decode()

    card = html.unescape(card_of(page, "fake"))
    assert "Fake platform cannot be reconciled: its connector does not read" in card
    assert "cannot be reconciled.\n" not in card
    for platform in ("abillity", "affinity", "connect"):
        assert "cannot be reconciled" not in html.unescape(card_of(page, platform))


def test_refusing_to_reconcile_a_platform_gives_the_reason():
    from connectors.reconciliation import ReconcileUnsupported

    with pytest.raises(ReconcileUnsupported, match="Fake platform cannot be reconciled: its"):
        reconciliation_report(platform="fake")
