"""A record's sync state on its own admin page, and what staff do from there: Sync now and
Preview.

The customers and billing apps never import the engine: their change pages render the
panels registered for their models (``layer_sync.admin.register_change_form_panel``), and
this module registers the sync-state panel for every model a connector entity is read
from (customers, sites, contacts, assets). The panel is read-only. Who sees what:

- the panel and the preview need ``connectors.view_syncjob`` (they show jobs);
- Sync now needs ``connectors.add_syncjob``, the permission the API's manual sync asks
  for: it queues a job (``job_request``) and never calls the platform in the request.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from ..base import ENTITY_MODELS, UnknownPlatform, connector_for, entity_model, registered
from ..choices import Entity
from ..engine.queue import job_request
from ..errors import SyncError
from ..models import SyncJob
from ..preview import record_preview
from ..selectors import exporting_platforms, record_sync_state
from .common import (
    ACT_ON_JOBS,
    REQUEST_JOBS,
    VIEW_JOBS,
    bindings_described,
    platform_label,
    record_admin_url,
    record_jobs_url,
    status_badge,
)


def entities_of(model_label: str) -> list[str]:
    """The entities read from a model ("billing.Asset" → asset and charge)."""
    return [entity for entity, label in ENTITY_MODELS.items() if label == model_label]


def _record_urls(platform: str, entity: str, object_id: int) -> dict[str, str]:
    args = [platform, entity, object_id]
    return {
        "sync_url": reverse("admin:connectors_syncjob_sync_now", args=args),
        "preview_url": reverse("admin:connectors_syncjob_preview", args=args),
        "jobs_url": record_jobs_url(platform, entity, object_id),
    }


def sync_state_panel(request: HttpRequest, obj: Model) -> str:
    """Per registered platform that takes the record: its external ids by role with first
    and last sync, the open job, the last finished job and the job in the error queue.

    Empty (no panel) for a user who may not read sync jobs, or when no registered
    connector takes the record.
    """
    if not request.user.has_perm(VIEW_JOBS):
        return ""
    rows: list[dict[str, Any]] = []
    entities = entities_of(obj._meta.label)
    for entity in entities:
        connectors = [c for _, c in sorted(registered().items()) if entity in c.entities]
        if not connectors:
            continue
        exporting = set(exporting_platforms(entity))
        for connector in connectors:
            state = record_sync_state(connector.identifier, entity, obj.pk)
            state["bindings"] = bindings_described(connector.identifier, entity, state["bindings"])
            rows.append(
                {
                    **state,
                    **_record_urls(connector.identifier, entity, obj.pk),
                    "entity": entity,
                    "entity_label": Entity(entity).label.lower(),
                    "platform_name": connector.name or connector.identifier,
                    "exporting": connector.identifier in exporting,
                    "warnings": connector.warnings(entity, obj),
                    "badges": {
                        kind: status_badge(job.status, job.get_status_display())
                        for kind in ("pending_job", "last_job")
                        if (job := state[kind]) is not None
                    },
                }
            )
    if not rows:
        return ""
    return render_to_string(
        "admin/connectors/sync_state_panel.html",
        {
            "rows": rows,
            "may_sync": request.user.has_perm(REQUEST_JOBS),
            # Retry and Map to existing, on a job in the error queue; back here after.
            "may_act": request.user.has_perm(ACT_ON_JOBS),
            "next": request.get_full_path(),
            # An asset is synced as itself and as its charges: say which row is which.
            "show_entity": len(entities) > 1,
        },
        request=request,
    )


def _record_or_404(platform: str, entity: str, object_id: int) -> tuple[Any, Model]:
    try:
        connector = connector_for(platform)
    except UnknownPlatform as error:
        raise Http404(str(error)) from None
    if entity not in connector.entities:
        raise Http404(f"{connector.name} does not take {entity} records.")
    record = entity_model(entity)._default_manager.filter(pk=object_id).first()
    if record is None:
        raise Http404(f"There is no {entity} #{object_id}.")
    return connector, record


def _back_to(platform: str, entity: str, object_id: int) -> str:
    """The record's own page (where the panel is), else the record's jobs."""
    return record_admin_url(entity, object_id) or record_jobs_url(platform, entity, object_id)


@require_POST
def sync_now_view(request: HttpRequest, platform: str, entity: str, object_id: int):
    """Queue a sync of one record (job_request) and go back to its page."""
    if not request.user.has_perm(REQUEST_JOBS):
        raise PermissionDenied(f"Syncing a record needs the permission {REQUEST_JOBS}.")
    connector, record = _record_or_404(platform, entity, object_id)
    try:
        job = job_request(
            platform=platform,
            entity=entity,
            object_id=object_id,
            reason=f"Sync now by {request.user.get_username()}",
            user=request.user,
        )
    except SyncError as error:
        messages.error(request, f"Nothing was queued: {error.message}")
    else:
        messages.success(
            request,
            format_html(
                'The sync of {} on {} is queued as <a href="{}">job #{}</a>; it runs in the '
                "background, and this page shows its outcome when it is done.",
                record,
                connector.name,
                reverse("admin:connectors_syncjob_change", args=[job.pk]),
                job.pk,
            ),
        )
    return HttpResponseRedirect(_back_to(platform, entity, object_id))


def preview_view(request: HttpRequest, platform: str, entity: str, object_id: int):
    """What a sync of one record would send now, field by field (record_preview). Sends
    nothing."""
    if not request.user.has_perm(VIEW_JOBS):
        raise PermissionDenied(f"The preview needs the permission {VIEW_JOBS}.")
    connector, record = _record_or_404(platform, entity, object_id)
    preview = record_preview(platform=platform, entity=entity, object_id=object_id)
    context = {
        **admin.site.each_context(request),
        "title": f"Preview: {record} on {connector.name}",
        "opts": SyncJob._meta,
        "preview": preview,
        "platform_name": platform_label(platform),
        "record_url": record_admin_url(entity, object_id),
        "may_sync": request.user.has_perm(REQUEST_JOBS),
        **_record_urls(platform, entity, object_id),
    }
    return TemplateResponse(request, "admin/connectors/preview.html", context)
