from importlib import import_module

from ..apps import PlatformConfig


class AffinityConfig(PlatformConfig):
    """Affinity: its connector and emulator, its rules on the lines routed to it
    (``line_rules``), and its file imports (links, ceases), run in the background as
    billing's imports are (``billing.background_imports``)."""

    name = "connectors.affinity"
    verbose_name = "Affinity"
    connector = "connectors.affinity.sync.AffinityConnector"
    emulator = "connectors.affinity.sandbox.AffinityEmulator"

    def ready(self) -> None:
        super().ready()
        import_module("connectors.affinity.background")  # registers its import kinds
        from billing.platform_rules import register_platform_line_rules

        from . import line_rules
        from .constants import PLATFORM

        register_platform_line_rules(PLATFORM, line_rules.LINE_RULES)
