"""Billing routes whose platform takes the lines through its API (a connector sends them)
instead of the files staff upload, registered by the platforms' apps in
``registry["direct_routes"]`` (billing never imports the connectors). The Billing
Export's reads (``billing.selectors``) and *Transfer to Billing* (``billing.export``)
ask it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet

from layer_sync.registry import registry

from .models import BillingPlatform


@dataclass(frozen=True)
class DirectRoute:
    """A billing route whose platform takes the lines through its API (a connector sends
    them), instead of the files staff upload.

    A connector registers one (``register_direct_route``); billing never imports the
    connectors. While ``is_active()``, *Transfer to Billing* records the transfer and tells
    the connector (``billing.signals.lines_transferred``) but leaves the components Ready
    to Bill: the connector moves each to In Billing once the platform accepted it
    (``billing.bill_status.line_components_accept``). ``line_filter`` narrows the lines the
    export shows.
    """

    is_active: Callable[[], bool]
    line_filter: Callable[[QuerySet], QuerySet] | None = None
    needs_external_sku: bool = False


def register_direct_route(code: str, route: DirectRoute) -> None:
    """Make ``route`` the direct route of billing route ``code`` (``registry["direct_routes"]``),
    from the platform's ``AppConfig.ready``."""
    registry["direct_routes"][code] = route


def direct_route(route: BillingPlatform) -> DirectRoute | None:
    """The route's registration while its platform takes lines through its API now."""
    found = registry["direct_routes"].get(route.code)
    return found if found is not None and found.is_active() else None


def route_needs_external_sku(route: BillingPlatform | None) -> bool:
    """Whether lines on ``route`` need their product's External SKU: a route whose
    platform takes files does (seed 002: "otherwise the upload into Affinity will fail");
    a route that takes the lines through its API does not, unless it says so."""
    if route is None:
        return True
    direct = direct_route(route)
    return direct is None or direct.needs_external_sku


def direct_route_line_filter(code: str) -> Callable[[QuerySet], QuerySet] | None:
    """The ``line_filter`` registered for route ``code`` (whether or not it is active)."""
    registered = registry["direct_routes"].get(code)
    return registered.line_filter if registered is not None else None
