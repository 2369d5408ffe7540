"""The tick at the top of an asset's page: per platform that takes assets, whether the asset
is on it (the green tick and its external ids), else what is pending or what failed and
why; the sync panel below the form holds the details and the buttons.

The customer and sales order pages have theirs in ``customer_sync`` (the customer's
tick); an asset is synced as itself, so its own state is shown here. Read-only.
"""

from __future__ import annotations

from django.db.models import Model
from django.http import HttpRequest
from django.template.loader import render_to_string

from ..choices import Entity
from ..selectors import record_sync_state
from .common import VIEW_JOBS, platform_badges


def asset_sync_badge(request: HttpRequest, obj: Model) -> str:
    """Is the asset on each platform that takes assets: the tick, or what is pending or failed."""
    if not request.user.has_perm(VIEW_JOBS):
        return ""
    badges = platform_badges(
        Entity.ASSET, lambda platform: record_sync_state(platform, Entity.ASSET, obj.pk)
    )
    if not badges:
        return ""
    return render_to_string(
        "admin/connectors/record_sync_badge.html",
        {"badges": badges, "record_label": "asset"},
        request=request,
    )
