"""The sync schedule form in a real browser (issue 21, item 5: "A clear admin form:
platform, entity (or all), mode (incremental/full), prepare and/or process,
crontab/interval"), and the Sync History's tabs (item 2)."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from connectors.choices import Entity, JobStatus
from connectors.models import SyncJob, SyncSchedule
from connectors.schedules import RUN_TASK

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_staff_set_a_schedule_in_the_form_and_beat_gets_its_periodic_task(staff_page):
    page = staff_page
    page.goto("/admin/connectors/syncschedule/add/")

    page.select_option("#id_platform", label="Abillity")
    page.select_option("#id_entity", label="Site")
    page.check("input[name=mode][value=full]")
    page.uncheck("#id_process")
    page.check("input[name=kind][value=crontab]")
    page.fill("#id_minute", "99")  # not a minute: refused on the field
    page.click("input[name=_save]")

    error = page.locator(".field-minute .errorlist, .errors.field-minute, ul.errorlist").first
    assert "99" in error.inner_text()
    assert not SyncSchedule.objects.exists()

    page.fill("#id_minute", "15")
    page.fill("#id_hour", "6")
    page.fill("#id_day_of_week", "mon-fri")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/connectors/syncschedule/")

    row = page.locator("#result_list tbody tr").first.inner_text()
    assert "Abillity" in row and "Site" in row and "Prepare" in row
    assert "Process" not in row
    assert "15 6 * * mon-fri" in row
    schedule = SyncSchedule.objects.get()
    assert (schedule.platform, schedule.entity, schedule.mode) == ("abillity", "site", "full")
    task = PeriodicTask.objects.get(task=RUN_TASK)
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == (
        "15",
        "6",
        "mon-fri",
    )


def test_the_sync_history_tabs_narrow_the_list(staff_page):
    now = timezone.now()
    for object_id, status in ((1, JobStatus.SUCCEEDED), (2, JobStatus.DELETED)):
        SyncJob.objects.create(
            platform="abillity",
            entity=Entity.SITE,
            object_id=object_id,
            object_repr=f"Site {status}",
            status=status,
            next_attempt_at=now,
        )
    page = staff_page
    page.goto("/admin/connectors/syncjob/")

    page.click('[data-history-tab="deleted"]')
    page.wait_for_url("**tab=deleted**")

    rows = page.locator("#result_list tbody").inner_text()
    assert "Site deleted" in rows and "Site succeeded" not in rows
    current = page.locator(".sync-history-tabs li.current").inner_text()
    assert current.startswith("Deleted")
