"""The conformance suite's setup: the platforms' emulators over real HTTP (the fixtures of
the connector tests), staff clients of the public interfaces, and helpers that act only
through those interfaces: the REST API, the Billing Export files and the commands.

Records are set up as staff make them (services, factories); every rule under test is then
exercised through a public interface and checked in what the platform emulator received or
what a file holds. Dates sit within 90 days of today and quantities are 1, so the rules do
not lean on an emulator's reading of back-dating or quantities."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from tests.connectors.abillity.conftest import (  # noqa: F401  (fixtures)
    abillity,
    abillity_client,
    abillity_emulator,
)
from tests.connectors.connect.conftest import connect, connect_emulator  # noqa: F401
from tests.factories import UserFactory

TODAY = date.today()
CONNECTED = TODAY - timedelta(days=20)


def user_with(*perms: str, **fields):
    user = UserFactory(**fields)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


@pytest.fixture
def billing_api() -> APIClient:
    """A client of the REST API with the billing apps' permission (Billing Export)."""
    client = APIClient()
    client.force_authenticate(
        user_with("billing.use_billing_apps", "billing.view_salesorder", "customers.view_customer")
    )
    return client


def csv_rows(response) -> list[dict[str, str]]:
    """A CSV file answer's rows, by header."""
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def transfer(client: APIClient, route: str, *lines) -> dict:
    """Transfer to Billing through ``POST /api/v1/billing-export/transfer/``."""
    answer = client.post(
        "/api/v1/billing-export/transfer/",
        {"route": route, "lines": [line.pk for line in lines]},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    return answer.json()
