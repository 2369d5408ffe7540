"""Fixtures of the sync engine tests: the fake platform served over real HTTP."""

import pytest

from billing.models import BillingPlatform
from connectors.sandbox import emulator_for
from connectors.services import entity_settings_ensure
from tests.connectors.fake import PLATFORM


@pytest.fixture
def fake_emulator():
    emulator = emulator_for(PLATFORM)
    emulator.reset()
    yield emulator
    emulator.reset()


@pytest.fixture
def fake_platform(transactional_db, live_server, settings, fake_emulator):
    """The fake platform's integration on, its emulator served by a live HTTP server."""
    settings.SANDBOX_BASE_URL = live_server.url
    BillingPlatform.objects.update_or_create(
        code=PLATFORM, defaults={"name": "Fake platform", "integration_enabled": True}
    )
    entity_settings_ensure()
    return fake_emulator
