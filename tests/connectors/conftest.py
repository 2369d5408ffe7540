"""Fixtures of the sync engine tests: the fake platform served over real HTTP."""

import socket

import pytest

from billing.models import BillingPlatform
from connectors.engine import publish
from connectors.engine.entity_settings import entity_settings_ensure
from connectors.sandbox import emulator_for
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


@pytest.fixture
def publish_calls(monkeypatch):
    """The engine's task publishes, recorded instead of sent (nothing runs on commit).

    Each call is (platform, entity, object id, countdown): the tests of what is
    queued and when look at these, and run jobs themselves.
    """
    calls: list[tuple[str, str, int, float]] = []

    def record(platform: str, entity: str, object_id: int, *, countdown: float = 0) -> bool:
        calls.append((platform, entity, object_id, countdown))
        return True

    monkeypatch.setattr(publish, "job_publish", record)
    return calls


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
