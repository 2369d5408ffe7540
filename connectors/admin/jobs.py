"""The Sync History: sync jobs, read-only, with their HTTP attempts, a count of each
status for the current filter, and the error queue's actions (see ``.queue``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from layer_sync.wording import local_datetime

from ..base import platform_choices, registered
from ..choices import ERROR_STATUSES, Entity, JobStatus
from ..models import SyncAttempt, SyncJob
from . import customer_sync, dashboard, progress, reconciliation, records
from .common import (
    VIEW_JOBS,
    PlatformFilter,
    platform_label,
    platform_name,
    record_exists,
    record_jobs_url,
    record_link,
    status_badge,
)
from .queue import ErrorQueueActions

# The summary strip above the Sync History: (key, label, statuses counted).
STATUS_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("processed", "Processed", (JobStatus.SUCCEEDED, JobStatus.NO_CHANGE)),
    ("pending", "Pending or in flight", (JobStatus.PENDING, JobStatus.IN_FLIGHT)),
    ("failed", "Failed", (JobStatus.FAILED,)),
    ("aborted", "Aborted", (JobStatus.ABORTED,)),
    ("filtered", "Filtered", (JobStatus.FILTERED,)),
    ("skipped", "Skipped", (JobStatus.SKIPPED,)),
)
IN_ERROR_QUEUE = Q(status__in=ERROR_STATUSES, resolved_at__isnull=True)

# The tabs of seed 003's Sync History form ("Go to the Processed tab"): (key, label,
# statuses). Every status is on one tab, so the tabs add up to All.
HISTORY_TABS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("ready", "Ready to process", (JobStatus.PENDING, JobStatus.IN_FLIGHT)),
    ("processed", "Processed", (JobStatus.SUCCEEDED, JobStatus.NO_CHANGE)),
    ("failed", "Failed", ERROR_STATUSES),
    ("filtered", "Filtered", (JobStatus.FILTERED,)),
    ("skipped", "Skipped", (JobStatus.SKIPPED,)),
    ("deleted", "Deleted", (JobStatus.DELETED,)),
)
TAB_STATUSES = {key: statuses for key, _label, statuses in HISTORY_TABS}


def jobs_status_summary(queryset: QuerySet[SyncJob]) -> dict[str, int]:
    """How many of ``queryset``'s jobs are in each status group, in the error queue, and on
    each of the Sync History's tabs (``tab_<key>``): one aggregate query."""
    counts = {
        key: Count("pk", filter=Q(status__in=statuses)) for key, _label, statuses in STATUS_GROUPS
    }
    counts["error_queue"] = Count("pk", filter=IN_ERROR_QUEUE)
    for key, _label, statuses in HISTORY_TABS:
        counts[f"tab_{key}"] = Count("pk", filter=Q(status__in=statuses))
    return queryset.order_by().aggregate(**counts)


class HistoryTabFilter(admin.SimpleListFilter):
    """The Sync History's tabs (seed 003): ready to process, processed, failed, filtered,
    skipped, deleted. Shown as tabs above the list (``tab``), kept with the other filters."""

    title = "tab"
    parameter_name = "tab"

    def lookups(self, request, model_admin):
        return [(key, label) for key, label, _statuses in HISTORY_TABS]

    def queryset(self, request, queryset):
        statuses = TAB_STATUSES.get(self.value() or "")
        return queryset.filter(status__in=statuses) if statuses else queryset


def _status_params(statuses: tuple[str, ...]) -> dict[str, str]:
    # One status through the status filter (shown selected there); a group by its list.
    if len(statuses) == 1:
        return {"status__exact": statuses[0]}
    return {"status__in": ",".join(statuses)}


