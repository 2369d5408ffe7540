"""Abillity's service charge types: which type id an item's charge goes with (seed 001).

The charge type is the id in the item's up-front field (Data Description by default) or
recurring field (Pricing Tier), as the company settings name them (*Charge types*); the
charge types list (*Billing platform sync → Charge types*) says each type's billing
frequency, which aBILLity requires to suit the charge's. Checked where staff set them
(``billing.item_rules``) and when a charge is sent.
"""

from __future__ import annotations

from billing.choices import BillComponent, BillingFrequency, ItemType
from billing.models import InventoryItem
from customers.models import CompanySettings

from ..engine.scope import job_memo
from ..errors import PermanentError
from ..models import ChargeType
from .constants import PLATFORM

CHARGE_TYPE_FIELDS = ("data_description", "pricing_tier", "custom_field_1", "custom_field_2")


def charge_type_field(component: str) -> str:
    """The inventory item field holding a component's charge type id: the company settings'
    (Data Description for up-front and Pricing Tier for recurring, by default); read once
    per job (``job_memo``)."""
    company = job_memo("company settings", CompanySettings.load)
    name = (
        company.upfront_charge_type_field
        if component == BillComponent.UPFRONT
        else company.recurring_charge_type_field
    )
    if name not in CHARGE_TYPE_FIELDS:
        raise PermanentError(
            f'The company settings name "{name}" as the {BillComponent(component).label.lower()} '
            f"charge type field; it must be one of {', '.join(CHARGE_TYPE_FIELDS)}."
        )
    return name


def _expected_frequency(item: InventoryItem, component: str) -> str:
    """The billing frequency a component's charge goes with: the up-front one is One off,
    the recurring one the item's Billing Frequency."""
    if component == BillComponent.UPFRONT:
        return BillingFrequency.ONE_OFF
    return item.billing_frequency


def _type_mismatch(item: InventoryItem, component: str, type_id: int) -> str:
    """Why the catalogue refuses ``type_id`` for this component of the item ("" when it
    suits): aBILLity refuses a ChargeId that does not suit the charge's FrequencyTypeId
    (abillity-api.md §10 rule 3, "servicecharge.ChargeId, Invalid ChargeId")."""
    charge_type = job_memo(
        "abillity charge types",
        lambda: {found.type_id: found for found in ChargeType.objects.filter(platform=PLATFORM)},
    ).get(type_id)
    if charge_type is None:
        return (
            f"Abillity charge type {type_id} is not in the charge types list (Billing platform "
            "sync → Charge types): add it there with the billing frequency Abillity gives it."
        )
    expected = _expected_frequency(item, component)
    if charge_type.frequency != expected:
        which = BillComponent(component).label.lower()
        named = f" ({charge_type.name})" if charge_type.name else ""
        return (
            f"Abillity charge type {type_id}{named} is billed "
            f"{charge_type.get_frequency_display()}, but the {which} charge is "
            f"{BillingFrequency(expected).label}: Abillity refuses the pair. Use a "
            f"{BillingFrequency(expected).label} charge type"
            + ("." if component == BillComponent.UPFRONT else " or change the billing frequency.")
        )
    return ""


def charge_type_problem(item: InventoryItem, component: str) -> tuple[int | None, str, bool]:
    """The item's charge type id for a component, or why it cannot be used: (the id or
    None, the problem, whether the charge still goes without a type). Seed 001: "If a
    product or service from The Layer is synced without a charge ID, the sync to Abillity
    will still occur, and the item should appear in the reject queue": a missing id sends
    the charge without ``ChargeId``; a wrong one (not a number, not in the catalogue, or
    of another frequency) sends nothing for that charge."""
    field = charge_type_field(component)
    label = str(InventoryItem._meta.get_field(field).verbose_name).title()
    value = str(getattr(item, field) or "").strip()
    which = BillComponent(component).label.lower()
    if not value:
        return (
            None,
            (
                f'Inventory item "{item}" has no Abillity {which} charge type id in its '
                f'"{label}" field (the id of the service charge type in Abillity): the {which} '
                "charge was sent without one. Add it"
            ),
            True,
        )
    if not value.isdigit():
        return (
            None,
            (
                f'Inventory item "{item}": its "{label}" field holds "{value[:30]}", not an '
                f"Abillity {which} charge type id (a number); the {which} charge was not sent. "
                "Correct it"
            ),
            False,
        )
    mismatch = _type_mismatch(item, component, int(value))
    if mismatch:
        return (
            None,
            (
                f'Inventory item "{item}", {which} charge, "{label}" field: {mismatch} '
                f"The {which} charge was not sent. Correct it"
            ),
            False,
        )
    return int(value), "", False


def item_charge_type_errors(item: InventoryItem) -> dict[str, list[str]]:
    """Where staff set them (``billing.item_rules``): the charge type ids of an item routed
    to Abillity must be numbers in the charge types list, of the component's frequency."""
    errors: dict[str, list[str]] = {}
    components = []
    if item.upfront_route_id and item.upfront_route.code == PLATFORM:
        components.append(BillComponent.UPFRONT)
    if (
        item.recurring_route_id
        and item.recurring_route.code == PLATFORM
        and item.item_type == ItemType.SERVICE
    ):
        components.append(BillComponent.RECURRING)
    for component in components:
        field = charge_type_field(component)
        value = str(getattr(item, field) or "").strip()
        if not value:
            continue  # seed 001: it may sync without one (and is then in the reject queue)
        which = BillComponent(component).label.lower()
        if not value.isdigit():
            problem = f"The Abillity {which} charge type id must be a number."
        else:
            problem = _type_mismatch(item, component, int(value))
        if problem:
            errors.setdefault(field, []).append(problem)
    return errors
