"""Sync schedules: prepare and/or process a platform's entities at times staff set.

A ``SyncSchedule`` row is what staff edit (the admin's *Sync schedules*). Beat reads
django-celery-beat's ``PeriodicTask`` table (``CELERY_BEAT_SCHEDULER`` is its
``DatabaseScheduler``), so ``sync_schedule_save`` writes the row and its periodic task in
one transaction, and ``sync_schedule_delete`` removes both. Beat then sends
``connectors.sync_schedule_run`` with the schedule's id, and ``sync_schedule_run`` does
what ``manage.py sync --platform P [--entity E] [--full] [--process]`` does, through the
same functions (``connectors.prepare.sync_prepare`` and ``sync_process``).

The embedded mode (no broker) has no beat: its sweeper thread calls
``sync_schedules_run_due``, which asks each enabled periodic task's own schedule whether
it is due, as beat would.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from .base import UnknownPlatform, connector_for
from .choices import JobStatus, PrepareMode, ScheduleKind
from .models import SyncSchedule

logger = logging.getLogger(__name__)

# The Celery task beat sends for a schedule (connectors.tasks.sync_schedule_run_task).
RUN_TASK = "connectors.sync_schedule_run"


def sync_schedule_problems(schedule: SyncSchedule) -> dict[str, str]:
    """What is wrong with a schedule, by field ({} when nothing): a platform with no
    connector, an entity it does not export, neither step chosen, no interval."""
    problems: dict[str, str] = {}
    try:
        connector = connector_for(schedule.platform)
    except UnknownPlatform as error:
        problems["platform"] = str(error)
    else:
        if schedule.entity and schedule.entity not in connector.entities:
            takes = ", ".join(connector.entities)
            problems["entity"] = (
                f"{connector.name} does not take {schedule.entity} records (it takes {takes})."
            )
    if not schedule.prepare and not schedule.process:
        problems["process"] = "Choose prepare, process or both: a schedule must do something."
    if schedule.kind == ScheduleKind.INTERVAL and not schedule.every_minutes:
        problems["every_minutes"] = "Say every how many minutes it runs (1 or more)."
    return problems


def _beat_schedule(schedule: SyncSchedule) -> dict[str, object]:
    """The periodic task's interval or crontab, shared with any other task at those times."""
    if schedule.kind == ScheduleKind.INTERVAL:
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=schedule.every_minutes, period=IntervalSchedule.MINUTES
        )
        return {"interval": interval, "crontab": None}
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=schedule.minute,
        hour=schedule.hour,
        day_of_month=schedule.day_of_month,
        month_of_year=schedule.month_of_year,
        day_of_week=schedule.day_of_week,
        timezone=settings.TIME_ZONE,
    )
    return {"interval": None, "crontab": crontab}


@transaction.atomic
def sync_schedule_save(*, schedule: SyncSchedule) -> SyncSchedule:
    """Save a schedule and the periodic task beat runs it by (created, or brought in step:
    times, enabled). The schedule must be valid (``full_clean``, as the admin's form does)."""
    schedule.save()
    fields = {
        "task": RUN_TASK,
        "kwargs": json.dumps({"schedule_id": schedule.pk}),
        "enabled": schedule.enabled,
        "description": f"Sync schedule #{schedule.pk} (connectors.SyncSchedule).",
        **_beat_schedule(schedule),
    }
    task = schedule.periodic_task
    if task is None:
        task = PeriodicTask.objects.create(name=f"sync schedule #{schedule.pk}", **fields)
        schedule.periodic_task = task
        schedule.save(update_fields=["periodic_task"])
    else:
        for name, value in fields.items():
            setattr(task, name, value)
        task.save()
    return schedule


@transaction.atomic
def sync_schedule_delete(*, schedule: SyncSchedule) -> None:
    """Delete a schedule and its periodic task (beat stops running it)."""
    task = schedule.periodic_task
    schedule.delete()
    if task is not None:
        task.delete()


def sync_schedule_run(*, schedule_id: int) -> str:
    """Run one schedule now: prepare and/or process its platform's entity (or all its
    entities), then keep the outcome on the schedule. Returns the outcome as staff read it.

    A schedule deleted or disabled since beat sent the task does nothing. A prepare that is
    refused (the platform's connector is gone, say) is kept as a failed outcome, not raised:
    beat will send the task again at its next time.
    """
    from .prepare import sync_prepare, sync_process

    schedule = SyncSchedule.objects.filter(pk=schedule_id).first()
    if schedule is None or not schedule.enabled:
        return "Not run: the schedule is deleted or disabled."
    entity = schedule.entity or None
    parts: list[str] = []
    ok = True
    try:
        if schedule.prepare:
            result = sync_prepare(
                platform=schedule.platform,
                entity=entity,
                full=schedule.mode == PrepareMode.FULL,
            )
            parts.append(
                f"{result.mode} prepare queued {result.prepared} job(s)"
                f" ({result.already_pending} already pending)"
            )
        if schedule.process:
            counts = sync_process(platform=schedule.platform, entity=entity)
            done = ", ".join(
                f"{JobStatus(status).label.lower() if status in JobStatus.values else status} "
                f"{count}"
                for status, count in sorted(counts.items())
            )
            parts.append(f"processed: {done or 'nothing was due'}")
    except ValueError as error:
        ok = False
        parts.append(f"refused: {error}")
        logger.warning("Sync schedule #%s was refused: %s", schedule_id, error)
    text = "; ".join(parts).rstrip(".")
    outcome = f"{text[:1].upper()}{text[1:]}."
    SyncSchedule.objects.filter(pk=schedule_id).update(
        last_run_at=timezone.now(), last_outcome=outcome, last_run_ok=ok
    )
    return outcome


def sync_schedules_run_due(*, now: datetime | None = None) -> list[int]:
    """Run the enabled schedules whose time has come, as beat would (the embedded mode has
    no beat). Each periodic task's own schedule says whether it is due since its last run;
    the run is marked on the periodic task first, so a second sweeper does not repeat it.
    Returns the ids of the schedules run."""
    now = now or timezone.now()
    ran: list[int] = []
    due = SyncSchedule.objects.filter(enabled=True, periodic_task__isnull=False).select_related(
        "periodic_task__interval", "periodic_task__crontab"
    )
    for schedule in due:
        task = schedule.periodic_task
        last = task.last_run_at or task.date_changed
        beat_schedule = task.schedule  # celery's schedule object, asked as beat asks it
        beat_schedule.nowfun = lambda: now
        is_due, _next = beat_schedule.is_due(last)
        if not is_due:
            continue
        marked = PeriodicTask.objects.filter(pk=task.pk, last_run_at=task.last_run_at).update(
            last_run_at=now, total_run_count=task.total_run_count + 1
        )
        if marked:
            sync_schedule_run(schedule_id=schedule.pk)
            ran.append(schedule.pk)
    return ran
