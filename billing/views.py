"""The Billing Export page (seed 002's app): staff with "Apps - Change Queue" pick a billing
route, search and page through the lines Ready to Bill on it, select lines (or every line
that matches), download the CLI file then the product file, and transfer the lines to
billing after confirming. Thin: the work is ``billing.export``'s.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from . import direct_routes, export, selectors
from .api.export import export_filename, export_response
from .bill_status import asset_bill_start_date
from .choices import PlatformCode
from .models import BILLING_APPS_PERMISSION, BillingPlatform

PAGE_SIZE = 100


def _check_permission(request: HttpRequest) -> None:
    if not request.user.is_staff or not request.user.has_perm(BILLING_APPS_PERMISSION):
        raise PermissionDenied(
            f"The Billing Export needs the permission {BILLING_APPS_PERMISSION} "
            '("Apps - Change Queue").'
        )


def _routes() -> list[BillingPlatform]:
    return list(BillingPlatform.objects.exclude(code=PlatformCode.THE_LAYER).order_by("name"))


def _route(code: str, routes: list[BillingPlatform]) -> BillingPlatform:
    for route in routes:
        if route.code == code:
            return route
    return routes[0]


def _selected(request: HttpRequest, route: BillingPlatform) -> list[int]:
    """The lines a POST names: every line matching the search (``all``), or those ticked."""
    if request.POST.get("all") == "1":
        lines = selectors.billing_export_lines(route=route, search=request.POST.get("q", ""))
        return list(lines.values_list("pk", flat=True))
    return export.line_ids_parse(request.POST.getlist("lines")) or []


def _back(route: BillingPlatform, search: str) -> str:
    query = {"route": route.code, **({"q": search} if search else {})}
    return f"{reverse('billing-export')}?{urlencode(query)}"


@login_required
@require_http_methods(["GET", "POST"])
def billing_export_view(request: HttpRequest) -> HttpResponse:
    _check_permission(request)
    routes = _routes()
    source = request.POST if request.method == "POST" else request.GET
    route = _route(source.get("route", PlatformCode.AFFINITY), routes)
    search = source.get("q", "").strip()[:100]
    if request.method == "POST":
        return _act(request, route, search)
    lines = selectors.billing_export_lines(route=route, search=search)
    page = Paginator(lines, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "line": line,
            "cli": selectors.line_cli(line),
            "bill_start": asset_bill_start_date(line.asset) if hasattr(line, "asset") else None,
        }
        for line in page.object_list
    ]
    context = {
        **admin.site.each_context(request),
        "title": "Billing Export",
        "routes": routes,
        "route": route,
        "search": search,
        "page": page,
        "rows": rows,
        "excluded": selectors.product_file_exclusions(lines, route)[:200],
        "excluded_count": selectors.product_file_exclusion_count(lines, route),
        "direct": direct_routes.direct_route(route) is not None,
    }
    return render(request, "billing/billing_export.html", context)


def _act(request: HttpRequest, route: BillingPlatform, search: str) -> HttpResponse:
    action = request.POST.get("action", "")
    try:
        ids = _selected(request, route)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return HttpResponseRedirect(_back(route, search))
    if not ids:
        messages.warning(request, "Select the lines first (or tick every line that matches).")
        return HttpResponseRedirect(_back(route, search))
    if request.POST.get("all") == "1":  # the search itself, not a long list of ids
        lines = selectors.billing_export_lines(route=route, search=search)
    else:
        lines = selectors.billing_export_lines(route=route, line_ids=ids)
    if action == "cli":
        return export_response(selectors.cli_file(lines), export_filename(route, "cli"))
    if action == "products":
        file = selectors.product_file(lines, route)
        return export_response(file, export_filename(route, "products"))
    if action == "transfer":
        return render(
            request,
            "billing/billing_export_confirm.html",
            {
                **admin.site.each_context(request),
                "title": "Transfer to Billing: confirm",
                "route": route,
                "search": search,
                "all": request.POST.get("all") == "1",
                "ids": ids,
                "count": len(ids),
                # The same rule the transfer applies: what it names is refused.
                "refusals": selectors.transfer_refusals(route=route, line_ids=ids)[:50],
            },
        )
    if action == "transfer_confirmed":
        try:
            transfer = export.billing_transfer(route=route, line_ids=ids, user=request.user)
        except ValidationError as error:
            messages.error(request, "Nothing was transferred: " + " ".join(error.messages[:20]))
            return HttpResponseRedirect(_back(route, search))
        if transfer.deferred:
            messages.success(
                request,
                ngettext(
                    "Sent %(count)d line to %(route)s (transfer #%(transfer)d): it becomes In "
                    "Billing once %(route)s accepts it. Follow it in the Sync History; a refusal "
                    "is in its error queue.",
                    "Sent %(count)d lines to %(route)s (transfer #%(transfer)d): each becomes In "
                    "Billing once %(route)s accepts it. Follow them in the Sync History; "
                    "refusals are in its error queue.",
                    len(ids),
                )
                % {"count": len(ids), "route": route, "transfer": transfer.pk},
            )
        else:
            messages.success(
                request,
                transferred_text(transfer.items.count(), len(ids), route, transfer.pk),
            )
        return HttpResponseRedirect(_back(route, search))
    messages.error(request, f'Unknown action "{action[:20]}".')
    return HttpResponseRedirect(_back(route, search))


def transferred_text(components: int, lines: int, route, transfer_id: int) -> str:
    """ "Transferred 1 component of 1 line to …", each count in its own plural form."""
    parts = {
        "components": ngettext("%(n)d component", "%(n)d components", components)
        % {"n": components},
        "lines": ngettext("%(n)d line", "%(n)d lines", lines) % {"n": lines},
    }
    verb = ngettext("it is", "they are", components)
    return (
        f"Transferred {parts['components']} of {parts['lines']} to {route}: {verb} In Billing "
        f"(transfer #{transfer_id})."
    )
