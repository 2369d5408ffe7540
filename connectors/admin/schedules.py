"""Sync schedules in the admin: per platform and entity, prepare and/or process, every so
many minutes or at crontab times (``connectors.schedules``).

The form is the one place staff set them: django-celery-beat's own admin pages (periodic
tasks, intervals, crontabs, solar and clocked schedules) are taken off the admin, as its
rows are written from these schedules and from the settings' beat entries (an edit there
would be overwritten, or would run a task with arguments nobody checked).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from layer_sync.wording import local_datetime

from ..base import platform_choices
from ..choices import Entity
from ..models import SyncSchedule
from ..schedules import sync_schedule_delete, sync_schedule_save
from .common import platform_name

for _model in (PeriodicTask, IntervalSchedule, CrontabSchedule, SolarSchedule, ClockedSchedule):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


class SyncScheduleForm(forms.ModelForm):
    """Platform from the registered connectors; entity or all; the steps; the times."""

    platform = forms.ChoiceField(choices=platform_choices)
    entity = forms.ChoiceField(
        choices=[("", "All entities the platform exports"), *Entity.choices],
        required=False,
    )

    class Meta:
        model = SyncSchedule
        fields = (
            "platform",
            "entity",
            "mode",
            "prepare",
            "process",
            "kind",
            "every_minutes",
            "minute",
            "hour",
            "day_of_month",
            "month_of_year",
            "day_of_week",
            "enabled",
        )
        widgets = {"mode": forms.RadioSelect, "kind": forms.RadioSelect}


@admin.register(SyncSchedule)
class SyncScheduleAdmin(admin.ModelAdmin):
    form = SyncScheduleForm
    list_display = (
        "id",
        "platform_short",
        "entity_shown",
        "mode",
        "steps",
        "when",
        "enabled",
        "last_run",
        "outcome",
    )
    list_display_links = ("id", "platform_short")
    list_filter = ("platform", "entity", "enabled")
    # No relation is shown in the list (the periodic task stays behind the form).
    list_select_related = False
    fieldsets = (
        ("What", {"fields": ("platform", "entity", "mode", "prepare", "process")}),
        (
            "When",
            {
                "fields": (
                    "kind",
                    "every_minutes",
                    ("minute", "hour", "day_of_month", "month_of_year", "day_of_week"),
                    "enabled",
                ),
                "description": "Every so many minutes, or at the times of a crontab "
                "(minute, hour, day of month, month, day of week; times in the "
                "server's time zone). Only the fields of the way chosen are used.",
            },
        ),
        ("Last run", {"fields": ("last_run", "outcome")}),
    )
    readonly_fields = ("last_run", "outcome")

    @admin.display(description="platform", ordering="platform")
    def platform_short(self, schedule: SyncSchedule) -> str:
        return platform_name(schedule.platform)

    @admin.display(description="entity", ordering="entity")
    def entity_shown(self, schedule: SyncSchedule) -> str:
        return schedule.get_entity_display() if schedule.entity else "All"

    @admin.display(description="does")
    def steps(self, schedule: SyncSchedule) -> str:
        return " and ".join(
            step
            for step, on in (("Prepare", schedule.prepare), ("Process", schedule.process))
            if on
        )

    @admin.display(description="runs")
    def when(self, schedule: SyncSchedule) -> str:
        return schedule.when

    @admin.display(description="last run", ordering="last_run_at")
    def last_run(self, schedule: SyncSchedule) -> str:
        return local_datetime(schedule.last_run_at) if schedule.last_run_at else "Never"

    @admin.display(description="last outcome")
    def outcome(self, schedule: SyncSchedule) -> str:
        if schedule.last_run_ok is None:
            return "-"
        tone = "done" if schedule.last_run_ok else "error"
        return format_html(
            '<span class="sync-status sync-status-{}">{}</span> {}',
            tone,
            "ok" if schedule.last_run_ok else "failed",
            schedule.last_outcome,
        )

    # --- writes go through the service (the periodic task follows the row) ----------------
    def save_model(self, request: HttpRequest, obj: SyncSchedule, form, change: bool) -> None:
        sync_schedule_save(schedule=obj)

    def delete_model(self, request: HttpRequest, obj: SyncSchedule) -> None:
        sync_schedule_delete(schedule=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SyncSchedule]) -> None:
        for schedule in queryset.select_related("periodic_task"):
            sync_schedule_delete(schedule=schedule)
