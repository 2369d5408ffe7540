from importlib import import_module

from ..apps import PlatformConfig


class AffinityConfig(PlatformConfig):
    """Affinity: its connector and emulator, and its file imports (links, ceases), run in
    the background as billing's imports are (``billing.background_imports``)."""

    name = "connectors.affinity"
    verbose_name = "Affinity"
    connector = "connectors.affinity.sync.AffinityConnector"
    emulator = "connectors.affinity.sandbox.AffinityEmulator"

    def ready(self) -> None:
        super().ready()
        import_module("connectors.affinity.background")  # registers its import kinds
