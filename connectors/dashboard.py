"""Reads behind the sync dashboard: per platform, the queue, the error queue's top reasons,
the outcomes of the last days and the latest reconciliation.

Fast with millions of history rows because every read is bounded and indexed, and the
number of queries is fixed (it grows with neither rows nor platforms):

- open jobs (pending, in flight) and the error queue are small sets found through the
  ``status`` index (and ``syncjob_error_queue``);
- the outcomes per day read a 14-day range of ``finished_at`` from the composite index
  ``syncjob_outcomes`` (platform, status, finished_at), without touching the table;
- the top reasons are ranked in the database, five per platform come back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, F, Max, Min, QuerySet
from django.db.models.expressions import Window
from django.db.models.functions import RowNumber, Substr, TruncDate
from django.utils import timezone

from billing.models import BillingPlatform

from .base import registered
from .choices import ERROR_STATUSES, JobStatus
from .models import ReconciliationRun, SyncJob

WINDOW_DAYS = 14
TOP_REASONS = 5
REASON_CHARS = 80
RECENT_ERRORS = 10

OPEN_STATUSES = (JobStatus.PENDING, JobStatus.IN_FLIGHT)
SUCCESS_STATUSES = (JobStatus.SUCCEEDED, JobStatus.NO_CHANGE)
OUTCOME_STATUSES = (*SUCCESS_STATUSES, *ERROR_STATUSES)


@dataclass
class DayOutcomes:
    day: date
    succeeded: int = 0
    failed: int = 0


@dataclass
class ErrorReason:
    error_kind: str
    text: str
    count: int


@dataclass
class PlatformDashboard:
    """One platform's row of the dashboard."""

    platform: str
    name: str
    integration_on: bool
    reconciles: bool
    not_reconciled_because: str = ""
    pending: int = 0
    in_flight: int = 0
    oldest_pending_at: datetime | None = None
    error_queue: int = 0
    reasons: list[ErrorReason] = field(default_factory=list)
    days: list[DayOutcomes] = field(default_factory=list)
    reconciliation: ReconciliationRun | None = None

    @property
    def succeeded(self) -> int:
        return sum(day.succeeded for day in self.days)

    @property
    def failed(self) -> int:
        return sum(day.failed for day in self.days)


