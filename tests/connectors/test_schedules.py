"""Sync schedules (issue 21, item 5): "per platform and entity, prepare and process on a
schedule staff set in the admin (django-celery-beat, the ecosystem's standard), run by the
one beat"."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from connectors.choices import Entity, JobStatus, PrepareMode, ScheduleKind
from connectors.models import SyncJob, SyncSchedule
from connectors.schedules import (
    RUN_TASK,
    sync_schedule_delete,
    sync_schedule_run,
    sync_schedule_save,
    sync_schedules_run_due,
)
from layer_sync.celery import app
from tests.connectors.fake import PLATFORM
from tests.connectors.worker_helpers import capture_publishes, fake_integration_set
from tests.factories import CustomerFactory, SiteFactory

ADD = reverse("admin:connectors_syncschedule_add")


def form(**values) -> dict[str, str]:
    data = {
        "platform": PLATFORM,
        "entity": "",
        "mode": PrepareMode.INCREMENTAL,
        "prepare": "on",
        "process": "on",
        "kind": ScheduleKind.CRONTAB,
        "every_minutes": "",
        "minute": "30",
        "hour": "2",
        "day_of_month": "*",
        "month_of_year": "*",
        "day_of_week": "mon-fri",
        "enabled": "on",
    }
    data.update(values)
    return {key: value for key, value in data.items() if value is not None}


@pytest.mark.django_db
def test_a_schedule_added_in_the_admin_is_a_periodic_task_beat_runs(superuser_client):
    response = superuser_client.post(ADD, form(entity=Entity.CUSTOMER))

    assert response.status_code == 302, response.content.decode()[:2000]
    schedule = SyncSchedule.objects.get()
    task = schedule.periodic_task
    assert task.task == RUN_TASK == "connectors.sync_schedule_run"
    assert task.kwargs == f'{{"schedule_id": {schedule.pk}}}'
    assert task.enabled
    crontab = task.crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_week) == ("30", "2", "mon-fri")
    assert str(crontab.timezone) == "Europe/London"
    assert task.interval is None


@pytest.mark.django_db
def test_editing_a_schedule_changes_its_periodic_task_and_disabling_stops_it(superuser_client):
    superuser_client.post(ADD, form())
    schedule = SyncSchedule.objects.get()
    change = reverse("admin:connectors_syncschedule_change", args=[schedule.pk])

    superuser_client.post(
        change, form(kind=ScheduleKind.INTERVAL, every_minutes="15", enabled=None)
    )

    task = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    assert (task.interval.every, task.interval.period) == (15, "minutes")
    assert task.crontab is None
    assert task.enabled is False
    assert PeriodicTask.objects.filter(task=RUN_TASK).count() == 1


@pytest.mark.django_db
def test_deleting_a_schedule_deletes_its_periodic_task(superuser_client):
    superuser_client.post(ADD, form())
    schedule = SyncSchedule.objects.get()
    delete = reverse("admin:connectors_syncschedule_delete", args=[schedule.pk])

    superuser_client.post(delete, {"post": "yes"})

    assert not SyncSchedule.objects.exists()
    assert not PeriodicTask.objects.filter(task=RUN_TASK).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"minute": "61"}, "minute", "61"),
        ({"day_of_week": "someday"}, "day_of_week", "someday"),
        ({"kind": ScheduleKind.INTERVAL, "every_minutes": ""}, "every_minutes", "every how many"),
        ({"prepare": None, "process": None}, "process", "must do something"),
        ({"entity": Entity.CHARGE}, "entity", "does not take charge records"),
        ({"platform": "nowhere"}, "platform", "nowhere"),
    ],
)
def test_a_schedule_that_cannot_run_is_refused_on_the_field_at_fault(
    superuser_client, values, field, message
):
    response = superuser_client.post(ADD, form(**values))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert not SyncSchedule.objects.exists()
    assert not PeriodicTask.objects.filter(task=RUN_TASK).exists()


@pytest.mark.django_db
def test_the_one_beat_reads_the_schedules_and_the_settings_sweeper_and_retention(monkeypatch):
    """CELERY_BEAT_SCHEDULER is django-celery-beat's DatabaseScheduler: at start it writes
    the settings' entries into its table, beside staff's schedules."""
    # A long-running beat closes stale connections; here that would end the test's
    # transaction (PostgreSQL), so it is left open.
    monkeypatch.setattr("django_celery_beat.schedulers.close_old_connections", lambda: None)
    schedule = sync_schedule_save(
        schedule=SyncSchedule(platform=PLATFORM, kind=ScheduleKind.INTERVAL, every_minutes=5)
    )
    assert app.conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"

    scheduler = DatabaseScheduler(app=app)
    entries = scheduler.schedule

    assert {"sync-sweep", "sync-history-prune", "background-imports-sweep"} <= set(entries)
    assert entries["sync-sweep"].task == "connectors.sync_sweep"
    assert entries["sync-sweep"].schedule.run_every.total_seconds() == 30  # SYNC_SWEEP_INTERVAL
    # No result backend, so nothing for celery.backend_cleanup to clean.
    assert "celery.backend_cleanup" not in entries
    assert entries["sync-history-prune"].task == "connectors.sync_history_prune"
    mine = entries[schedule.periodic_task.name]
    assert mine.task == RUN_TASK
    assert mine.kwargs == {"schedule_id": schedule.pk}


def test_a_run_prepares_and_processes_as_manage_py_sync_does(fake_platform, monkeypatch):
    fake_integration_set(enabled=False)
    SiteFactory(customer=CustomerFactory(name="Scheduled Ltd"), name="Head office")
    fake_integration_set(enabled=True)
    capture_publishes(monkeypatch)  # the run's process step runs the jobs, not commit hooks
    schedule = sync_schedule_save(
        schedule=SyncSchedule(platform=PLATFORM, kind=ScheduleKind.INTERVAL, every_minutes=5)
    )

    outcome = sync_schedule_run(schedule_id=schedule.pk)

    schedule.refresh_from_db()
    assert [a["name"] for a in fake_platform.state["accounts"].values()] == ["Scheduled Ltd"]
    assert [s["name"] for s in fake_platform.state["locations"].values()] == ["Head office"]
    assert outcome == schedule.last_outcome
    assert outcome == (
        "Incremental prepare queued 2 job(s) (0 already pending); processed: succeeded 2."
    )
    assert schedule.last_run_ok is True
    assert schedule.last_run_at is not None


@pytest.mark.django_db
def test_a_prepare_only_schedule_of_one_entity_queues_that_entity_only(monkeypatch):
    fake_integration_set(enabled=False)
    SiteFactory(customer=CustomerFactory())
    fake_integration_set(enabled=True)
    capture_publishes(monkeypatch)
    schedule = sync_schedule_save(
        schedule=SyncSchedule(
            platform=PLATFORM,
            entity=Entity.SITE,
            mode=PrepareMode.FULL,
            process=False,
            kind=ScheduleKind.INTERVAL,
            every_minutes=60,
        )
    )

    outcome = sync_schedule_run(schedule_id=schedule.pk)

    assert outcome.startswith("Full prepare queued 1 job(s)")
    assert "processed" not in outcome
    assert set(SyncJob.objects.values_list("entity", "status")) == {
        (Entity.SITE, JobStatus.PENDING)
    }


@pytest.mark.django_db
def test_a_disabled_or_deleted_schedule_does_nothing_when_beat_sends_it(monkeypatch):
    published = capture_publishes(monkeypatch)
    CustomerFactory()
    schedule = sync_schedule_save(
        schedule=SyncSchedule(
            platform=PLATFORM, enabled=False, kind=ScheduleKind.INTERVAL, every_minutes=5
        )
    )

    assert sync_schedule_run(schedule_id=schedule.pk).startswith("Not run")
    sync_schedule_delete(schedule=schedule)
    assert sync_schedule_run(schedule_id=schedule.pk).startswith("Not run")
    assert published == []


@pytest.mark.django_db
def test_a_refused_run_is_kept_as_a_failed_outcome(monkeypatch):
    capture_publishes(monkeypatch)
    schedule = sync_schedule_save(
        schedule=SyncSchedule(platform=PLATFORM, kind=ScheduleKind.INTERVAL, every_minutes=5)
    )
    SyncSchedule.objects.filter(pk=schedule.pk).update(platform="gone")

    outcome = sync_schedule_run(schedule_id=schedule.pk)

    schedule.refresh_from_db()
    assert outcome.startswith('Refused: Unknown platform "gone"')
    assert schedule.last_run_ok is False


@pytest.mark.django_db
def test_the_embedded_sweeper_runs_the_schedules_that_are_due_once(monkeypatch):
    """No beat in the embedded mode: the sweeper asks each schedule whether it is due."""
    fake_integration_set(enabled=True)
    capture_publishes(monkeypatch)
    due = sync_schedule_save(
        schedule=SyncSchedule(platform=PLATFORM, kind=ScheduleKind.INTERVAL, every_minutes=5)
    )
    later = sync_schedule_save(
        schedule=SyncSchedule(platform=PLATFORM, kind=ScheduleKind.INTERVAL, every_minutes=60)
    )
    off = sync_schedule_save(
        schedule=SyncSchedule(
            platform=PLATFORM, kind=ScheduleKind.INTERVAL, every_minutes=5, enabled=False
        )
    )
    now = timezone.now() + timedelta(minutes=6)

    assert sync_schedules_run_due(now=now) == [due.pk]
    assert sync_schedules_run_due(now=now) == []  # its last run is now
    due.refresh_from_db()
    assert due.last_run_ok is True
    assert SyncSchedule.objects.get(pk=later.pk).last_run_at is None
    assert SyncSchedule.objects.get(pk=off.pk).last_run_at is None


@pytest.mark.django_db
def test_the_schedule_list_says_what_each_does_and_its_last_outcome(superuser_client):
    superuser_client.post(ADD, form(entity=Entity.SITE))

    page = superuser_client.get(reverse("admin:connectors_syncschedule_changelist"))

    html = page.content.decode()
    assert "Prepare and Process" in html
    assert "30 2 * * mon-fri" in html
    assert "Never" in html
