"""Billing platforms' rules on an inventory item, checked where staff set it.

A platform's connector registers a validator (``register_item_validator``, from its
``AppConfig.ready``): given an
item (saved or not), it answers ``{field name: [message, ...]}`` for what the platform
would refuse. ``InventoryItem.clean`` runs them all, so the admin (and any model form or
``full_clean``) shows each message on its field. The billing app knows no platform.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from layer_sync.registry import registry

ItemValidator = Callable[[Any], dict[str, list[str]]]


def register_item_validator(validator: ItemValidator) -> ItemValidator:
    """Run ``validator`` on every item (``registry["item_validators"]``), from the platform's
    ``AppConfig.ready``. Registering it twice runs it once."""
    if validator not in registry["item_validators"]:
        registry["item_validators"].append(validator)
    return validator


def item_platform_errors(item: Any) -> dict[str, list[str]]:
    """Every registered validator's errors on ``item``, by field."""
    errors: dict[str, list[str]] = {}
    for validator in registry["item_validators"]:
        for field, messages in validator(item).items():
            errors.setdefault(field, []).extend(messages)
    return errors
