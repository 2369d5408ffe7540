"""The Connect connector: Send to Connect is a manual action, not a change-driven sync.

``entities`` is empty on purpose: saving a customer (or anything else) never
queues a Connect job, because the receivers queue work only for the
entities a platform exports. A client is made only when staff press *Send
to Connect* (``connectors.connect.services.connect_client_send``), once per
customer; after that Connect is the system of record for the client (seed
004: "You are still required to add and manage additional information
within Connect"), so nothing is resent on change.
"""

from __future__ import annotations

from django.conf import settings

from billing.models import BillingPlatform

from ..base import Connector
from .client import ConnectClient
from .constants import PLATFORM, SANDBOX_TOKEN
from .records import RECORDS


class ConnectConnector(Connector):
    identifier = PLATFORM
    name = "Connect"
    entities = ()
    secrets = ("CONNECT_API_TOKEN",)
    # Declared, but pushed only by Send to Connect (``services.connect_client_send``).
    records = RECORDS

    def client(self, observer=None, session=None) -> ConnectClient:
        token = settings.CONNECT_API_TOKEN
        if not settings.CONNECT_API_URL and not token:
            token = SANDBOX_TOKEN  # the embedded emulator's own token
        return ConnectClient(
            self.api_url(), token=token, timeout=self.timeout(), observer=observer, session=session
        )

    def job_redo(self, job, *, user=None):
        """Retry of a Send to Connect job: the customer sent again now, as the page's
        button does (``services.connect_send_retry``); Connect exports nothing to queue."""
        from .services import connect_send_retry

        return connect_send_retry(job, user=user)

    def reconcile(self, client: ConnectClient) -> list:
        """Each customer's client against the customer (``connectors.connect.reconcile``)."""
        from .reconcile import connect_differences

        return connect_differences(client=client)

    def is_enabled(self) -> bool:
        return BillingPlatform.objects.filter(code=PLATFORM, integration_enabled=True).exists()

    def demo_prepare(self) -> str:
        """Against the emulator only: the integration on, so the demo can Send to Connect."""
        if settings.CONNECT_API_URL:
            return ""
        BillingPlatform.objects.filter(code=PLATFORM).update(integration_enabled=True)
        return (
            "Connect integration on, against the sandbox emulator (/sandbox/connect/): press "
            "Send to Connect on a customer's page."
        )
