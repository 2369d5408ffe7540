"""The one registry of what the apps plug into each other, filled from ``AppConfig.ready``.

Modelled on NetBox's ``netbox/registry.py``: a dict of named *stores*, fixed when the
module is loaded (a store can be neither added nor removed; a typo in a store's name is
a ``KeyError`` naming it), whose contents are what the apps register:

========================  ==============================================================
store                     holds (filled by)
========================  ==============================================================
``connectors``            platform code → ``connectors.base.Connector`` instance
                          (``connectors.base.register``)
``emulators``             platform code → ``connectors.sandbox.Emulator`` instance,
                          only where ``SANDBOX_EMULATORS_ENABLED``
                          (``connectors.sandbox.register_emulator``)
``secret_settings``       names of the settings holding a connector's credentials, for
                          the redactor (a connector's ``secrets``, at ``register``)
``direct_routes``         billing route code → ``billing.direct_routes.DirectRoute``: a route
                          whose platform takes lines through its API
                          (``billing.direct_routes.register_direct_route``)
``item_validators``       a platform's checks on an inventory item
                          (``billing.item_rules.register_item_validator``)
``platform_line_rules``   billing route code → ``billing.platform_rules.PlatformLineRules``:
                          a platform's rules on the lines routed to it
                          (``billing.platform_rules.register_platform_line_rules``)
``change_form_panels``    (model label, position) → panel providers shown on that
                          model's change page (``layer_sync.admin.register_change_form_panel``)
``changelist_columns``    model label → {column name: column} added to its changelist
                          (``layer_sync.admin.register_changelist_column``)
========================  ==============================================================

Who fills it: each app's ``AppConfig.ready`` (``connectors.apps.ConnectorsConfig`` for
the engine's admin panels, and one ``connectors.apps.PlatformConfig`` per platform
package for its connector, emulator, direct route and panels), never the import of a
module as a side effect, so importing a module (a test importing an emulator, a
connector importing another's constants) registers nothing. The registration functions
named above stay the public way to write to a store; readers use the functions beside
them (``connector_for``, ``emulator_for``, ``direct_route``, ...).

The registry lives in the project package because every app reads it: ``billing`` and
``layer_sync.admin`` read what ``connectors`` registered without importing it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any


class Registry(dict):
    """Named stores, fixed at creation: their contents change, the set of stores does not."""

    def __getitem__(self, key: str) -> Any:
        try:
            return super().__getitem__(key)
        except KeyError:
            raise KeyError(f"No such registry store: {key!r}. Stores: {', '.join(self)}.") from None

    def __setitem__(self, key: str, value: Any) -> None:
        raise TypeError("The registry's stores are fixed: register into one of them instead.")

    def __delitem__(self, key: str) -> None:
        raise TypeError("The registry's stores are fixed: they cannot be removed.")


registry = Registry(
    {
        "connectors": {},
        "emulators": {},
        "secret_settings": set(),
        "direct_routes": {},
        "item_validators": [],
        "platform_line_rules": {},
        "change_form_panels": defaultdict(list),
        "changelist_columns": defaultdict(dict),
    }
)
