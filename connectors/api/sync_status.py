"""Reads behind the sync-status endpoint: many records' sync state in a few queries.

``records_sync_state`` answers what ``connectors.selectors.record_sync_state``
answers for one record (bindings, the open job, the last finished job, the
job in the error queue), in the same shape, for any number of records at a
constant number of queries: a customer with fifty sites costs what a customer
with one does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Max, Q, QuerySet

from billing.models import BillingPlatform
from customers.models import Contact, Customer, Site

from ..choices import ERROR_STATUSES, Direction, Entity, JobStatus
from ..models import Binding, EntitySetting, SyncJob
from ..selectors import SUCCESS_STATUSES, sync_state_synced

OPEN_STATUSES = (JobStatus.PENDING, JobStatus.IN_FLIGHT)

RecordKey = tuple[str, int]


def empty_sync_state(platform: str) -> dict[str, Any]:
    """The state of a record the platform has never heard of."""
    return {
        "platform": platform,
        "bindings": [],
        "synced": False,
        "pending_job": None,
        "last_job": None,
        "failed_job": None,
    }


def records_sync_state(
    *, platform: str, records: Mapping[str, Iterable[int] | QuerySet]
) -> dict[RecordKey, dict[str, Any]]:
    """The sync state of many records on one platform, keyed by (entity, object id).

    ``records`` maps an entity to its record ids (a list, or a ``values("pk")``
    queryset, which stays a subquery). Three queries whatever the count:
    the latest job ids per record and kind, those jobs, and the bindings.
    Records with no job and no binding are absent: use ``empty_sync_state``.
    """
    which = Q()
    for entity, ids in records.items():
        which |= Q(entity=entity, object_id__in=ids if isinstance(ids, QuerySet) else list(ids))
    if not which:
        return {}
    jobs = SyncJob.objects.filter(which, platform=platform)
    latest = (
        jobs.order_by()
        .values("entity", "object_id")
        .annotate(
            open_id=Max("id", filter=Q(status__in=OPEN_STATUSES)),
            last_id=Max("id", filter=~Q(status__in=OPEN_STATUSES)),
            failed_id=Max("id", filter=Q(status__in=ERROR_STATUSES, resolved_at__isnull=True)),
            ok_id=Max("id", filter=Q(status__in=SUCCESS_STATUSES)),
        )
    )
    latest = list(latest)
    wanted = {row[kind] for row in latest for kind in ("open_id", "last_id", "failed_id")}
    loaded = SyncJob.objects.in_bulk([pk for pk in wanted if pk is not None])

    states: dict[RecordKey, dict[str, Any]] = {}

    def state(key: RecordKey) -> dict[str, Any]:
        return states.setdefault(key, empty_sync_state(platform))

    for row in latest:
        entry = state((row["entity"], row["object_id"]))
        entry["pending_job"] = loaded.get(row["open_id"])
        entry["last_job"] = loaded.get(row["last_id"])
        entry["failed_job"] = loaded.get(row["failed_id"])
        entry["ever_succeeded"] = row["ok_id"] is not None
    bindings = (
        Binding.objects.filter(which, platform=platform)
        .only("role", "entity", "object_id", "external_id", "first_synced_at", "last_synced_at")
        .order_by("role", "id")
    )
    for binding in bindings:
        entry = state((binding.entity, binding.object_id))
        entry["bindings"].append(
            {
                "role": binding.role,
                "external_id": binding.external_id,
                "first_synced_at": binding.first_synced_at,
                "last_synced_at": binding.last_synced_at,
            }
        )
    for entry in states.values():
        entry["synced"] = sync_state_synced(
            bindings=entry["bindings"],
            failed_job=entry["failed_job"],
            ever_succeeded=entry.pop("ever_succeeded", False),
        )
    return states


def platform_exported_entities(platform: str) -> list[str]:
    """The entities ``platform`` exports now: integration on, entity active and exported.

    ``connectors.selectors.exporting_platforms`` asked the other way round, in one query.
    """
    enabled = BillingPlatform.objects.filter(code=platform, integration_enabled=True)
    return list(
        EntitySetting.objects.filter(
            platform=platform,
            active=True,
            direction__in=(Direction.EXPORT, Direction.BOTH),
            platform__in=enabled.values("code"),
        )
        .order_by("entity")
        .values_list("entity", flat=True)
    )


def customer_sync_status(*, platform: str, customer: Customer) -> dict[str, Any]:
    """A customer's sync state on a platform, with each of its sites (subsites included)
    and contacts. Six queries, however many sites and contacts it has."""
    sites = list(Site.objects.filter(customer=customer).order_by("-is_default", "name", "id"))
    contacts = list(Contact.objects.filter(customer=customer).order_by("last_name", "first_name"))
    states = records_sync_state(
        platform=platform,
        records={
            Entity.CUSTOMER: [customer.pk],
            Entity.SITE: Site.objects.filter(customer=customer).values("pk"),
            Entity.CONTACT: Contact.objects.filter(customer=customer).values("pk"),
        },
    )

    def with_state(entity: str, record: Any) -> dict[str, Any]:
        return {
            "record": record,
            **(states.get((entity, record.pk)) or empty_sync_state(platform)),
        }

    return {
        "platform": platform,
        "exported_entities": platform_exported_entities(platform),
        "customer": with_state(Entity.CUSTOMER, customer),
        "sites": [with_state(Entity.SITE, site) for site in sites],
        "contacts": [with_state(Entity.CONTACT, contact) for contact in contacts],
    }
