from ..apps import PlatformConfig
from .constants import PLATFORM


class AbillityConfig(PlatformConfig):
    """aBILLity: its connector and emulator, the Billing Export's direct route (its lines
    go through the API, docs/abillity.md) and its check of an item's charge types."""

    name = "connectors.abillity"
    verbose_name = "aBILLity"
    connector = "connectors.abillity.sync.AbillityConnector"
    emulator = "connectors.abillity.sandbox.AbillityEmulator"

    def ready(self) -> None:
        super().ready()
        from billing.export import register_direct_route
        from billing.item_rules import register_item_validator

        from . import charges

        register_direct_route(PLATFORM, charges.DIRECT_ROUTE)
        register_item_validator(charges.item_charge_type_errors)
