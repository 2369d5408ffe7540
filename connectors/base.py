"""The connector base class and the registry of connectors.

A connector is the engine's view of one platform. It subclasses
``Connector``, sets a stable ``identifier`` (``abillity``, ``affinity``,
``connect``) and is registered (``register``) from its platform's ``AppConfig.ready``
(``connectors.apps.PlatformConfig``). The engine calls it to:

- say which entities it exports and which records of each are eligible
  (``entities``, ``queryset``);
- say what a record depends on (``dependencies``: a site needs its
  customer's company first), and which records it never takes
  (``skip_reason``: a lead, say);
- check the platform's key fields (``missing_key_fields``): a record without
  one fails with that message, it is never dropped silently;
- build the payload (``build_payload``) and name each field's rule in
  ``field_rules``: ``ONE_OFF`` fields go on creation only, ``REPEATED`` ones
  are resent whenever they change (fields not named are repeated);
- declare the platform records a record keeps (``platform_records``: a
  ``connectors.engine.records.PlatformRecord`` each, with its role, field rules,
  payload, look-up, create and update), or, for one record per entity, implement
  ``build_payload``, ``lookup``, ``create`` and ``update``.

The engine pushes the declared records in order (``records_push``: change
detection, look-up before create, binding, one operation); the single-record
methods make one such record (``push_single``). A connector overrides ``push`` only
for what comes around its records (checks, a record synced first, follow-up jobs),
calling ``record_push`` for each.

Credentials come from the settings (environment), never from task arguments;
``secrets`` names them so the redactor masks them everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from django.apps import apps
from django.conf import settings
from django.db import models

from layer_sync.registry import registry
from layer_sync.server import ServerAddressUnknown, server_url

from .choices import Entity, FieldRule, Operation
from .errors import ConfigurationError
from .http import Observer, PlatformClient

if TYPE_CHECKING:
    import requests

    from .engine.records import PlatformRecord
    from .engine.run import SyncContext
    from .models import SyncJob

# The local model each entity is read from. A charge is an asset's charges.
ENTITY_MODELS: dict[str, str] = {
    Entity.CUSTOMER: "customers.Customer",
    Entity.SITE: "customers.Site",
    Entity.CONTACT: "customers.Contact",
    Entity.ASSET: "billing.Asset",
    Entity.CHARGE: "billing.Asset",
}


def entity_model(entity: str) -> type[models.Model]:
    return apps.get_model(ENTITY_MODELS[entity])


@dataclass(frozen=True)
class RemoteRecord:
    """A platform record as staff pick it from a list: its id, name and a detail line."""

    external_id: str
    name: str
    detail: str = ""


@dataclass(frozen=True)
class ReconcileDifference:
    """A record that differs between The Layer and a platform (``Connector.reconcile``).

    ``kind`` is a stable code (``live_unknown_there``, ``cli_differs``, ...), ``label``
    says it for staff; ``entity``/``object_id`` name the local record (None: known only
    to the platform), ``external_id`` the platform's.
    """

    kind: str
    label: str
    entity: str
    object_id: int | None
    external_id: str
    record: str
    customer: str = ""
    layer_value: str = ""
    platform_value: str = ""
    message: str = ""


class UnknownPlatform(ValueError):
    """No connector is registered under that identifier."""

    def __init__(self, identifier: str) -> None:
        known = ", ".join(sorted(registry["connectors"])) or "none"
        super().__init__(f'Unknown platform "{identifier}". Known platforms: {known}.')
        self.identifier = identifier


class Connector:
    """Base of the platform connectors: subclass, set the class attributes, register."""

    identifier: ClassVar[str] = ""
    name: ClassVar[str] = ""
    # Exported entities, in the order prepare visits them.
    entities: ClassVar[Sequence[str]] = ()
    # entity → {payload field: FieldRule}; fields not named are REPEATED.
    field_rules: ClassVar[Mapping[str, Mapping[str, FieldRule]]] = {}
    # Names of the settings that hold this platform's secrets (for redaction).
    secrets: ClassVar[Sequence[str]] = ()
    # entity → the address of the platform record in the platform's own web application,
    # with ``{external_id}`` (the Sync History links the External ID to it, as seed 003's
    # does). An entity not named, or a platform that documents no such address, has none.
    record_url_templates: ClassVar[Mapping[str, str]] = {}
    # entity → the platform records a record of it keeps, in push order (``platform_records``).
    records: ClassVar[Mapping[str, Sequence[PlatformRecord]]] = {}

    # --- configuration --------------------------------------------------------
    def api_url(self) -> str:
        """The platform's API root: its setting, else the sandbox emulator of the server this
        process belongs to (``layer_sync.server``; ConfigurationError when that is unknown)."""
        configured = getattr(settings, f"{self.identifier.upper()}_API_URL", "")
        if configured:
            return configured
        if getattr(settings, "SANDBOX_EMULATORS_ENABLED", False):
            try:
                return f"{server_url()}/sandbox/{self.identifier}/"
            except ServerAddressUnknown as exc:
                raise ConfigurationError(str(exc)) from None
        return ""

    def client(
        self, observer: Observer | None = None, session: requests.Session | None = None
    ) -> PlatformClient:
        """A platform client reporting each call to ``observer``, on ``session`` if given
        (else a session of its own, closed with the client). Override per platform."""
        return PlatformClient(
            self.api_url(), timeout=self.timeout(), observer=observer, session=session
        )

    def timeout(self) -> tuple[float, float]:
        return (settings.SYNC_CONNECT_TIMEOUT, settings.SYNC_READ_TIMEOUT)

    def demo_prepare(self) -> str:
        """Set the platform up for ``seed_demo`` (its integration on, against the sandbox
        emulator) and say what was done; "" to leave it alone. Only ever called by the
        demo, and only where the platform's URL is unset (the emulator)."""
        return ""

    # --- records ----------------------------------------------------------------
    def queryset(self, entity: str) -> models.QuerySet:
        """The records of ``entity`` this platform takes (before export filters)."""
        return entity_model(entity)._default_manager.all()

    def record_queryset(self, entity: str) -> models.QuerySet:
        """How a job loads its record: every record (a lead, a subsite: ``skip_reason``
        says why it is not sent), with what the connector reads of it joined in."""
        return entity_model(entity)._default_manager.all()

    def role(self, entity: str, record: models.Model) -> str:
        """The binding role of a record's main platform record (one entity may have several):
        the first one declared (``platform_records``), else the entity's name."""
        declared = self.platform_records(entity)
        return declared[0].role if declared else entity

    def dependencies(self, entity: str, record: models.Model) -> list[tuple[str, models.Model]]:
        """Records that must exist on the platform before this one (synced first)."""
        return []

    def skip_reason(self, entity: str, record: models.Model) -> str:
        """Why this platform does not take the record at all ("" when it does).

        For records outside ``queryset`` that a change still queued (a lead, a
        subsite): the job ends *skipped* with this reason and nothing is sent.
        Not an export filter (staff set those) nor an error (nothing to fix).
        """
        return ""

    def missing_key_fields(self, entity: str, record: models.Model) -> list[str]:
        """Messages naming each key field the platform requires and the record lacks."""
        return []

    def record_url(self, entity: str, external_id: str) -> str:
        """The platform's own page of its ``entity`` record ``external_id`` ("" when the
        connector declares none for the entity)."""
        template = self.record_url_templates.get(entity, "")
        if not template or not external_id:
            return ""
        return template.format(external_id=quote(external_id, safe=""))

    def describe(self, entity: str, record: models.Model) -> str:
        return str(record)[:255]

    def warnings(self, entity: str, record: models.Model) -> list[str]:
        """What staff must know about this record on this platform, shown on its page.

        Things the sync will not do for them (a default site changed after the
        initial sync, say), never errors: those are the error queue's.
        """
        return []

    # --- payloads ---------------------------------------------------------------
    def build_payload(self, entity: str, record: models.Model) -> dict[str, Any]:
        """The whole payload of a record (one-off and repeated fields): that of its main
        declared platform record, as a preview builds it."""
        declared = self.platform_records(entity)
        if not declared:
            raise NotImplementedError
        role = self.role(entity, record)
        main = next((part for part in declared if part.role == role), declared[0])
        return main.payload(None, record) or {}

    def rule(self, entity: str, field: str) -> FieldRule:
        """A payload field's rule: ``field_rules``', else that of the first declared record
        naming it; fields named nowhere are repeated."""
        named = self.field_rules.get(entity, {})
        if field in named:
            return FieldRule(named[field])
        for declared in self.platform_records(entity):
            if field in declared.fields:
                return declared.rule(field)
        return FieldRule.REPEATED

    # --- platform calls (the default single-record flow) ------------------------
    def lookup(
        self, entity: str, record: models.Model, payload: dict[str, Any], client: PlatformClient
    ) -> str | None:
        """The external id of a platform record matching by natural key, if any.

        Called before every create, so a retry after a create whose answer was
        lost finds the record instead of making a second one.
        """
        return None

    def create(
        self, entity: str, record: models.Model, payload: dict[str, Any], client: PlatformClient
    ) -> str:
        """Create the platform record; return its external id."""
        raise NotImplementedError

    def update(
        self,
        entity: str,
        record: models.Model,
        external_id: str,
        payload: dict[str, Any],
        client: PlatformClient,
    ) -> None:
        """Send the repeated fields that changed to an existing platform record."""
        raise NotImplementedError

    def record_exists(self, entity: str, external_id: str) -> bool | None:
        """Whether the platform has the ``entity`` record ``external_id`` (its get call, on a
        client the connector makes only when it can ask), for a mapping to check before it
        binds. None: this platform cannot tell, and the mapping is taken on trust."""
        return None

    def search(self, entity: str, text: str, client: PlatformClient) -> list[RemoteRecord] | None:
        """Platform records of ``entity`` matching ``text``, for staff to map a record to
        (the manual sync's list of existing companies). None: the platform cannot list
        them, and staff type the external id instead."""
        return None

    def platform_records(self, entity: str) -> Sequence[PlatformRecord]:
        """The platform records a record of ``entity`` keeps, in the order they are pushed
        (each after those it depends on). Empty (the default): the single-record methods
        above make the one record, in the role ``role`` names."""
        return tuple(self.records.get(entity, ()))

    def preview_parts(
        self, entity: str, record: models.Model
    ) -> list[tuple[str, str, models.Model, dict[str, Any]]]:
        """The platform records a sync of ``record`` would write, as (role, entity,
        record, payload): those declared (``platform_records``), else the one record."""
        declared = self.platform_records(entity)
        if not declared:
            return [(self.role(entity, record), entity, record, self.build_payload(entity, record))]
        parts = []
        for platform_record in declared:
            payload = platform_record.payload(None, record)
            if payload is not None:
                parts.append((platform_record.role, platform_record.entity, record, payload))
        return parts

    def push(self, context: SyncContext) -> Operation:
        """Bring the platform in step with ``context.record``; return what was done: the
        declared records pushed in turn, else the one record."""
        from .engine.records import push_single, records_push

        declared = self.platform_records(context.entity)
        if declared:
            return records_push(context, declared)
        return push_single(context, role=self.role(context.entity, context.record))

    def job_redo(self, job: SyncJob, *, user: Any = None) -> SyncJob | None:
        """Staff's Retry of a job of this platform that the queue cannot run again (a staff
        action's job, for a platform that exports no entity): done again now, returning the
        job that records it, or refused with a ``PermanentError`` saying what to do. None
        (the default): the job goes back in the queue (``engine.actions.job_retry``)."""
        return None

    @property
    def redoes_jobs(self) -> bool:
        """Whether this connector redoes staff's retries itself (``job_redo``)."""
        return type(self).job_redo is not Connector.job_redo

    # --- reconciliation ----------------------------------------------------------------
    def reconcile(self, client: PlatformClient) -> list[ReconcileDifference] | None:
        """The records that differ between The Layer and the platform, read from the
        platform through ``client`` (its lists) and compared with our bindings and
        records. None (the default): this platform cannot be reconciled."""
        return None

    # Why a connector that does not implement ``reconcile`` cannot be reconciled, as staff
    # read it after "<platform> cannot be reconciled: " (the dashboard, the command, the API).
    not_reconciled_because: ClassVar[str] = (
        "its connector does not read the platform's records back to compare them with ours"
    )

    @property
    def reconciles(self) -> bool:
        """Whether this connector implements ``reconcile``."""
        return type(self).reconcile is not Connector.reconcile


def register(cls: type[Connector]) -> type[Connector]:
    """Make a connector available under its identifier (``registry["connectors"]``), and
    its ``secrets`` known to the redactor. Called from the platform's ``AppConfig.ready``
    (``connectors.apps.PlatformConfig``); usable as a class decorator in a module listed in
    ``SYNC_CONNECTOR_MODULES``, which the engine imports from its own ``ready``."""
    if not cls.identifier:
        raise ValueError(f"{cls.__name__} has no identifier")
    registry["connectors"][cls.identifier] = cls()
    registry["secret_settings"].update(cls.secrets)
    return cls


def unregister(identifier: str) -> None:
    registry["connectors"].pop(identifier, None)


def connector_for(identifier: str) -> Connector:
    """The registered connector, or UnknownPlatform naming the known ones."""
    try:
        return registry["connectors"][identifier]
    except KeyError:
        raise UnknownPlatform(identifier) from None


def registered() -> dict[str, Connector]:
    return dict(registry["connectors"])


def platform_choices() -> list[tuple[str, str]]:
    return [(key, c.name or key) for key, c in sorted(registry["connectors"].items())]