class InErrorQueueFilter(admin.SimpleListFilter):
    """Failed or aborted and not since resolved (retried, skipped, mapped, or a later success)."""

    title = "in error queue"
    parameter_name = "in_error_queue"

    def lookups(self, request, model_admin):
        return (("yes", "Yes"), ("no", "No"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(IN_ERROR_QUEUE)
        if self.value() == "no":
            return queryset.exclude(IN_ERROR_QUEUE)
        return queryset


class SyncAttemptInline(admin.TabularInline):
    """The HTTP calls of a job, as recorded (excerpts redacted by the engine). Read-only."""

    model = SyncAttempt
    fields = (
        "started_at",
        "method",
        "path",
        "status_code",
        "duration",
        "request_sent",
        "response_received",
        "error",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "attempt log (HTTP calls)"

    def has_view_permission(self, request, obj=None) -> bool:
        # Part of the job: whoever may read the Sync History reads its attempts.
        return request.user.has_perm(VIEW_JOBS)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="duration")
    def duration(self, attempt: SyncAttempt) -> str:
        return f"{attempt.duration_ms} ms"

    @admin.display(description="request excerpt")
    def request_sent(self, attempt: SyncAttempt) -> str:
        return _excerpt(attempt.request_excerpt)

    @admin.display(description="response excerpt")
    def response_received(self, attempt: SyncAttempt) -> str:
        return _excerpt(attempt.response_excerpt)


def _excerpt(text: str) -> str:
    if not text:
        return "-"
    return format_html('<pre class="sync-excerpt">{}</pre>', text)


@admin.register(SyncJob)
class SyncJobAdmin(ErrorQueueActions, admin.ModelAdmin):
    """The Sync History: every job, read-only. Failed and aborted jobs not since resolved
    form the error queue, which staff retry, skip or map (actions and buttons)."""

    list_display = (
        "id",
        "platform_short",
        "entity",
        "record",
        "status_badge",
        "last_operation",
        "last_attempt",
        "attempts_summary",
        "external_id_link",
        "short_error",
    )
    list_display_links = ("id",)
    list_filter = (
        PlatformFilter,
        "entity",
        HistoryTabFilter,
        "status",
        "error_kind",
        InErrorQueueFilter,
    )
    # Jobs refer to records by entity and id, not by foreign keys; the one relation shown
    # (the blocking job, on the job page) is a single row.
    list_select_related = False
    search_fields = ("object_repr", "external_id", "last_error", "=object_id")
    date_hierarchy = "created_at"
    inlines = (SyncAttemptInline,)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "platform_name",
                    "entity",
                    "object_id",
                    "record",
                    "status_badge",
                    "operation",
                    "external_id",
                    "reason",
                    "force",
                    "requested_by",
                )
            },
        ),
        (
            "Attempts",
            {
                "fields": (
                    "attempts",
                    "last_attempt_at",
                    "next_attempt_at",
                    "locked_until",
                    "locked_by",
                    "published_at",
                    "finished_at",
                )
            },
        ),
        (
            "Errors",
            {
                "fields": (
                    "in_error_queue",
                    "error_kind",
                    "last_error",
                    "filtered_by",
                    "blocked_by",
                    "resolved_at",
                )
            },
        ),
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    readonly_fields = tuple(field for _name, spec in fieldsets for field in spec["fields"])

    # --- read-only -------------------------------------------------------------------
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SyncJob | None = None) -> bool:
        # The history is written by the engine; staff act on it through the actions only.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: SyncJob | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[SyncJob]:
        return super().get_queryset(request).annotate(record_exists=record_exists())

    # --- columns and fields ----------------------------------------------------------
    @admin.display(description="record", ordering="object_repr")
    def record(self, job: SyncJob) -> str:
        return record_link(job, job.object_repr or f"#{job.object_id}", self.admin_site)

    @admin.display(description="status", ordering="status")
    def status_badge(self, job: SyncJob) -> str:
        return status_badge(job.status, job.get_status_display())

    @admin.display(description="next attempt", ordering="next_attempt_at")
    def next_attempt(self, job: SyncJob) -> Any:
        # Only a job still to run has a next attempt; a finished one keeps a stale time.
        return job.next_attempt_at if job.status == JobStatus.PENDING else None

    @admin.display(description="platform", ordering="platform")
    def platform_short(self, job: SyncJob) -> str:
        """The platform as staff know it (its connector's name), not its identifier."""
        return platform_name(job.platform)

    @admin.display(description="attempts", ordering="last_attempt_at")
    def attempts_summary(self, job: SyncJob) -> str:
        """How many attempts, the last one's time and the next one's: one column, so that
        the list fits a 1,366 px window."""
        parts = [str(job.attempts)]
        if job.last_attempt_at:
            parts.append(f"last {local_datetime(job.last_attempt_at)}")
        if (next_at := self.next_attempt(job)) is not None:
            parts.append(f"next {local_datetime(next_at)}")
        return format_html_join(mark_safe("<br>"), "{}", ((part,) for part in parts))

    @admin.display(description="last operation", ordering="operation")
    def last_operation(self, job: SyncJob) -> str:
        """What the job last did on the platform (seed 003: "Inserted Externally")."""
        return job.get_operation_display()

    @admin.display(description="last attempt", ordering="last_attempt_at")
    def last_attempt(self, job: SyncJob) -> str:
        return local_datetime(job.last_attempt_at) if job.last_attempt_at else "-"

    @admin.display(description="external ID", ordering="external_id")
    def external_id_link(self, job: SyncJob) -> str:
        """The platform's id, linking to its record there when the connector declares an
        address for it (``Connector.record_url``; seed 003: "click the link in the External
        ID column")."""
        if not job.external_id:
            return ""
        connector = registered().get(job.platform)
        url = connector.record_url(job.entity, job.external_id) if connector else ""
        if not url:
            return job.external_id
        return format_html(
            '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>', url, job.external_id
        )

    @admin.display(description="last error")
    def short_error(self, job: SyncJob) -> str:
        text = job.filtered_by or job.last_error
        if not text:
            return ""
        return format_html('<span title="{}">{}</span>', text, Truncator(text).chars(80))

    @admin.display(description="platform")
    def platform_name(self, job: SyncJob) -> str:
        return platform_label(job.platform)

    @admin.display(description="in error queue", boolean=True)
    def in_error_queue(self, job: SyncJob) -> bool:
        return job.in_error_queue

    # --- the summary strip and the job page's buttons --------------------------------
    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context and "cl" in context:
            cl = context["cl"]
            counts = jobs_status_summary(cl.queryset)
            context["status_summary"] = self._status_summary(cl, counts)
            if request.GET.get(HistoryTabFilter.parameter_name):
                # Each tab counts the jobs of the other filters, whichever tab is open.
                counts = jobs_status_summary(
                    cl.get_queryset(request, exclude_parameters=[HistoryTabFilter.parameter_name])
                )
            context["history_tabs"] = self._history_tabs(request, cl, counts)
            context["history_scope"] = {
                "platforms": platform_choices(),
                "entities": Entity.choices,
                "platform": request.GET.get(PlatformFilter.parameter_name, ""),
                "entity": request.GET.get("entity__exact", ""),
                "tab": request.GET.get(HistoryTabFilter.parameter_name, ""),
            }
        return response

    def _history_tabs(self, request: HttpRequest, cl, counts: dict[str, int]) -> list[dict]:
        """All, then seed 003's tabs, each with its count and the list narrowed to it
        (keeping the platform, entity and other filters)."""
        current = request.GET.get(HistoryTabFilter.parameter_name, "")
        strip = [HistoryTabFilter.parameter_name, "status", "in_error_queue"]
        tabs = [
            {
                "key": "",
                "label": "All",
                "count": sum(counts[f"tab_{key}"] for key in TAB_STATUSES),
                "url": cl.get_query_string(remove=strip),
                "current": current not in TAB_STATUSES,
            }
        ]
        tabs += [
            {
                "key": key,
                "label": label,
                "count": counts[f"tab_{key}"],
                "url": cl.get_query_string({HistoryTabFilter.parameter_name: key}, strip),
                "current": current == key,
            }
            for key, label, _statuses in HISTORY_TABS
        ]
        return tabs

    def _status_summary(self, cl, counts: dict[str, int]) -> list[dict[str, Any]]:
        # Each count links to the list narrowed to it, keeping the other filters (and
        # leaving the page: filter_params holds no page number).
        strip_params = ["status", "in_error_queue"]
        summary = [
            {
                "key": key,
                "label": label,
                "count": counts[key],
                "url": cl.get_query_string(_status_params(statuses), strip_params),
            }
            for key, label, statuses in STATUS_GROUPS
        ]
        summary.append(
            {
                "key": "error_queue",
                "label": "In the error queue",
                "count": counts["error_queue"],
                "url": cl.get_query_string({"in_error_queue": "yes"}, strip_params),
            }
        )
        return summary

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(
                self.error_queue_context(request, obj),
                record_jobs_url=record_jobs_url(obj.platform, obj.entity, obj.object_id),
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    # --- URLs --------------------------------------------------------------------------
    def get_urls(self):
        wrap = self.admin_site.admin_view
        own = [
            path(route, wrap(view), name=f"connectors_syncjob_{name}")
            for route, view, name in (
                ("dashboard/", dashboard.sync_dashboard_view, "dashboard"),
                ("<int:job_id>/status.json", progress.job_status_view, "status"),
                (
                    "record/<str:platform>/<str:entity>/<int:object_id>/sync/",
                    records.sync_now_view,
                    "sync_now",
                ),
                (
                    "record/<str:platform>/<str:entity>/<int:object_id>/preview/",
                    records.preview_view,
                    "preview",
                ),
                (
                    "customer/<str:platform>/<int:customer_id>/",
                    customer_sync.customer_sync_view,
                    "customer_sync",
                ),
                (
                    "search/<str:platform>/<str:entity>/",
                    customer_sync.platform_search_view,
                    "platform_search",
                ),
                (
                    "reconciliation/<str:platform>/",
                    reconciliation.reconciliation_view,
                    "reconciliation",
                ),
                (
                    "reconciliation/<str:platform>/data/",
                    reconciliation.reconciliation_data_view,
                    "reconciliation_data",
                ),
            )
        ]
        return own + super().get_urls()