def dashboard_window(*, now: datetime | None = None, days: int = WINDOW_DAYS) -> list[date]:
    """The local dates the outcome charts cover, oldest first, today last."""
    today = timezone.localdate(now or timezone.now())
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def sync_dashboard(*, now: datetime | None = None, days: int = WINDOW_DAYS) -> dict[str, Any]:
    """The dashboard of every registered platform (and any other one with open or failed
    jobs), in six queries whatever the number of jobs.

    Answers ``{"platforms": [PlatformDashboard], "days": [date], "since": datetime}``;
    ``recent_errors()`` is the list of the error queue to show beside it.
    """
    window = dashboard_window(now=now, days=days)
    since = timezone.make_aware(datetime.combine(window[0], time.min))
    connectors = registered()
    enabled = set(
        BillingPlatform.objects.filter(
            integration_enabled=True, code__in=list(connectors)
        ).values_list("code", flat=True)
    )
    boards: dict[str, PlatformDashboard] = {
        code: PlatformDashboard(
            platform=code,
            name=connector.name or code,
            integration_on=code in enabled,
            reconciles=connector.reconciles,
            not_reconciled_because="" if connector.reconciles else connector.not_reconciled_because,
        )
        for code, connector in sorted(connectors.items())
    }

    def board(code: str) -> PlatformDashboard:
        if code not in boards:  # jobs of a platform whose connector is gone
            boards[code] = PlatformDashboard(
                platform=code,
                name=f"{code} (no connector registered)",
                integration_on=False,
                reconciles=False,
                not_reconciled_because="its connector is no longer registered",
            )
        return boards[code]

    open_jobs = (
        SyncJob.objects.filter(status__in=OPEN_STATUSES)
        .order_by()
        .values("platform", "status")
        .annotate(count=Count("pk"), oldest=Min("created_at"))
    )
    for row in open_jobs:
        entry = board(row["platform"])
        if row["status"] == JobStatus.PENDING:
            entry.pending = row["count"]
            entry.oldest_pending_at = row["oldest"]
        else:
            entry.in_flight = row["count"]

    for row in error_queue_jobs().order_by().values("platform").annotate(count=Count("*")):
        board(row["platform"]).error_queue = row["count"]
    for row in error_reasons():
        board(row["platform"]).reasons.append(
            ErrorReason(error_kind=row["error_kind"], text=row["text"], count=row["count"])
        )

    counts: dict[tuple[str, date], DayOutcomes] = {}
    outcomes = (
        SyncJob.objects.filter(
            platform__in=list(boards), status__in=OUTCOME_STATUSES, finished_at__gte=since
        )
        .annotate(day=TruncDate("finished_at"))
        .order_by()
        .values("platform", "status", "day")
        # COUNT(*), not COUNT(id): every column read is in syncjob_outcomes (index only).
        .annotate(count=Count("*"))
    )
    for row in outcomes:
        day = counts.setdefault((row["platform"], row["day"]), DayOutcomes(day=row["day"]))
        if row["status"] in SUCCESS_STATUSES:
            day.succeeded += row["count"]
        else:
            day.failed += row["count"]
    for code, entry in boards.items():
        entry.days = [counts.get((code, day)) or DayOutcomes(day=day) for day in window]

    latest = ReconciliationRun.objects.filter(
        id__in=ReconciliationRun.objects.order_by()
        .values("platform")
        .annotate(latest=Max("id"))
        .values("latest")
    )
    for run in latest:
        if run.platform in boards:
            boards[run.platform].reconciliation = run

    return {
        "platforms": list(boards.values()),
        "days": window,
        "since": since,
    }


def error_queue_jobs() -> QuerySet[SyncJob]:
    """Failed or aborted jobs not since resolved (the partial index ``syncjob_error_queue``)."""
    return SyncJob.objects.filter(status__in=ERROR_STATUSES, resolved_at__isnull=True)


def error_reasons(*, top: int = TOP_REASONS) -> list[dict[str, Any]]:
    """The error queue's most frequent reasons, ``top`` per platform: jobs grouped by error
    kind and the first ``REASON_CHARS`` characters of their error, ranked in the database.

    Rows: ``{"platform", "error_kind", "text", "count"}``, most frequent first.
    """
    grouped = (
        error_queue_jobs()
        .order_by()
        .annotate(text=Substr("last_error", 1, REASON_CHARS))
        .values("platform", "error_kind", "text")
        .annotate(count=Count("pk"))
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("platform")],
                order_by=[F("count").desc(), F("text").asc()],
            )
        )
        .filter(rank__lte=top)
        .order_by("platform", "rank")
    )
    return [
        {key: row[key] for key in ("platform", "error_kind", "text", "count")} for row in grouped
    ]


def recent_errors() -> QuerySet[SyncJob]:
    """The error queue, newest first (slice it: ``RECENT_ERRORS`` on the dashboard)."""
    return error_queue_jobs().order_by("-id")


def platform_day_series(entry: PlatformDashboard) -> list[dict[str, Any]]:
    """The day outcomes with their share of the busiest day (for drawing bars)."""
    peak = max((max(day.succeeded, day.failed) for day in entry.days), default=0) or 1
    return [
        {
            "day": day.day,
            "succeeded": day.succeeded,
            "failed": day.failed,
            "succeeded_share": day.succeeded / peak,
            "failed_share": day.failed / peak,
        }
        for day in entry.days
    ]


__all__ = [
    "DayOutcomes",
    "ErrorReason",
    "PlatformDashboard",
    "dashboard_window",
    "error_queue_jobs",
    "error_reasons",
    "platform_day_series",
    "recent_errors",
    "sync_dashboard",
]
