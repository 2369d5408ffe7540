"""Reads of the sync engine: settings in force, export filters, bindings, sync state."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import FilteredRelation, Q
from django.db.models.functions import Now

from billing.models import BillingPlatform

from .base import ENTITY_MODELS, entity_model, registered
from .choices import ERROR_STATUSES, VALUELESS_CONDITIONS, Direction, FilterCondition, JobStatus
from .models import Binding, EntitySetting, ExportFilter, SyncJob


def exporting_platforms(entity: str) -> list[str]:
    """Platforms that export ``entity`` now: registered, integration on, entity active.

    One query, run on every save of a synced record (DESIGN: at most two
    extra queries per save).
    """
    known = list(registered())
    if not known:
        return []
    return list(_exporting_settings(entity, known).values_list("platform", flat=True))


def _exporting_settings(entity: str, platforms: list[str]) -> models.QuerySet[EntitySetting]:
    """The entity's settings that export it now: active, exported, integration on."""
    enabled = BillingPlatform.objects.filter(integration_enabled=True, code__in=platforms)
    return EntitySetting.objects.filter(
        entity=entity,
        active=True,
        direction__in=(Direction.EXPORT, Direction.BOTH),
        platform__in=enabled.values("code"),
    )


def platform_exports(platform: str, entity: str) -> bool:
    """Whether ``platform`` exports ``entity`` now (integration on and the entity active)."""
    return platform in exporting_platforms(entity)


def export_filters(platform: str, entity: str) -> list[ExportFilter]:
    return list(
        ExportFilter.objects.filter(
            setting__platform=platform, setting__entity=entity, active=True
        ).order_by("id")
    )


FILTER_FIELDS = ("id", "field", "condition", "value")
# export_rules' statement by (database vendor, platform, entity): every job runs it first,
# and building it (a filtered relation, a subquery) cost more CPU than the database's
# answer. Its SQL and parameters depend on nothing else, so it is built once a process.
_EXPORT_RULES_SQL: dict[tuple[str, str, str], tuple[str, tuple[Any, ...]]] = {}


def export_rules(platform: str, entity: str) -> list[ExportFilter] | None:
    """What a sync job checks first, in one query: None when ``platform`` does not export
    ``entity`` now (``platform_exports``), else its active export filters
    (``export_filters``, which the preview reads even for an entity not exported)."""
    if platform not in registered():
        return None
    connection = connections[DEFAULT_DB_ALIAS]
    key = (connection.vendor, platform, entity)
    statement = _EXPORT_RULES_SQL.get(key)
    if statement is None:
        rows = (
            _exporting_settings(entity, [platform])
            .annotate(rule=FilteredRelation("filters", condition=Q(filters__active=True)))
            .values_list("pk", *(f"rule__{name}" for name in FILTER_FIELDS))
            .order_by("rule__id")
        )
        statement = _EXPORT_RULES_SQL[key] = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(*statement)
        rows = cursor.fetchall()
    rules = None
    for setting_id, *values in rows:
        rules = rules if rules is not None else []
        if values[0] is not None:  # the setting's row without a filter joined
            fields = dict(zip(FILTER_FIELDS, values, strict=True))
            rules.append(ExportFilter(setting_id=setting_id, active=True, **fields))
    return rules


class FilterUnusable(ValueError):
    """An export filtering condition that cannot be evaluated on a record (its message says why)."""


def field_value(record: models.Model, path: str) -> Any:
    """The value at ``path`` (``customer_class__code``) on a record; None where a link is empty.

    Raises FilterUnusable for a path naming no field or going through a list of records.
    """
    value: Any = record
    for part in path.split("__"):
        if value is None:
            return None
        owner = type(value).__name__
        try:
            if part.startswith("_"):
                raise AttributeError(part)
            value = getattr(value, part)
        except ObjectDoesNotExist:  # an empty reverse one-to-one link
            return None
        except AttributeError:
            raise FilterUnusable(f'{owner} has no field "{part}" (in "{path}").') from None
        if isinstance(value, models.Manager):
            raise FilterUnusable(
                f'"{path}" goes through a list of records; filters need one value.'
            )
        if callable(value):
            raise FilterUnusable(f'"{part}" (in "{path}") is not a field.')
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "pk") and isinstance(value, models.Model):
        return str(value)
    return str(value).strip()


