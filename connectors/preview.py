"""Preview (dry run): what a sync would send now, field by field, without sending it.

For each platform record a local record maps to (its *parts*: one by
default; a connector whose record makes several platform records lists them
in ``Connector.preview_parts``), the preview compares the payload a sync
would build now with what the platform last received (the binding's
payload) and says, per field, whether it changed and whether it would be
sent: on a create every field goes; on an update only repeated fields that
changed; one-off fields never after creation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .base import connector_for, entity_model
from .choices import FieldRule, role_label
from .errors import SyncError
from .selectors import (
    FilterUnusable,
    binding_for,
    export_filters,
    platform_exports,
    record_excluded_by,
)


@dataclass(frozen=True)
class FieldChange:
    field: str
    rule: str
    sent: Any  # what the platform last received (None: never sent)
    now: Any  # what a sync would build now
    changed: bool
    will_send: bool


@dataclass
class PartPreview:
    role: str
    entity: str
    object_id: int
    external_id: str
    action: str  # "create", "update" or "no change"
    fields: list[FieldChange] = field(default_factory=list)

    @property
    def role_label(self) -> str:
        return role_label(self.role)


@dataclass
class SyncPreview:
    platform: str
    entity: str
    object_id: int
    record: str
    action: str  # "create", "update", "no change", "filtered" or "refused"
    filtered_by: str = ""
    problems: list[str] = field(default_factory=list)
    parts: list[PartPreview] = field(default_factory=list)


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


def part_preview(connector, role: str, entity: str, record, payload: dict[str, Any]) -> PartPreview:
    binding = binding_for(connector.identifier, role, entity, record.pk)
    payload = _jsonable(payload)
    external_id = binding.external_id if binding else ""
    sent = binding.payload if binding and binding.external_id else {}
    changes = []
    for name, value in payload.items():
        rule = connector.rule(entity, name)
        was = sent.get(name) if name in sent else None
        if not external_id:
            changed, will_send = True, True
        else:
            changed = name not in sent or was != value
            will_send = changed and rule == FieldRule.REPEATED
        changes.append(FieldChange(name, rule, was, value, changed, will_send))
    if not external_id:
        action = "create"
    elif any(c.will_send for c in changes) or (binding and not binding.payload_hash):
        action = "update"
    else:
        action = "no change"
    return PartPreview(role, entity, record.pk, external_id, action, changes)


def record_preview(*, platform: str, entity: str, object_id: int) -> SyncPreview:
    """The field-level difference a sync of one record would make now. Sends nothing.

    Raises UnknownPlatform for an unregistered platform and SyncError for a
    record that does not exist or an entity the platform does not take.
    """
    connector = connector_for(platform)
    if entity not in connector.entities:
        raise SyncError(f"{connector.name} does not take {entity} records.")
    record = entity_model(entity)._default_manager.filter(pk=object_id).first()
    if record is None:
        raise SyncError(f"There is no {entity} #{object_id}.")
    preview = SyncPreview(
        platform, entity, object_id, connector.describe(entity, record), action="no change"
    )
    if not platform_exports(platform, entity):
        preview.problems.append(
            f"The {connector.name} integration is off or its {entity} entity is not exported: "
            "nothing would be sent."
        )
    not_taken = connector.skip_reason(entity, record)
    if not_taken:
        preview.problems.append(f"Not sent: {not_taken}")
    try:
        excluded = record_excluded_by(record, export_filters(platform, entity))
    except FilterUnusable as exc:
        preview.problems.append(str(exc))
        excluded = None
    if excluded is not None:
        preview.action = "filtered"
        preview.filtered_by = f"Excluded by the export filter: {excluded}"
        return preview
    preview.problems.extend(connector.missing_key_fields(entity, record))
    try:
        parts = connector.preview_parts(entity, record)
    except SyncError as exc:
        preview.problems.append(exc.message)
        parts = []
    preview.parts = [part_preview(connector, *part) for part in parts]
    if preview.problems and not preview.parts:
        preview.action = "refused"
    elif any(p.action == "create" for p in preview.parts):
        preview.action = "create"
    elif any(p.action == "update" for p in preview.parts):
        preview.action = "update"
    if preview.problems and preview.action != "filtered":
        preview.action = "refused"
    return preview
