from ..apps import PlatformConfig
from .constants import PLATFORM


class AbillityConfig(PlatformConfig):
    """aBILLity: its connector and emulator, the Billing Export's direct route (its lines
    go through the API, docs/abillity.md), its check of an item's charge types and its
    rule on the lines routed to it (any Billing ID up to 17 characters)."""

    name = "connectors.abillity"
    verbose_name = "aBILLity"
    connector = "connectors.abillity.sync.AbillityConnector"
    emulator = "connectors.abillity.sandbox.AbillityEmulator"

    def ready(self) -> None:
        super().ready()
        from billing.direct_routes import register_direct_route
        from billing.item_rules import register_item_validator
        from billing.platform_rules import register_platform_line_rules

        from . import charge_types, charges, line_rules

        register_direct_route(PLATFORM, charges.DIRECT_ROUTE)
        register_item_validator(charge_types.item_charge_type_errors)
        register_platform_line_rules(PLATFORM, line_rules.LINE_RULES)
