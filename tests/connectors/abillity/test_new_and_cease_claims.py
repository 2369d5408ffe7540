"""New & Cease: the new asset's job pushes its target (the old asset) first, through the
target's own job, claimed with the engine's claim code. The engine promises one record in
flight at a time; it holds for a target pushed inline as a dependency, so two workers
sending both lines never create the old billing ID twice."""

from datetime import date

import pytest
from django.utils import timezone

from billing import export, services
from billing.choices import LineAction, PlatformCode
from connectors.choices import ERROR_STATUSES, JobStatus
from connectors.engine.claim import job_claim
from connectors.engine.run import job_run
from connectors.engine.sweep import jobs_process_due
from connectors.models import SyncJob
from tests.connectors.worker_helpers import capture_publishes
from tests.factories import SalesOrderFactory, platform
from tests.helpers import on_postgresql, set_company

from .helpers import drain, external_id, synced_customer
from .test_charges import asset_of, item

NUMBER = "07700900001"


@pytest.fixture
def both_lines(abillity, settings, monkeypatch):
    """An old asset and its New & Cease replacement, neither sent yet; both lines sent by
    one Billing Export transfer, their jobs queued and not run (no worker yet)."""
    customer = synced_customer("Acme Telecoms")
    set_company(new_and_cease_enabled=True)
    old = asset_of(customer, identifier=NUMBER, sent=False)
    order = SalesOrderFactory(
        customer=customer,
        lines=[
            services.LineSpec(
                inventory_item=item(name="Business Mobile 30GB", pricing_tier="2030"),
                site=customer.sites.get(is_default=True),
                action=LineAction.NEW_AND_CEASE,
                target_asset=old,
                cli=NUMBER,
            )
        ],
    )
    new = services.sales_order_line_convert_to_asset(
        line=order.lines.get(), connection_date=date(2026, 6, 1)
    )
    settings.CELERY_TASK_ALWAYS_EAGER = False
    capture_publishes(monkeypatch)
    export.billing_transfer(
        route=platform(PlatformCode.ABILLITY),
        line_ids=[old.sales_order_line_id, new.sales_order_line_id],
    )
    return old, new


def numbers_made(emulator) -> list[str]:
    return [cli["CLI"] for cli in emulator.state["clis"].values()]


def test_the_new_assets_job_waits_while_another_worker_has_the_targets_job(abillity, both_lines):
    old, new = both_lines
    # Another worker holds the old asset's job (the engine's own claim).
    targets_job = job_claim(platform="abillity", entity="asset", object_id=old.pk)
    assert targets_job is not None

    new_job = job_claim(platform="abillity", entity="asset", object_id=new.pk)
    finished = job_run(new_job)

    # Deferred, not pushed inline behind the other worker's back.
    assert finished.status == JobStatus.PENDING
    assert "Waiting for asset" in finished.last_error
    assert numbers_made(abillity) == []

    job_run(targets_job)  # the other worker finishes: the old billing ID, ended
    assert numbers_made(abillity) == [NUMBER]
    drain()

    assert numbers_made(abillity) == [NUMBER, NUMBER]  # the old one (ended), the new one
    assert external_id("billing_id", "asset", old) != external_id("billing_id", "asset", new)
    assert not SyncJob.objects.filter(status__in=ERROR_STATUSES).exists()


def test_the_new_assets_job_runs_the_targets_own_job_when_it_is_free(abillity, both_lines):
    old, new = both_lines
    new_job = job_claim(platform="abillity", entity="asset", object_id=new.pk)
    assert job_run(new_job).status == JobStatus.SUCCEEDED

    targets_jobs = SyncJob.objects.filter(platform="abillity", entity="asset", object_id=old.pk)
    # Its queued job was claimed and run (earlier ones were skipped before the transfer).
    assert targets_jobs.order_by("-pk").first().status == JobStatus.SUCCEEDED
    assert not targets_jobs.filter(status__in=(JobStatus.PENDING, *ERROR_STATUSES)).exists()
    ended = abillity.state["clis"][external_id("billing_id", "asset", old)]
    assert ended["EndDate"].startswith("2026-05-31")
    assert numbers_made(abillity) == [NUMBER, NUMBER]


@on_postgresql
def test_two_workers_sending_both_lines_make_the_old_billing_id_once(abillity, both_lines):
    old, new = both_lines
    abillity.faults_set(latency_ms=40)  # calls of the two threads overlap
    for _ in range(10):
        pending = SyncJob.objects.filter(status=JobStatus.PENDING)
        if not pending.exists():
            break
        pending.update(next_attempt_at=timezone.now())
        jobs_process_due(platform="abillity", threads=2)

    assert numbers_made(abillity) == [NUMBER, NUMBER]  # never the old one twice
    assert not SyncJob.objects.filter(status__in=ERROR_STATUSES).exists()
    ended = abillity.state["clis"][external_id("billing_id", "asset", old)]
    assert ended["EndDate"].startswith("2026-05-31")
    assert abillity.state["clis"][external_id("billing_id", "asset", new)]["EndDate"] is None
