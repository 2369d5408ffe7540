"""Staff and operations actions on jobs and bindings: retry, skip, map, sync a customer.

Owns what the admin, the API and the commands do to the queue by hand: a job put back
(``job_retry``) or taken out of the error queue (``job_skip``), a record bound to an
existing platform record (``binding_map``, with the typed id checked by
``external_id_problem``), and the manual customer sync (``customer_sync_request``).
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..base import connector_for, entity_model, registered
from ..choices import ERROR_STATUSES, Entity, JobStatus, Operation
from ..errors import PermanentError, RecoverableError
from ..models import Binding, SyncJob
from ..redaction import redact
from .publish import changes_enqueue, publish_on_commit
from .queue import job_move_to_pending, job_request


def job_retry(job: SyncJob, *, user: Any = None, reason: str = "") -> SyncJob:
    """Put a failed, aborted or skipped job back in the queue now, attempts reset; or,
    for a job its connector redoes itself (``Connector.job_redo``: Send to Connect), have
    it done again now and return the job that records it."""
    if job.status not in (*ERROR_STATUSES, JobStatus.SKIPPED):
        raise PermanentError(
            f"Job #{job.pk} is {job.get_status_display().lower()}; only failed, aborted or "
            "skipped jobs can be retried."
        )
    connector = registered().get(job.platform)
    redone = connector.job_redo(job, user=user) if connector is not None else None
    if redone is not None:
        return redone
    who = getattr(user, "get_username", lambda: "")()
    job.reason = (f"retried by {who}" if who else f"retried: {reason}" if reason else "retried")[
        :200
    ]
    job.next_attempt_at = timezone.now()
    job.resolved_at = None
    job.blocked_by = None
    target = job_move_to_pending(job, reset_attempts=True) or job
    if target is not job:  # merged into the record's pending job: this one is settled
        SyncJob.objects.filter(pk=job.pk).update(resolved_at=timezone.now())
    publish_on_commit(target.platform, target.entity, target.object_id)
    return target


def job_skip(job: SyncJob, *, user: Any = None, reason: str = "") -> SyncJob:
    """Take a failed or aborted job out of the error queue without sending it."""
    if not job.in_error_queue:
        raise PermanentError(f"Job #{job.pk} is not in the error queue.")
    who = getattr(user, "get_username", lambda: "")() or "staff"
    job.status = JobStatus.SKIPPED
    job.resolved_at = timezone.now()
    job.last_error = redact(
        f"Skipped by {who}{': ' + reason if reason else ''}. Was: {job.last_error}"
    )
    job.save(update_fields=["status", "resolved_at", "last_error", "updated_at"])
    return job


EXTERNAL_ID_MAX_LENGTH = Binding._meta.get_field("external_id").max_length
# Ids go into API paths: letters, digits and . _ - : @ + only, so none can leave them.
EXTERNAL_ID_PATTERN = re.compile(r"[\w.:@+-]+", re.ASCII)


def external_id_problem(external_id: str) -> str:
    """Why a platform record id typed by staff cannot be used ("" when it can)."""
    if not external_id:
        return "Give the external id of the platform record to map to."
    if len(external_id) > EXTERNAL_ID_MAX_LENGTH:
        return (
            f"An external id is at most {EXTERNAL_ID_MAX_LENGTH} characters; "
            f"this one has {len(external_id)}."
        )
    if not EXTERNAL_ID_PATTERN.fullmatch(external_id) or set(external_id) == {"."}:
        return (
            f'"{external_id[:40]}" is not a platform record id: use letters, digits and '
            ". _ - : @ + only."
        )
    return ""


def binding_map(
    *,
    platform: str,
    entity: str,
    object_id: int,
    external_id: str,
    role: str | None = None,
    user: Any = None,
) -> Binding:
    """Bind a local record to an existing platform record, then queue a sync to update it.

    Refused when that external id is bound to another record already, or the
    record is bound to a different one.
    """
    connector = connector_for(platform)
    external_id = (external_id or "").strip()
    problem = external_id_problem(external_id)
    if problem:
        raise PermanentError(problem)
    if entity not in connector.entities:
        raise PermanentError(f"{connector.name} does not take {entity} records.")
    record = entity_model(entity)._default_manager.filter(pk=object_id).first()
    if record is None:
        raise PermanentError(f"There is no {entity} #{object_id}.")
    role = role or connector.role(entity, record)
    if not Binding.objects.filter(
        platform=platform, role=role, entity=entity, object_id=object_id, external_id=external_id
    ).exists():
        # The platform record must exist before anything says the record is on it (the
        # connector's own get call; a platform that cannot tell is taken on trust).
        try:
            exists = connector.record_exists(entity, external_id)
        except RecoverableError as error:
            raise PermanentError(
                f"{connector.name} could not be asked whether {role} {external_id} exists "
                f"({error}): try again."
            ) from None
        if exists is False:
            raise PermanentError(
                f"{connector.name} has no {role} {external_id}: check the id on "
                f"{connector.name}, or sync without one to create the record."
            )
    with transaction.atomic():
        clash = (
            Binding.objects.filter(platform=platform, role=role, external_id=external_id)
            .exclude(entity=entity, object_id=object_id)
            .first()
        )
        if clash is not None:
            raise PermanentError(
                f"{connector.name} {role} {external_id} is already mapped to {clash.entity} "
                f"#{clash.object_id}."
            )
        binding, _ = Binding.objects.select_for_update().get_or_create(
            platform=platform, role=role, entity=entity, object_id=object_id
        )
        if binding.external_id and binding.external_id != external_id:
            raise PermanentError(
                f"This {entity} is already mapped to {connector.name} {role} "
                f"{binding.external_id}; it cannot be remapped to {external_id}."
            )
        now = timezone.now()
        binding.external_id = external_id
        binding.payload = {}
        binding.payload_hash = ""  # the next sync sends every repeated field
        binding.first_synced_at = binding.first_synced_at or now
        binding.save()
        # Failed jobs of the record leave the error queue; a new one sends the update.
        SyncJob.objects.filter(
            platform=platform,
            entity=entity,
            object_id=object_id,
            status__in=ERROR_STATUSES,
            resolved_at__isnull=True,
        ).update(resolved_at=now, operation=Operation.MAPPED)
        who = getattr(user, "get_username", lambda: "")()
        changes_enqueue(
            entity=entity,
            object_ids=[object_id],
            reason=f"mapped to {external_id}" + (f" by {who}" if who else ""),
            platforms=[platform],
        )
    return binding


class MappingRefused(PermanentError):
    """The platform record staff named cannot be mapped (see ``binding_map``)."""


def customer_sync_request(
    *,
    platform: str,
    customer_id: int,
    user: Any,
    external_id: str = "",
    force: bool = False,
) -> SyncJob:
    """A manual sync of a customer (seed 000's "Sync Abillity Customer"), queued.

    With ``external_id`` the customer is first mapped to that existing platform
    record, so the sync updates it instead of creating one. One transaction: a
    refused request leaves no mapping behind. Raises ``MappingRefused`` for an
    id that cannot be mapped, ``ConfigurationError`` when the platform does not
    export customers now, ``PermanentError`` when it never takes them.
    """
    with transaction.atomic():
        if external_id:
            try:
                binding_map(
                    platform=platform,
                    entity=Entity.CUSTOMER,
                    object_id=customer_id,
                    external_id=external_id,
                    user=user,
                )
            except PermanentError as error:
                raise MappingRefused(error.message) from None
        return job_request(
            platform=platform,
            entity=Entity.CUSTOMER,
            object_id=customer_id,
            reason=f"manual sync by {user.get_username()}",
            user=user,
            force=force,
        )
