"""Platform records: what a connector declares, and the one flow that pushes each.

A connector keeps one or more platform records per local record (Abillity: a company and
its billing site for a customer; a billing ID and up to two charges for an asset). It
declares each as a ``PlatformRecord``: its role, the entity it comes from, its field
rules, and how to build its payload, find it on the platform, create and update it.
``record_push`` is the only place that applies the rules:

1. the payload is built and its **repeated** fields hashed; a bound record whose hash
   is unchanged sends nothing (*no change*), unless the job is forced;
2. a bound record is updated with its repeated fields (or only those that changed,
   ``sends_changed``), and the binding keeps the payload sent and its hash;
3. an unbound record is **looked up first** (a retry after a create whose answer was
   lost finds it), bound at once with no payload, updated and bound with the payload;
   one bound to another local record is used, not taken over, when ``shared``;
4. otherwise it is **created** and its external id bound at once, in its own short
   transaction, so neither a retry nor a crash can create it twice.

A job's operation is its records' operations combined by ``operations_combined``: one
precedence, *ceased* over *inserted* over *updated* over none (docs/sync-engine.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils import timezone

from ..choices import FieldRule, Operation
from ..models import Binding
from .push import binding_bind, json_safe, payload_hash

if TYPE_CHECKING:
    from .run import SyncContext

Payload = dict[str, Any]

# One precedence for every connector: a cease is what staff most need to see, then a
# record made, then one changed.
OPERATION_PRECEDENCE: tuple[Operation, ...] = (
    Operation.CEASED,
    Operation.INSERTED,
    Operation.UPDATED,
)


def operations_combined(operations: Iterable[str]) -> Operation:
    """The operation of a job that pushed several platform records (``OPERATION_PRECEDENCE``)."""
    done = set(operations)
    for operation in OPERATION_PRECEDENCE:
        if operation in done:
            return operation
    return Operation.NONE


@dataclass(frozen=True)
class PlatformRecord:
    """One platform record a connector keeps for a local record, as the engine pushes it.

    The callables get the job's ``SyncContext`` (its client, its notes, the ids of the
    records pushed before in the job: ``context.record_ids``) and the local record:

    - ``payload(context, record)``: every field sent (one-off and repeated), or None when
      the record has no such platform record (an asset without a number, say); the
      context is None in a preview (nothing is sent: no notes, no checks that refuse);
    - ``lookup(context, record, payload)``: the external id of the platform record that
      matches by natural key, or None; called before every create;
    - ``create(context, record, payload)``: make it, return its external id;
    - ``update(context, record, external_id, body)``: send ``body`` (repeated fields).

    ``fields`` names each field's rule (fields not named are repeated). ``depends_on``
    names the roles pushed before this one in the same job (their ids are in
    ``context.record_ids``); the entities a record needs synced first are the
    connector's ``dependencies``.
    """

    role: str
    entity: str
    payload: Callable[[SyncContext, models.Model], Payload | None]
    create: Callable[[SyncContext, models.Model, Payload], str]
    update: Callable[[SyncContext, models.Model, str, Payload], None]
    lookup: Callable[[SyncContext, models.Model, Payload], str | None] | None = None
    fields: Mapping[str, FieldRule] = field(default_factory=dict)
    depends_on: Sequence[str] = ()
    # How staff read it in notes ("billing ID"); the role, spaced, when empty.
    label: str = ""
    # An update sends only the repeated fields that differ from those last sent (all of
    # them when forced), and nothing when none do; else every repeated field.
    sends_changed: bool = False
    # Fields sent with every update, changed or not (a platform that requires them).
    always_sent: Sequence[str] = ()
    # A found platform record bound to another local record in this role is used as it
    # is (two assets on one number share a billing ID), not taken over or refused.
    shared: bool = False
    # Whether an update ends the platform record (``payload``, the payload sent before):
    # the operation is then *ceased*.
    ends: Callable[[models.Model, Payload, Payload], bool] | None = None
    # Sent once: a bound record is neither built nor sent again (billing details).
    once: bool = False
    # Made in two steps (a platform that creates a record from a few fields, then takes
    # the rest): once created or found it is bound with no payload, then ``complete``
    # sends the rest and the payload is bound; a record left bound without one (a
    # failure between the steps) is completed by the next push. Completing is *inserted*.
    complete: Callable[[SyncContext, models.Model, str, Payload], None] | None = None
    # Other bindings, as (role, entity, object id), that name the same platform record
    # from its first binding on (the customer's billing site is one of its sites).
    also_binds: (
        Callable[[SyncContext, models.Model, Payload], Sequence[tuple[str, str, int]]] | None
    ) = None

    def rule(self, name: str) -> FieldRule:
        return FieldRule(self.fields.get(name, FieldRule.REPEATED))

    def repeated(self, payload: Payload) -> Payload:
        """The fields resent whenever they change (the rest go on creation only)."""
        return {k: v for k, v in payload.items() if self.rule(k) == FieldRule.REPEATED}

    @property
    def called(self) -> str:
        return self.label or self.role.replace("_", " ")


def record_push(
    context: SyncContext,
    declared: PlatformRecord,
    *,
    record: models.Model | None = None,
    payload: Payload | None = None,
) -> Operation:
    """Bring one declared platform record in step with its local record (the job's record
    unless given); return the operation. Its external id goes in ``context.record_ids``
    (and is the job's when it is the record's main one: the connector's ``role``)."""
    connector = context.connector
    record = record if record is not None else context.record
    binding = context.binding(declared.role, declared.entity, record.pk)
    if declared.once and binding.external_id:
        context.record_ids[declared.role] = binding.external_id
        return Operation.NONE
    if payload is None:
        payload = declared.payload(context, record)
    if payload is None:
        return Operation.NONE
    repeated = declared.repeated(payload)
    digest = payload_hash(repeated)
    is_main = (
        declared.entity == context.entity
        and record.pk == context.record.pk
        and declared.role == connector.role(context.entity, context.record)
    )
    now = timezone.now()
    if binding.external_id:
        context.record_ids[declared.role] = binding.external_id
        if is_main:
            context.external_id = binding.external_id
        if declared.complete is not None and not binding.payload:
            return _complete(context, declared, record, binding, payload, digest)
        if binding.payload_hash == digest and not context.job.force:
            return Operation.NONE
        return _update_bound(context, declared, record, binding, payload, repeated, digest)
    external_id = declared.lookup(context, record, payload) if declared.lookup else None
    if declared.complete is not None:
        if not external_id:
            external_id = str(declared.create(context, record, payload))
            context.created.add(declared.role)
        binding_bind(binding, external_id, payload={}, digest="", now=now)
        for role, entity, object_id in (
            declared.also_binds(context, record, payload) if declared.also_binds else ()
        ):
            binding_bind(
                context.binding(role, entity, object_id),
                external_id,
                payload={},
                digest="",
                now=now,
            )
        context.record_ids[declared.role] = external_id
        if is_main:
            context.external_id = external_id
        return _complete(context, declared, record, binding, payload, digest)
    if external_id:
        owner = _bound_elsewhere(binding, external_id) if declared.shared else None
        if owner is not None:
            context.record_ids[declared.role] = external_id
            context.notes.append(
                f"Uses the existing {declared.called} {external_id} of {owner.entity} "
                f"#{owner.object_id} on {connector.name}."
            )
            return Operation.NONE
        binding_bind(binding, external_id, payload={}, digest="", now=now)
        if repeated or not declared.sends_changed:
            declared.update(context, record, external_id, repeated)
        context.notes.append(
            f"Found the existing {declared.called} {external_id} on {connector.name}."
        )
        operation = Operation.UPDATED
    else:
        external_id = str(declared.create(context, record, payload))
        context.created.add(declared.role)
        operation = Operation.INSERTED
    binding_bind(binding, str(external_id), payload=payload, digest=digest, now=now)
    context.record_ids[declared.role] = binding.external_id
    if is_main:
        context.external_id = binding.external_id
    return operation


def _complete(
    context: SyncContext,
    declared: PlatformRecord,
    record: models.Model,
    binding: Binding,
    payload: Payload,
    digest: str,
) -> Operation:
    declared.complete(context, record, binding.external_id, payload)
    binding_bind(binding, binding.external_id, payload=payload, digest=digest, now=timezone.now())
    return Operation.INSERTED


def _update_bound(
    context: SyncContext,
    declared: PlatformRecord,
    record: models.Model,
    binding: Binding,
    payload: Payload,
    repeated: Payload,
    digest: str,
) -> Operation:
    before = dict(binding.payload)
    body = repeated
    if declared.sends_changed:
        known = {} if context.job.force else before
        body = {k: v for k, v in repeated.items() if k not in known or known[k] != v}
    body = {**{name: payload[name] for name in declared.always_sent if name in payload}, **body}
    operation = Operation.NONE
    if body or not declared.sends_changed:
        declared.update(context, record, binding.external_id, body)
        operation = Operation.UPDATED
        if declared.ends is not None and declared.ends(record, payload, before):
            operation = Operation.CEASED
    binding.payload = json_safe({**before, **repeated})
    binding.payload_hash = digest
    binding.last_synced_at = timezone.now()
    binding.save(update_fields=["payload", "payload_hash", "last_synced_at", "updated_at"])
    return operation


def _bound_elsewhere(binding: Binding, external_id: str) -> Binding | None:
    """The binding of another local record to ``external_id`` in the same role, if any."""
    return (
        Binding.objects.filter(
            platform=binding.platform, role=binding.role, external_id=external_id
        )
        .exclude(entity=binding.entity, object_id=binding.object_id)
        .first()
    )


def records_push(
    context: SyncContext, declared: Iterable[PlatformRecord], *, record: models.Model | None = None
) -> Operation:
    """Push each declared record in turn (each after those it ``depends_on``); return the
    job's operation (``operations_combined``)."""
    return operations_combined(
        record_push(context, platform_record, record=record) for platform_record in declared
    )


def connector_record(connector: Any, entity: str, role: str) -> PlatformRecord:
    """The platform record of a connector that implements the single-record methods
    (``build_payload``, ``lookup``, ``create``, ``update``, ``rule``)."""
    return PlatformRecord(
        role=role,
        entity=entity,
        payload=lambda context, record: connector.build_payload(entity, record),
        lookup=lambda context, record, payload: connector.lookup(
            entity, record, payload, context.client
        ),
        create=lambda context, record, payload: connector.create(
            entity, record, payload, context.client
        ),
        update=lambda context, record, external_id, body: connector.update(
            entity, record, external_id, body, context.client
        ),
        fields=_ConnectorRules(connector, entity),
    )


class _ConnectorRules(Mapping[str, FieldRule]):
    """A connector's ``rule(entity, field)`` as a declaration's field rules."""

    def __init__(self, connector: Any, entity: str) -> None:
        self.connector, self.entity = connector, entity

    def get(self, name: str, default: Any = None) -> FieldRule:
        return self.connector.rule(self.entity, name)

    def __getitem__(self, name: str) -> FieldRule:
        return self.get(name)

    def __iter__(self):
        return iter(self.connector.field_rules.get(self.entity, {}))

    def __len__(self) -> int:
        return len(self.connector.field_rules.get(self.entity, {}))


def push_single(
    context: SyncContext,
    *,
    role: str,
    entity: str | None = None,
    record: models.Model | None = None,
    payload: Payload | None = None,
) -> Operation:
    """The default flow of a connector's single record (``Connector.push``): its
    ``build_payload``, ``lookup``, ``create`` and ``update`` as one ``PlatformRecord``."""
    entity = entity or context.entity
    declared = connector_record(context.connector, entity, role)
    return record_push(context, declared, record=record, payload=payload)
