from ..apps import PlatformConfig


class ConnectConfig(PlatformConfig):
    """essensys Connect: its connector and emulator, and the customer page's Send to
    Connect panel."""

    name = "connectors.connect"
    verbose_name = "essensys Connect"
    connector = "connectors.connect.sync.ConnectConnector"
    emulator = "connectors.connect.sandbox.ConnectEmulator"

    def ready(self) -> None:
        super().ready()
        from layer_sync.admin import register_change_form_panel

        from .admin import connect_client_panel

        register_change_form_panel("customers.Customer", position="top")(connect_client_panel)
