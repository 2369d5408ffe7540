"""Billing platforms' rules on an inventory item, checked where staff set it.

A platform's connector registers a validator (``register_item_validator``): given an
item (saved or not), it answers ``{field name: [message, ...]}`` for what the platform
would refuse. ``InventoryItem.clean`` runs them all, so the admin (and any model form or
``full_clean``) shows each message on its field. The billing app knows no platform.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ItemValidator = Callable[[Any], dict[str, list[str]]]

_VALIDATORS: list[ItemValidator] = []


def register_item_validator(validator: ItemValidator) -> ItemValidator:
    if validator not in _VALIDATORS:
        _VALIDATORS.append(validator)
    return validator


def item_platform_errors(item: Any) -> dict[str, list[str]]:
    """Every registered validator's errors on ``item``, by field."""
    errors: dict[str, list[str]] = {}
    for validator in _VALIDATORS:
        for field, messages in validator(item).items():
            errors.setdefault(field, []).extend(messages)
    return errors
