"""Fixtures of the Connect tests: the emulator over real HTTP, the integration on."""

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

import connectors.connect.sync  # noqa: F401  (registers the connector and emulator)
from billing.models import BillingPlatform
from connectors.connect.client import ConnectClient
from connectors.connect.sandbox import PLATFORM, SANDBOX_TOKEN
from connectors.sandbox import emulator_for
from tests.factories import UserFactory

SEND_PERMISSIONS = ("connectors.add_syncjob", "connectors.view_syncjob", "customers.view_customer")


@pytest.fixture
def connect_emulator():
    emulator = emulator_for(PLATFORM)
    emulator.reset()
    yield emulator
    emulator.reset()


@pytest.fixture
def connect_client(live_server, connect_emulator) -> ConnectClient:
    """A client of the emulator served by the live server, with the sandbox token."""
    client = ConnectClient(
        f"{live_server.url}/sandbox/connect/", token=SANDBOX_TOKEN, timeout=(2, 5)
    )
    yield client
    client.close()


@pytest.fixture
def connect(transactional_db, live_server, settings, connect_emulator):
    """The Connect integration on, its emulator over real HTTP."""
    settings.SANDBOX_BASE_URL = live_server.url
    BillingPlatform.objects.update_or_create(
        code=PLATFORM, defaults={"name": "Connect", "integration_enabled": True}
    )
    return connect_emulator


def user_with(*perms: str, **fields):
    user = UserFactory(**fields)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


@pytest.fixture
def sender(connect):
    """A staff user who may send customers to Connect."""
    return user_with(*SEND_PERMISSIONS, is_staff=True)


@pytest.fixture
def sender_api(sender) -> APIClient:
    api = APIClient()
    api.force_authenticate(sender)
    return api
