"""Reconciliation: what a platform holds compared with our bindings and records.

Generic over the connectors: one that implements ``Connector.reconcile`` can be
reconciled (``manage.py reconcile``, ``GET /api/v1/reconciliation/``, the admin's
reconciliation page); the others are refused with a message.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from .base import ReconcileDifference, connector_for
from .errors import PermanentError, SyncError
from .models import ReconciliationRun
from .redaction import redact


class ReconcileUnsupported(PermanentError):
    """The platform's connector does not implement ``reconcile``."""


@dataclass(frozen=True)
class ReconciliationReport:
    platform: str
    platform_name: str
    generated_at: datetime
    differences: list[ReconcileDifference] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(difference.kind for difference in self.differences))

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "platform_name": self.platform_name,
            "generated_at": self.generated_at.isoformat(),
            "counts": self.counts,
            "differences": [asdict(difference) for difference in self.differences],
        }


def reconciliation_report(*, platform: str) -> ReconciliationReport:
    """Read the platform and compare. Raises UnknownPlatform, ReconcileUnsupported, or the
    platform client's errors (RecoverableError, ConfigurationError, ...).

    Every run that reached the platform is recorded (``ReconciliationRun``: its counts, or
    the error that stopped it), whoever ran it (command, API, admin page): the sync
    dashboard shows the latest.
    """
    connector = connector_for(platform)
    if not connector.reconciles:
        raise ReconcileUnsupported(
            f"{connector.name or platform} cannot be reconciled: "
            f"{connector.not_reconciled_because}."
        )
    started_at = timezone.now()
    try:
        with connector.client() as client:
            differences = connector.reconcile(client) or []
    except SyncError as error:
        reconciliation_run_record(platform=platform, started_at=started_at, error=error.message)
        raise
    report = ReconciliationReport(
        platform=platform,
        platform_name=connector.name or platform,
        generated_at=timezone.now(),
        differences=list(differences),
    )
    reconciliation_run_record(platform=platform, started_at=started_at, report=report)
    return report


def reconciliation_run_record(
    *,
    platform: str,
    started_at: datetime,
    report: ReconciliationReport | None = None,
    error: str = "",
) -> ReconciliationRun:
    """Keep the summary of one reconciliation run: the report's counts, or its error."""
    counts = report.counts if report is not None else {}
    return ReconciliationRun.objects.create(
        platform=platform,
        started_at=started_at,
        finished_at=report.generated_at if report is not None else timezone.now(),
        ok=report is not None,
        difference_count=sum(counts.values()),
        counts=counts,
        error=redact(error)[:2000],
    )
