"""The Change Queue: in-life changes to in-billing service assets, per billing platform,
for staff to repeat by hand where a platform has no live link for them (reference §6).

Rules, each kept here:

- only **service** assets that are **in billing** (a component of their line is In
  Billing) are tracked; products are ignored;
- the platform is the asset's **recurring** route, or its up-front route when only
  that one is external (inferred: the reference names no route);
- the fields tracked are the platform's ``change_queue_fields``, else
  ``STANDARD_FIELDS``;
- a change **to or from an empty value is not recorded**, except for the cease date and
  the end (expiry) date, where every change is (``ALWAYS_RECORDED``); a change of site
  is recorded;
- only updates are tracked (never a create or delete); the events captured are an asset
  edit, an upgrade through data capture (an Update line) and a bulk update;
- staff mark an entry Processed or Ignored, giving a reason.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .bill_status import route_is_external
from .choices import BillStatus, ChangeStatus, ItemType
from .models import Asset, BillingPlatform, ChangeQueueEntry, SalesOrderLine

STANDARD_FIELDS = (
    "identifier",
    "site",
    "inventory_item",
    "quantity",
    "sell_price",
    "recurring_sell_price",
    "connection_date",
    "billing_start_date_override",
    "fixed_billing",
    "end_date",
    "cease_date",
    "cost_centre",
    "do_not_bill",
    "status",
)
# The reference's "Case Date" (the cease date) and "Expiry Date" (the end date).
ALWAYS_RECORDED = frozenset({"cease_date", "end_date"})


def _empty(value: Any) -> bool:
    return value is None or value == ""


def _text(value: Any) -> str:
    return "" if _empty(value) else str(value)


def change_queue_platform(asset: Asset) -> BillingPlatform | None:
    """The platform an asset's in-life changes are queued for (None: not an external one)."""
    if route_is_external(asset.recurring_route):
        return asset.recurring_route
    if route_is_external(asset.upfront_route):
        return asset.upfront_route
    return None


def asset_in_billing(asset: Asset) -> bool:
    """A component of the asset's line is In Billing."""
    if not asset.sales_order_line_id:
        return False
    return SalesOrderLine.objects.filter(
        Q(upfront_bill_status=BillStatus.IN_BILLING)
        | Q(recurring_bill_status=BillStatus.IN_BILLING),
        pk=asset.sales_order_line_id,
    ).exists()


def tracked_fields(platform: BillingPlatform) -> tuple[str, ...]:
    """The asset fields tracked for a platform (its setting, else the standard set)."""
    chosen = tuple(platform.change_queue_fields or ())
    return chosen or STANDARD_FIELDS


def tracked_fields_validate(fields: list[str]) -> None:
    """Refuse a Change Queue field list naming something that is not an asset field."""
    known = {field.name for field in Asset._meta.concrete_fields}
    unknown = [name for name in fields if name not in known]
    if unknown:
        raise ValidationError(
            {
                "change_queue_fields": f"Not asset fields: {', '.join(unknown)}. Use field "
                f"names such as {', '.join(STANDARD_FIELDS[:4])}."
            }
        )


def asset_changes(before: Asset, after: Asset, fields: tuple[str, ...]) -> list[dict[str, str]]:
    """The tracked fields that changed, as ``{"field", "label", "old", "new"}``, leaving
    out changes to or from an empty value (but for ``ALWAYS_RECORDED``)."""
    changes = []
    for name in fields:
        field = Asset._meta.get_field(name)
        attname = field.attname  # site_id for a relation: compare ids, show names
        old, new = getattr(before, attname), getattr(after, attname)
        if old == new:
            continue
        if (_empty(old) or _empty(new)) and name not in ALWAYS_RECORDED:
            continue
        shown_old = getattr(before, name) if field.is_relation else old
        shown_new = getattr(after, name) if field.is_relation else new
        changes.append(
            {
                "field": name,
                "label": str(field.verbose_name),
                "old": _text(shown_old),
                "new": _text(shown_new),
            }
        )
    return changes


def change_queue_record(
    *, before: Asset, after: Asset, source: str, user: Any = None
) -> ChangeQueueEntry | None:
    """Queue an in-life change of a service asset in billing, if any tracked field
    changed; None when nothing is to be queued."""
    if after.inventory_item.item_type != ItemType.SERVICE or not asset_in_billing(after):
        return None
    platform = change_queue_platform(after)
    if platform is None:
        return None
    changes = asset_changes(before, after, tracked_fields(platform))
    if not changes:
        return None
    return ChangeQueueEntry.objects.create(
        asset=after,
        platform=platform,
        source=source,
        changes=changes,
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )


@transaction.atomic
def change_queue_entry_resolve(
    *, entry: ChangeQueueEntry, status: str, reason: str, user: Any
) -> ChangeQueueEntry:
    """Mark an entry Processed or Ignored, with the reason staff gave."""
    entry = ChangeQueueEntry.objects.select_for_update().get(pk=entry.pk)
    if status not in (ChangeStatus.PROCESSED, ChangeStatus.IGNORED):
        raise ValidationError({"status": "An entry is marked Processed or Ignored."})
    if entry.status != ChangeStatus.PENDING:
        raise ValidationError(
            {"status": f"This entry is already {entry.get_status_display().lower()}."}
        )
    if not reason.strip():
        raise ValidationError({"reason": "Give the reason for marking the entry."})
    entry.status = status
    entry.reason = reason.strip()
    entry.actioned_by = user
    entry.actioned_at = timezone.now()
    entry.save(update_fields=["status", "reason", "actioned_by", "actioned_at"])
    return entry
