"""The manual customer sync (seed 000's "Sync Abillity Customer") and the tick at the top of
the customer and sales order pages.

- ``customer_sync_badge``: a top panel on a customer's and a sales order's page, per
  platform that takes customers: the green tick when the customer is on the platform,
  else what is pending or failed, and the *Sync <platform> Customer* button;
- ``customer_sync_view``: the summary screen of the customer, its sites and contacts on
  the platform; for a customer not yet synced, the platform's companies to map it to (or
  none, to create a new one); *Sync <platform> Customer* queues the sync
  (``customer_sync_request``, the service behind ``POST /api/v1/customers/{id}/sync/``);
- ``platform_search_view``: the companies list as JSON, loaded by the summary page
  after it shows ("after a moment the customer list will populate"), so the page itself
  never waits for the platform.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from customers.choices import CustomerStage
from customers.models import Customer

from ..api.sync_status import customer_sync_status
from ..base import Connector, UnknownPlatform, connector_for
from ..choices import Entity
from ..engine.actions import MappingRefused, customer_sync_request, external_id_problem
from ..errors import SyncError
from ..models import SyncJob
from .common import (
    ACT_ON_JOBS,
    REQUEST_JOBS,
    VIEW_JOBS,
    bindings_described,
    platform_badges,
    record_admin_url,
    status_badge,
)

# The most platform records the mapping list shows; staff narrow it by typing.
SEARCH_LIMIT = 500


def _searchable(connector: Connector) -> bool:
    return type(connector).search is not Connector.search


def _customer_connector_or_404(platform: str) -> Connector:
    try:
        connector = connector_for(platform)
    except UnknownPlatform as error:
        raise Http404(str(error)) from None
    if Entity.CUSTOMER not in connector.entities:
        raise Http404(f"{connector.name} does not take customers.")
    return connector


def customer_sync_url(platform: str, customer_id: int) -> str:
    return reverse("admin:connectors_syncjob_customer_sync", args=[platform, customer_id])


def customer_sync_badge(request: HttpRequest, obj: Model) -> str:
    """Is the customer (of this order) on each platform that takes customers: the tick, or
    what is pending or failed; with the button to its sync summary."""
    if not request.user.has_perm(VIEW_JOBS):
        return ""
    customer = obj if isinstance(obj, Customer) else getattr(obj, "customer", None)
    if customer is None or customer.stage != CustomerStage.CUSTOMER:
        return ""
    badges = platform_badges(
        Entity.CUSTOMER,
        lambda platform: customer_sync_status(platform=platform, customer=customer)["customer"],
        lambda platform, connector: {
            "url": customer_sync_url(platform, customer.pk),
            "warnings": connector.warnings(Entity.CUSTOMER, customer),
        },
    )
    if not badges:
        return ""
    return render_to_string(
        "admin/connectors/customer_sync_badge.html", {"badges": badges}, request=request
    )


def _summary_rows(entity: str, states: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for state in states:
        badges = {
            kind: status_badge(job.status, job.get_status_display())
            for kind in ("pending_job", "last_job", "failed_job")
            if (job := state[kind]) is not None
        }
        rows.append(
            {
                **state,
                "bindings": bindings_described(state["platform"], entity, state["bindings"]),
                "badges": badges,
                "url": record_admin_url(entity, state["record"].pk),
                "is_subsite": entity == Entity.SITE and bool(state["record"].parent_id),
            }
        )
    return rows


def customer_sync_view(request: HttpRequest, platform: str, customer_id: int):
    """The summary of a customer on a platform, and the manual sync (POST)."""
    if not request.user.has_perm(VIEW_JOBS):
        raise PermissionDenied(f"The sync summary needs the permission {VIEW_JOBS}.")
    connector = _customer_connector_or_404(platform)
    customer = get_object_or_404(Customer, pk=customer_id)
    if request.method == "POST" and _customer_sync_post(request, connector, customer):
        return HttpResponseRedirect(customer_sync_url(platform, customer.pk))
    state = customer_sync_status(platform=platform, customer=customer)
    synced = state["customer"]["synced"]
    name = connector.name or platform
    context = {
        **admin.site.each_context(request),
        "title": f"Sync {name} Customer: {customer}",
        "opts": SyncJob._meta,
        "platform": platform,
        "platform_name": name,
        "customer": customer,
        "customer_url": record_admin_url(Entity.CUSTOMER, customer.pk),
        "is_lead": customer.stage != CustomerStage.CUSTOMER,
        "exporting": Entity.CUSTOMER in state["exported_entities"],
        "synced": synced,
        "customer_row": _summary_rows(Entity.CUSTOMER, [state["customer"]])[0],
        "sites": _summary_rows(Entity.SITE, state["sites"]),
        "contacts": _summary_rows(Entity.CONTACT, state["contacts"]),
        "warnings": connector.warnings(Entity.CUSTOMER, customer),
        "may_sync": request.user.has_perm(REQUEST_JOBS),
        "may_map": request.user.has_perm(ACT_ON_JOBS) and not synced,
        "search_url": (
            reverse("admin:connectors_syncjob_platform_search", args=[platform, Entity.CUSTOMER])
            if _searchable(connector) and not synced
            else ""
        ),
        "external_id": chosen_external_id(request) if request.method == "POST" else "",
    }
    return TemplateResponse(request, "admin/connectors/customer_sync.html", context)


def chosen_external_id(request: HttpRequest) -> str:
    """The platform record staff chose: a typed id wins over the list's choice."""
    typed = request.POST.get("external_id_typed", "").strip()
    return typed or request.POST.get("external_id", "").strip()


