"""Pushing: one platform record brought in step with one local record, and bound.

Owns the payload hash of the repeated fields (change detection) and ``binding_bind``
(an external id written at once, in its own short transaction, whatever raced it).
The flow that uses them, for every declared platform record, is ``engine.records``'.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError

from ..base import Connector
from ..choices import FieldRule
from ..errors import PermanentError
from ..models import Binding
from ..selectors import binding_remember
from .transactions import savepoint_if_nested

if TYPE_CHECKING:
    pass


def payload_hash(payload: dict[str, Any]) -> str:
    """A stable hash of a payload (keys sorted, dates and decimals as text)."""
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def repeated_fields(connector: Connector, entity: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``payload`` that ``connector`` resends whenever they change."""
    return {k: v for k, v in payload.items() if connector.rule(entity, k) == FieldRule.REPEATED}


def binding_bind(
    binding: Binding, external_id: str, *, payload: dict, digest: str, now: datetime
) -> None:
    """Bind ``binding`` to ``external_id`` with the payload sent and its hash, saved at once
    (a savepoint inside a transaction): a record made meanwhile under the same binding row
    is joined, an id bound to another record is refused naming it."""
    binding.external_id = external_id
    binding.payload = json_safe(payload)
    binding.payload_hash = digest
    binding.first_synced_at = binding.first_synced_at or now
    binding.last_synced_at = now
    try:
        with savepoint_if_nested():
            binding.save()
    except IntegrityError:
        if binding.pk is None and _bind_to_the_row_made_meanwhile(binding):
            return
        clash = Binding.objects.filter(
            platform=binding.platform, role=binding.role, external_id=external_id
        ).first()
        raise PermanentError(
            f"{binding.platform} {binding.role} {external_id} is already bound to "
            f"{clash.entity if clash else '?'} #{clash.object_id if clash else '?'}."
        ) from None
    binding_remember(binding)


def _bind_to_the_row_made_meanwhile(binding: Binding) -> bool:
    """A new binding whose record got a binding row in this role since it was read (staff
    mapping it, an import): write to that row if it holds no other external id."""
    existing = Binding.objects.filter(
        platform=binding.platform,
        role=binding.role,
        entity=binding.entity,
        object_id=binding.object_id,
    ).first()
    if existing is None or existing.external_id not in ("", binding.external_id):
        if existing is not None:
            raise PermanentError(
                f"{binding.platform} {binding.role} of {binding.entity} #{binding.object_id} "
                f"was bound to {existing.external_id} while {binding.external_id} was being "
                "made: check both on the platform, then map the record to the right one."
            )
        return False
    binding.pk = existing.pk
    binding.created_at = existing.created_at
    binding.first_synced_at = existing.first_synced_at or binding.first_synced_at
    try:
        with savepoint_if_nested():
            binding.save()
    except IntegrityError:  # the external id is another record's: the caller says whose
        binding.pk = None
        return False
    binding_remember(binding)
    return True


def json_safe(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as stored in a binding's JSON field (dates and decimals as text)."""
    return json.loads(json.dumps(payload, default=str))
