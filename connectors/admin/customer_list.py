"""The customer list's *Sync* column: per platform, whether each customer is on it, queued,
or failed (in the error queue), with the legend of its symbols above the list.

Read from the list's own query (EXISTS subqueries on the bindings' and jobs' record
indexes), so a page of customers costs one query however many rows and platforms it
has. The states are the customer page's tick's (``customer_sync_badge``): a binding with
an external id means the customer is on the platform; an open job means a sync is
queued; an unresolved failed or aborted job means it is in the error queue.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.html import format_html, format_html_join

from customers.choices import CustomerStage
from customers.models import Customer
from layer_sync.admin import ChangelistColumn

from ..base import registered
from ..choices import ERROR_STATUSES, Entity, JobStatus
from ..models import Binding, SyncJob
from .common import VIEW_JOBS

OPEN_STATUSES = (JobStatus.PENDING, JobStatus.IN_FLIGHT)

# state → (symbol, what it means): the cells' symbols and the legend, from one table.
STATES = {
    "failed": ("✖", "failed: in the error queue (open the customer to retry)"),
    "queued": ("◷", "a sync is queued"),
    "on": ("✔", "on the platform"),
    "off": ("○", "not on the platform yet"),
}


def _platforms() -> list[tuple[str, str]]:
    """(identifier, name) of every registered platform, in name order."""
    return sorted(
        (
            (identifier, connector.name or identifier)
            for identifier, connector in registered().items()
        ),
        key=lambda pair: pair[1],
    )


def _field(identifier: str, state: str) -> str:
    return f"sync_{identifier}_{state}"


def customer_sync_annotate(queryset: QuerySet[Customer]) -> QuerySet[Customer]:
    """Per platform: is the customer on it, queued, in the error queue (subqueries)."""
    annotations = {}
    for identifier, _name in _platforms():
        record = Q(platform=identifier, entity=Entity.CUSTOMER, object_id=OuterRef("pk"))
        jobs = SyncJob.objects.filter(record)
        annotations[_field(identifier, "on")] = Exists(
            Binding.objects.filter(record).exclude(external_id="")
        )
        annotations[_field(identifier, "queued")] = Exists(jobs.filter(status__in=OPEN_STATUSES))
        annotations[_field(identifier, "failed")] = Exists(
            jobs.filter(status__in=ERROR_STATUSES, resolved_at__isnull=True)
        )
    return queryset.annotate(**annotations)


def customer_sync_state(customer: Customer, identifier: str) -> str:
    """One of STATES' keys for an annotated customer: what staff must see first first."""
    for state in ("failed", "queued", "on"):
        if getattr(customer, _field(identifier, state), False):
            return state
    return "off"


def customer_sync_cell(customer: Customer) -> str:
    if customer.stage != CustomerStage.CUSTOMER:
        return format_html('<span class="help">{}</span>', "a lead: synced once converted")
    rows = []
    for identifier, name in _platforms():
        state = customer_sync_state(customer, identifier)
        symbol, meaning = STATES[state]
        rows.append((state, identifier, f"{name}: {meaning}", symbol, name))
    return format_html_join(
        "",
        '<div class="sync-mark-row" data-platform="{1}" data-sync-state="{0}">'
        '<span class="sync-mark sync-mark-{0}" title="{2}" aria-label="{2}">{3}</span> {4}</div>',
        rows,
    )


def customer_sync_legend() -> str:
    return render_to_string(
        "admin/connectors/customer_list_legend.html",
        {"states": [(state, symbol, meaning) for state, (symbol, meaning) in STATES.items()]},
    )


def customer_sync_visible(request: HttpRequest) -> bool:
    return request.user.has_perm(VIEW_JOBS)


# The customer list's Sync column (registered by ``connectors.admin.admin_panels_register``).
CUSTOMER_SYNC_COLUMN = ChangelistColumn(
    name="platform_sync",
    header="sync",
    annotate=customer_sync_annotate,
    render=customer_sync_cell,
    legend=customer_sync_legend,
    visible=customer_sync_visible,
)