def condition_holds(condition: str, actual: Any, expected: str) -> bool:
    """Whether one export condition holds. Text compares case-insensitively, trimmed."""
    text = _text(actual).casefold()
    wanted = expected.strip().casefold()
    match condition:
        case FilterCondition.EQUALS:
            return text == wanted
        case FilterCondition.NOT_EQUALS:
            return text != wanted
        case FilterCondition.EMPTY:
            return text == ""
        case FilterCondition.NOT_EMPTY:
            return text != ""
        case FilterCondition.CONTAINS:
            return wanted in text
        case FilterCondition.IN:
            return text in {part.strip().casefold() for part in expected.split(",")}
    raise FilterUnusable(f'Unknown filter condition "{condition}".')


def record_excluded_by(
    record: models.Model, filters: Iterable[ExportFilter]
) -> ExportFilter | None:
    """The first active export condition the record fails, or None when it may be exported.

    Raises FilterUnusable, naming the condition, when one cannot be evaluated.
    """
    for condition in filters:
        try:
            holds = condition_holds(
                condition.condition, field_value(record, condition.field), condition.value
            )
        except FilterUnusable as exc:
            raise FilterUnusable(
                f'The export filter "{condition}" of {condition.setting.platform} '
                f"{condition.setting.entity} records cannot be applied: {exc} "
                "Correct it in the entity settings."
            ) from None
        if not holds:
            return condition
    return None


# The bindings a sync job has read, by record: {(platform, entity, id): {role: Binding}}.
_job_bindings: ContextVar[dict[tuple[str, str, int], dict[str, Binding]] | None] = ContextVar(
    "job_bindings", default=None
)


@contextmanager
def bindings_read_once() -> Iterator[None]:
    """While a sync job runs: each record's bindings are read once, all its roles in one
    query, instead of once per look (a site's job looks at its customer's company and
    billing site, its own site and billing details, several times each).

    Kept true by the job's own writes (``binding_remember``), and forgotten for a record
    whose job is claimed inside this one (``binding_forget``): a record's bindings are
    always read after its job was claimed. Nested use keeps the outer job's reads.
    """
    if _job_bindings.get() is not None:
        yield
        return
    token = _job_bindings.set({})
    try:
        yield
    finally:
        _job_bindings.reset(token)


def binding_for(platform: str, role: str, entity: str, object_id: int) -> Binding | None:
    """The record's binding in ``role`` (None if it has none; in a job, possibly one not
    saved yet, which has no external id)."""
    read = _job_bindings.get()
    if read is None:
        return Binding.objects.filter(
            platform=platform, role=role, entity=entity, object_id=object_id
        ).first()
    return record_bindings(platform, entity, object_id).get(role)


def record_bindings(platform: str, entity: str, object_id: int) -> dict[str, Binding]:
    """The record's bindings by role (one query; in a job, read once: ``binding_for``)."""
    read = _job_bindings.get()
    key = (platform, entity, int(object_id))
    if read is None or key not in read:
        found = {
            binding.role: binding
            for binding in Binding.objects.filter(
                platform=platform, entity=entity, object_id=object_id
            )
        }
        if read is None:
            return found
        read[key] = found
    return read[key]


def bindings_prefetch(platform: str, records: Iterable[tuple[str, int]]) -> None:
    """In a job: read the bindings of these records (entity, id) in one query, for those
    not read yet."""
    read = _job_bindings.get()
    if read is None:
        return
    keys = {(platform, entity, int(pk)) for entity, pk in records} - read.keys()
    if not keys:
        return
    wanted = Q()
    for _, entity, pk in keys:
        wanted |= Q(entity=entity, object_id=pk)
    for key in keys:
        read[key] = {}
    for binding in Binding.objects.filter(wanted, platform=platform):
        read[(platform, binding.entity, int(binding.object_id))][binding.role] = binding


def binding_remember(binding: Binding) -> None:
    """Keep a job's reads true after it made or changed ``binding``."""
    read = _job_bindings.get()
    key = (binding.platform, binding.entity, int(binding.object_id))
    if read is not None and key in read:
        read[key][binding.role] = binding


def binding_forget(platform: str, entity: str, object_id: int) -> None:
    """Drop what a job read of a record's bindings (its own job has just been claimed)."""
    read = _job_bindings.get()
    if read is not None:
        read.pop((platform, entity, int(object_id)), None)


