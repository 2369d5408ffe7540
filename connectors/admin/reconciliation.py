"""The reconciliation page: the billing assets that differ between The Layer and a
platform (``connectors.reconciliation``), for staff who may read the Sync History.

The page shows at once and loads the report from ``reconciliation_data_view`` (JSON)
after it has shown, so the admin request itself never waits for the platform.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from ..base import UnknownPlatform, connector_for
from ..errors import SyncError
from ..reconciliation import reconciliation_report
from .common import VIEW_JOBS, record_admin_url


def _reconcilable_or_404(platform: str):
    try:
        connector = connector_for(platform)
    except UnknownPlatform as error:
        raise Http404(str(error)) from None
    if not connector.reconciles:
        raise Http404(f"{connector.name} cannot be reconciled: {connector.not_reconciled_because}.")
    return connector


def reconciliation_view(request: HttpRequest, platform: str) -> TemplateResponse:
    if not request.user.has_perm(VIEW_JOBS):
        raise PermissionDenied(f"Reconciliation needs the permission {VIEW_JOBS}.")
    connector = _reconcilable_or_404(platform)
    context = {
        **admin.site.each_context(request),
        "title": f"Reconciliation with {connector.name}",
        "platform_name": connector.name,
        "data_url": reverse("admin:connectors_syncjob_reconciliation_data", args=[platform]),
    }
    return TemplateResponse(request, "admin/connectors/reconciliation.html", context)


def reconciliation_data_view(request: HttpRequest, platform: str) -> JsonResponse:
    """The report as JSON (``ReconciliationReport.as_dict`` with each record's admin URL),
    or ``{"error": ...}`` with 502 when the platform could not be read."""
    if not request.user.has_perm(VIEW_JOBS):
        raise PermissionDenied(f"Reconciliation needs the permission {VIEW_JOBS}.")
    _reconcilable_or_404(platform)
    try:
        report = reconciliation_report(platform=platform)
    except SyncError as error:
        return JsonResponse({"error": error.message}, status=502)
    body = report.as_dict()
    for row in body["differences"]:
        row["url"] = record_admin_url(row["entity"], row["object_id"]) if row["object_id"] else ""
    return JsonResponse(body)