def _customer_sync_post(request: HttpRequest, connector: Connector, customer: Customer) -> bool:
    """Queue the sync the form asked for; True when queued (else a message says why)."""
    if not request.user.has_perm(REQUEST_JOBS):
        raise PermissionDenied(f"Syncing a customer needs the permission {REQUEST_JOBS}.")
    external_id = chosen_external_id(request)
    if external_id and not request.user.has_perm(ACT_ON_JOBS):
        raise PermissionDenied(
            f"Mapping to an existing platform record needs the permission {ACT_ON_JOBS}."
        )
    name = connector.name or connector.identifier
    try:
        job = customer_sync_request(
            platform=connector.identifier,
            customer_id=customer.pk,
            external_id=external_id,
            user=request.user,
            force=request.POST.get("force") == "on",
        )
    except MappingRefused as error:
        messages.error(request, f"Nothing was changed: {error.message}")
        return False
    except SyncError as error:
        messages.error(request, f"Nothing was queued: {error.message}")
        return False
    mapped = f", mapped to {name} record {external_id}" if external_id else ""
    messages.success(
        request,
        format_html(
            'The sync of {} to {}{} is queued as <a href="{}">job #{}</a>; it runs in the '
            "background, and this page shows the tick once it is done.",
            customer,
            name,
            mapped,
            reverse("admin:connectors_syncjob_change", args=[job.pk]),
            job.pk,
        ),
    )
    return True


def platform_search_view(request: HttpRequest, platform: str, entity: str) -> JsonResponse:
    """The platform's records of ``entity`` matching ``q``, as JSON, for the mapping list.

    Answers ``{"results": [{"external_id", "name", "detail"}], "total", "limit"}``, or
    ``{"error": "..."}`` with 502 when the platform could not be asked (the page then
    offers to type the id instead).
    """
    if not request.user.has_perm(REQUEST_JOBS):
        raise PermissionDenied(f"Listing platform records needs the permission {REQUEST_JOBS}.")
    try:
        connector = connector_for(platform)
    except UnknownPlatform as error:
        raise Http404(str(error)) from None
    if entity not in connector.entities or not _searchable(connector):
        raise Http404(f"{connector.name} cannot list its {entity} records.")
    text = request.GET.get("q", "")[:200]
    try:
        client = connector.client()
        try:
            found = connector.search(entity, text, client)
        finally:
            client.close()
    except SyncError as error:
        return JsonResponse({"error": error.message}, status=502)
    if found is None:
        raise Http404(f"{connector.name} cannot list its {entity} records.")
    usable = [record for record in found if not external_id_problem(record.external_id)]
    return JsonResponse(
        {
            "results": [
                {"external_id": r.external_id, "name": r.name, "detail": r.detail}
                for r in usable[:SEARCH_LIMIT]
            ],
            "total": len(usable),
            "limit": SEARCH_LIMIT,
        }
    )