def bindings_of(platform: str, entity: str, object_ids: Iterable[int]) -> list[Binding]:
    return list(
        Binding.objects.filter(platform=platform, entity=entity, object_id__in=list(object_ids))
    )


def error_queue() -> models.QuerySet[SyncJob]:
    """Jobs staff must act on: failed or aborted, and not since resolved."""
    return SyncJob.objects.filter(status__in=ERROR_STATUSES, resolved_at__isnull=True)


def due_jobs() -> models.QuerySet[SyncJob]:
    return SyncJob.objects.filter(status=JobStatus.PENDING, next_attempt_at__lte=Now())


def record_jobs(platform: str, entity: str, object_id: int) -> models.QuerySet[SyncJob]:
    return SyncJob.objects.filter(platform=platform, entity=entity, object_id=object_id)


SUCCESS_STATUSES = (JobStatus.SUCCEEDED, JobStatus.NO_CHANGE)


def sync_state_synced(
    *, bindings: list[dict[str, Any]], failed_job: Any, ever_succeeded: bool
) -> bool:
    """The one rule of "synced" (the green tick, the badges, the panel, ``sync-status``):
    the record is bound to a platform record that a sync wrote or updated
    (``last_synced_at``), and its first sync did not fail (a failed job in the error queue
    with no job of the record ever succeeded shows failed, not synced, though the
    platform's create went through). A mapping alone is not a sync."""
    written = any(b["external_id"] and b["last_synced_at"] for b in bindings)
    return written and (failed_job is None or ever_succeeded)


def record_sync_state(platform: str, entity: str, object_id: int) -> dict[str, Any]:
    """A record's sync state on one platform: bindings, the open job and the last finished one."""
    jobs = record_jobs(platform, entity, object_id)
    open_job = jobs.filter(status__in=(JobStatus.PENDING, JobStatus.IN_FLIGHT)).first()
    last_job = jobs.exclude(status__in=(JobStatus.PENDING, JobStatus.IN_FLIGHT)).first()
    failed = jobs.filter(Q(status__in=ERROR_STATUSES) & Q(resolved_at__isnull=True)).first()
    bindings = Binding.objects.filter(platform=platform, entity=entity, object_id=object_id)
    rows = [
        {
            "role": b.role,
            "external_id": b.external_id,
            "first_synced_at": b.first_synced_at,
            "last_synced_at": b.last_synced_at,
        }
        for b in bindings
    ]
    ever_succeeded = failed is not None and jobs.filter(status__in=SUCCESS_STATUSES).exists()
    return {
        "platform": platform,
        "bindings": rows,
        "synced": sync_state_synced(
            bindings=rows, failed_job=failed, ever_succeeded=ever_succeeded
        ),
        "pending_job": open_job,
        "last_job": last_job,
        "failed_job": failed,
    }


def export_filter_problem(entity: str, field_path: str, condition: str, value: str) -> str:
    """Why an export filtering condition cannot work ("" when it can): an unknown entity,
    field or condition, a path through a list of records, or a value missing or given
    where none is taken."""
    if entity not in ENTITY_MODELS:
        return f'Unknown entity "{entity}". Entities: {", ".join(ENTITY_MODELS)}.'
    if condition not in FilterCondition.values:
        return f'Unknown condition "{condition}". Conditions: {", ".join(FilterCondition.values)}.'
    model = entity_model(entity)
    parts = field_path.split("__") if field_path else []
    if not parts:
        return "Name the field to filter on."
    for position, part in enumerate(parts):
        try:
            model_field = model._meta.get_field(part)
        except FieldDoesNotExist:
            names = sorted(f.name for f in model._meta.get_fields() if f.concrete or f.many_to_one)
            return f'{model._meta.verbose_name.capitalize()} has no field "{part}". Fields: ' + (
                ", ".join(names)
            )
        if model_field.one_to_many or model_field.many_to_many:
            return f'"{part}" is a list of records; a filter needs a single value.'
        if model_field.is_relation and position < len(parts) - 1:
            model = model_field.related_model
        elif position < len(parts) - 1:
            return f'"{part}" is not a link to another record, so "{field_path}" goes nowhere.'
    if condition in VALUELESS_CONDITIONS and value.strip():
        return "This condition takes no value."
    if condition not in VALUELESS_CONDITIONS and not value.strip():
        return "This condition needs a value."
    return ""
