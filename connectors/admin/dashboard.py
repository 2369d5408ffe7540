"""The sync dashboard (*Billing platform sync → Sync dashboard*): per platform, the queue and
its oldest job's age, the jobs in flight, the error queue with its top reasons (each
linking to the Sync History narrowed to it), successes and failures per day for the last
two weeks as a bar chart, and the latest reconciliation; then the newest jobs in the
error queue with links to their records.

For staff who may read the Sync History (``connectors.view_syncjob``). Reads only
(``connectors.dashboard.sync_dashboard``: a fixed number of indexed, bounded queries);
nothing here calls a platform.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from ..choices import ERROR_STATUSES, JobStatus
from ..dashboard import (
    RECENT_ERRORS,
    PlatformDashboard,
    platform_day_series,
    recent_errors,
    sync_dashboard,
)
from ..models import SyncJob
from .common import VIEW_JOBS, platform_name, record_admin_url, record_exists, status_badge

# The chart's geometry (SVG user units): one pair of bars per day.
CHART_HEIGHT = 80
DAY_WIDTH = 18
BAR_WIDTH = 7
CHART_MARGIN = 12  # room for the first and last date labels


def history_url(**params: str) -> str:
    """The Sync History narrowed by ``params`` (its filters' query parameters)."""
    query = urlencode({key: value for key, value in params.items() if value != ""})
    return f"{reverse('admin:connectors_syncjob_changelist')}?{query}"


def _chart(entry: PlatformDashboard) -> dict[str, Any]:
    bars = []
    for position, day in enumerate(platform_day_series(entry)):
        x = position * DAY_WIDTH + CHART_MARGIN
        ok_height = round(day["succeeded_share"] * CHART_HEIGHT, 1)
        bad_height = round(day["failed_share"] * CHART_HEIGHT, 1)
        bars.append(
            {
                **day,
                "ok_x": x,
                "ok_y": CHART_HEIGHT - ok_height,
                "ok_height": ok_height,
                "bad_x": x + BAR_WIDTH,
                "bad_y": CHART_HEIGHT - bad_height,
                "bad_height": bad_height,
                "label_x": x + BAR_WIDTH,
            }
        )
    return {
        "bars": bars,
        "width": len(bars) * DAY_WIDTH + 2 * CHART_MARGIN,
        "height": CHART_HEIGHT,
        "bar_width": BAR_WIDTH,
        "label_y": CHART_HEIGHT + 12,
        "total_height": CHART_HEIGHT + 16,
    }


def _platform_context(entry: PlatformDashboard, now) -> dict[str, Any]:
    code = entry.platform
    reasons = [
        {
            "error_kind": reason.error_kind,
            "text": reason.text or "(no message)",
            "count": reason.count,
            "url": history_url(
                platform=code,
                in_error_queue="yes",
                error_kind__exact=reason.error_kind,
                q=reason.text,
            ),
        }
        for reason in entry.reasons
    ]
    return {
        "entry": entry,
        "chart": _chart(entry),
        "reasons": reasons,
        "oldest_age": (now - entry.oldest_pending_at) if entry.oldest_pending_at else None,
        "pending_url": history_url(platform=code, status__exact=JobStatus.PENDING),
        "in_flight_url": history_url(platform=code, status__exact=JobStatus.IN_FLIGHT),
        "error_queue_url": history_url(platform=code, in_error_queue="yes"),
        "succeeded_url": history_url(platform=code, status__exact=JobStatus.SUCCEEDED),
        "failed_url": history_url(platform=code, status__in=",".join(ERROR_STATUSES)),
        "reconciliation_url": (
            reverse("admin:connectors_syncjob_reconciliation", args=[code])
            if entry.reconciles
            else ""
        ),
    }


def _recent_error_rows() -> list[dict[str, Any]]:
    rows = []
    for job in recent_errors().annotate(record_exists=record_exists())[:RECENT_ERRORS]:
        rows.append(
            {
                "job": job,
                "platform_name": platform_name(job.platform),
                "badge": status_badge(job.status, job.get_status_display()),
                "record_url": (
                    record_admin_url(job.entity, job.object_id) if job.record_exists else ""
                ),
            }
        )
    return rows


def sync_dashboard_view(request: HttpRequest) -> TemplateResponse:
    if not request.user.has_perm(VIEW_JOBS):
        raise PermissionDenied(f"The sync dashboard needs the permission {VIEW_JOBS}.")
    now = timezone.now()
    board = sync_dashboard(now=now)
    context = {
        **admin.site.each_context(request),
        "title": "Sync dashboard",
        "opts": SyncJob._meta,
        "platforms": [_platform_context(entry, now) for entry in board["platforms"]],
        "recent_errors": _recent_error_rows(),
        "days": board["days"],
        "since": board["since"],
        "now": now,
        "history_url": reverse("admin:connectors_syncjob_changelist"),
        "error_queue_url": history_url(in_error_queue="yes"),
    }
    return TemplateResponse(request, "admin/connectors/dashboard.html", context)
