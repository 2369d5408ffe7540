"""The entity settings rows every registered connector needs (made at start-up)."""

from __future__ import annotations

from ..base import registered
from ..models import EntitySetting


def entity_settings_ensure(*, using: str = "default") -> int:
    """Make the missing setting rows of every registered connector's entities (active,
    export). Existing rows are left as staff set them. Returns how many were made."""
    existing = set(EntitySetting.objects.using(using).values_list("platform", "entity"))
    missing = [
        EntitySetting(platform=identifier, entity=entity)
        for identifier, connector in registered().items()
        for entity in connector.entities
        if (identifier, entity) not in existing
    ]
    EntitySetting.objects.using(using).bulk_create(missing, ignore_conflicts=True)
    return len(missing)
