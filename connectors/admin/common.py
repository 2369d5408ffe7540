"""What the sync engine's admin pages share: permissions, links to records, status badges
and the platform filter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import BooleanField, Case, Exists, OuterRef, QuerySet, Value, When
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from ..base import ENTITY_MODELS, Connector, entity_model, platform_choices, registered
from ..choices import JobStatus, role_label
from ..models import Binding
from ..selectors import exporting_platforms

# Reading jobs, sync states and previews; queuing a sync (the "add" of a job: the same
# permission the API's manual sync asks for); acting on the error queue.
VIEW_JOBS = "connectors.view_syncjob"
REQUEST_JOBS = "connectors.add_syncjob"
ACT_ON_JOBS = "connectors.retry_syncjob"

# A status's badge colour: done (green), waiting (blue), needs staff (red), set aside (grey).
STATUS_TONES = {
    JobStatus.SUCCEEDED: "done",
    JobStatus.NO_CHANGE: "done",
    JobStatus.PENDING: "waiting",
    JobStatus.IN_FLIGHT: "waiting",
    JobStatus.FAILED: "error",
    JobStatus.ABORTED: "error",
    JobStatus.FILTERED: "aside",
    JobStatus.SKIPPED: "aside",
    JobStatus.DELETED: "aside",
}


def status_badge(status: str, label: str) -> str:
    return format_html(
        '<span class="sync-status sync-status-{}">{}</span>', STATUS_TONES.get(status, ""), label
    )


def platform_name(identifier: str) -> str:
    """The platform as staff know it: its connector's name (its identifier if none)."""
    connector = registered().get(identifier)
    return (connector.name if connector else "") or identifier


def platform_label(identifier: str) -> str:
    """A platform as staff know it: its connector's name and identifier."""
    connector = registered().get(identifier)
    if connector is None:
        return f"{identifier} (no connector registered)"
    return f"{connector.name or identifier} ({identifier})"


def record_exists() -> Case:
    """An annotation for rows with ``entity`` and ``object_id``: whether the record is still
    there (one subquery per row, so a list of jobs links to records without a query each)."""
    return Case(
        *(
            When(
                entity=entity,
                then=Exists(entity_model(entity)._default_manager.filter(pk=OuterRef("object_id"))),
            )
            for entity in ENTITY_MODELS
        ),
        default=Value(False),
        output_field=BooleanField(),
    )


def record_admin_url(entity: str, object_id: int, site: admin.AdminSite = admin.site) -> str:
    """The admin page of a local record ("" when its model has no admin page)."""
    model = entity_model(entity)
    if not site.is_registered(model):
        return ""
    try:
        return reverse(
            f"{site.name}:{model._meta.app_label}_{model._meta.model_name}_change",
            args=[object_id],
        )
    except NoReverseMatch:
        return ""


def record_jobs_url(platform: str, entity: str, object_id: int) -> str:
    """The Sync History narrowed to one record's jobs on one platform."""
    query = urlencode({"platform": platform, "entity__exact": entity, "object_id": object_id})
    return f"{reverse('admin:connectors_syncjob_changelist')}?{query}"


def record_link(row, label: str, site: admin.AdminSite = admin.site) -> str:
    """``label`` linking to the admin page of a job's or binding's record, when it exists
    (the row carries the ``record_exists`` annotation)."""
    url = record_admin_url(row.entity, row.object_id, site) if row.record_exists else ""
    if not url:
        return label
    return format_html('<a href="{}">{}</a>', url, label)


class PlatformFilter(admin.SimpleListFilter):
    """Platforms by their connector's name (registered ones: no query to list them)."""

    title = "platform"
    parameter_name = "platform"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin):
        return platform_choices()

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(platform=value) if value else queryset


def platform_badges(
    entity: str,
    state_of: Callable[[str], dict[str, Any]],
    extra: Callable[[str, Connector], dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The ticks at the top of a record's page: per platform taking ``entity``, the record's
    sync state (``state_of(platform)``) and external ids, plus ``extra`` of each. A
    platform whose integration is off and that never had the record is left out."""
    exporting = set(exporting_platforms(entity))
    badges: list[dict[str, Any]] = []
    for identifier, connector in sorted(registered().items()):
        if entity not in connector.entities:
            continue
        state = state_of(identifier)
        if not state["bindings"] and identifier not in exporting:
            continue
        badges.append(
            {
                "name": connector.name or identifier,
                "state": state,
                "external_ids": [b["external_id"] for b in state["bindings"] if b["external_id"]],
                **(extra(identifier, connector) if extra else {}),
            }
        )
    return badges


def bindings_described(platform: str, entity: str, bindings: list[dict[str, Any]]) -> list[dict]:
    """A record's bindings (``record_sync_state``'s dicts) for staff: each with ``label``,
    its role as staff read it, and ``record_name``, the local record a role points at when
    it names one of another kind ("" otherwise).

    A role ``<qualifier>_<role>`` whose external id is also bound, on the same platform, to
    a record of another entity in the role ``<role>`` names that record: a customer's
    ``billing_site`` 1 is the site bound as ``site`` 1, so staff read "Billing site: Leeds
    Head Office" rather than a role and a number. Two queries, however many bindings.
    """
    ids = {b["external_id"] for b in bindings if b["external_id"]}
    others = (
        Binding.objects.filter(platform=platform, external_id__in=ids)
        .exclude(entity=entity)
        .values_list("role", "entity", "object_id", "external_id")
        if ids
        else []
    )
    pointed: dict[tuple[str, str], tuple[str, int]] = {}
    for role, other_entity, object_id, external_id in others:
        pointed[(role, external_id)] = (other_entity, object_id)
    wanted: dict[str, set[int]] = {}
    targets: dict[int, tuple[str, int]] = {}
    for index, binding in enumerate(bindings):
        role, external_id = binding["role"], binding["external_id"]
        for (other_role, other_id), target in pointed.items():
            if other_id == external_id and role.endswith(f"_{other_role}"):
                targets[index] = target
                wanted.setdefault(target[0], set()).add(target[1])
    names = {
        (other_entity, pk): str(record)
        for other_entity, pks in wanted.items()
        for pk, record in entity_model(other_entity)._default_manager.in_bulk(pks).items()
    }
    return [
        {
            **binding,
            "label": role_label(binding["role"]),
            "record_name": names.get(targets[index], "") if index in targets else "",
        }
        for index, binding in enumerate(bindings)
    ]
