"""Fixtures of the Abillity tests: the emulator over real HTTP, the integration on."""

import pytest

import connectors.abillity.sync  # noqa: F401  (registers the connector and emulator)
from billing.models import BillingPlatform
from connectors.abillity.client import AbillityClient
from connectors.abillity.sandbox import PLATFORM, SANDBOX_CREDENTIALS
from connectors.abillity.sync import sandbox_charge_types_ensure
from connectors.engine.entity_settings import entity_settings_ensure
from connectors.models import ValueMapping
from connectors.sandbox import emulator_for


@pytest.fixture
def abillity_emulator():
    emulator = emulator_for(PLATFORM)
    emulator.reset()
    yield emulator
    emulator.reset()


@pytest.fixture
def abillity_client(live_server, abillity_emulator) -> AbillityClient:
    """A client of the emulator served by the live server, with the sandbox login."""
    return AbillityClient(
        f"{live_server.url}/sandbox/abillity/",
        system_information=SANDBOX_CREDENTIALS["systeminformation"],
        username=SANDBOX_CREDENTIALS["username"],
        password=SANDBOX_CREDENTIALS["password"],
        timeout=(2, 5),
    )


@pytest.fixture
def abillity(transactional_db, live_server, settings, abillity_emulator):
    """The Abillity integration on, its emulator over real HTTP, the demo's id mappings."""
    settings.SANDBOX_BASE_URL = live_server.url
    # Transactional tests flush the tables, data migrations' rows included.
    BillingPlatform.objects.update_or_create(
        code=PLATFORM, defaults={"name": "Abillity", "integration_enabled": True}
    )
    entity_settings_ensure()
    for kind, value, external in (
        ("bill_run", "Monthly 1st", "1"),
        ("bill_run", "Monthly 15th", "2"),
        ("payment_method", "Direct Debit", "1"),
        ("payment_method", "BACS", "2"),
        ("payment_method", "Card", "3"),
    ):
        ValueMapping.objects.update_or_create(
            platform=PLATFORM, kind=kind, layer_value=value, defaults={"external_value": external}
        )
    sandbox_charge_types_ensure()  # the emulator's charge types with their frequencies
    return abillity_emulator
