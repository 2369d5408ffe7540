"""Fixtures of the Affinity tests: the emulator over real HTTP, the integration on."""

import pytest

import connectors.affinity.sync  # noqa: F401  (registers the connector and emulator)
from billing.models import BillingPlatform
from connectors.affinity.client import AffinityClient
from connectors.affinity.sandbox import PLATFORM, SANDBOX_API_KEY
from connectors.engine.entity_settings import entity_settings_ensure
from connectors.sandbox import emulator_for


@pytest.fixture
def affinity_emulator():
    emulator = emulator_for(PLATFORM)
    emulator.reset()
    yield emulator
    emulator.reset()


@pytest.fixture
def affinity_client(live_server, affinity_emulator) -> AffinityClient:
    """A client of the emulator served by the live server, with the sandbox key."""
    return AffinityClient(
        f"{live_server.url}/sandbox/affinity/", api_key=SANDBOX_API_KEY, timeout=(2, 5)
    )


@pytest.fixture
def affinity(transactional_db, live_server, settings, affinity_emulator):
    """The Affinity integration on, its emulator over real HTTP."""
    settings.SANDBOX_BASE_URL = live_server.url
    settings.AFFINITY_API_URL = ""
    settings.AFFINITY_API_KEY = ""
    # Transactional tests flush the tables, data migrations' rows included.
    for code, name in (("layer", "The Layer"), ("abillity", "Abillity"), ("connect", "Connect")):
        BillingPlatform.objects.get_or_create(code=code, defaults={"name": name})
    BillingPlatform.objects.update_or_create(
        code=PLATFORM, defaults={"name": "Affinity", "integration_enabled": True}
    )
    entity_settings_ensure()
    return affinity_emulator
