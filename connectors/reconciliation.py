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
from .errors import PermanentError


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
    platform client's errors (RecoverableError, ConfigurationError, ...)."""
    connector = connector_for(platform)
    if not connector.reconciles:
        raise ReconcileUnsupported(f"{connector.name or platform} cannot be reconciled.")
    with connector.client() as client:
        differences = connector.reconcile(client) or []
    return ReconciliationReport(
        platform=platform,
        platform_name=connector.name or platform,
        generated_at=timezone.now(),
        differences=list(differences),
    )
