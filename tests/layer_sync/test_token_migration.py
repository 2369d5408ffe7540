"""Upgrading a database that holds DRF's plain tokens (``authtoken_token``): each key is
stored hashed and keeps working until it expires, and the plain keys are dropped
(layer_sync/accounts/migrations/0001_hash_plain_drf_tokens.py; docs/security.md).

DESIGN.md makes ``Authorization: Token <key>`` a public interface outside clients depend
on, so an upgrade must not cut them off; and "API tokens are unreadable after issue", so
no plain key may remain.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.api.conftest import user_with_perms

PLAIN_KEY = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"  # DRF's shape: 40 hex characters
ISSUED = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def make_drf_token_table(user_id: int) -> None:
    """DRF's authtoken_token as its migrations left it, holding one plain key."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created timestamp with time zone NOT NULL, user_id integer NOT NULL UNIQUE)"
            if connection.vendor == "postgresql"
            else "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created datetime NOT NULL, user_id integer NOT NULL UNIQUE)"
        )
        created = ISSUED if connection.vendor == "postgresql" else "2025-03-04 05:06:07"
        cursor.execute(
            "INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, %s, %s)",
            [PLAIN_KEY, created, user_id],
        )
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, %s)",
            ["authtoken", "0001_initial", timezone.now()],
        )
    content_type = ContentType.objects.create(app_label="authtoken", model="token")
    Permission.objects.create(content_type=content_type, codename="view_token", name="view")


@pytest.fixture(autouse=True)
def _no_plain_table_left():
    """A failed test must not leave DRF's table behind for the next (these tests commit)."""
    yield
    if "authtoken_token" in connection.introspection.table_names():
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE authtoken_token")


def unmigrate() -> None:
    """Back to before the migration (its reverse does nothing), as a database being
    upgraded is."""
    call_command("migrate", "accounts", "zero", verbosity=0)


def migrate() -> None:
    """The migration as ``manage.py migrate`` runs it (historical models and all)."""
    call_command("migrate", "accounts", verbosity=0)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_plain_drf_keys_become_hashed_tokens_that_keep_working_until_they_expire(settings):
    settings.API_TOKEN_TTL_DAYS = 90
    user = user_with_perms("customers.view_customer")
    unmigrate()
    make_drf_token_table(user.pk)

    migrate()

    token = AuthToken.objects.get()
    assert token.user == user
    assert token.digest == hash_token(PLAIN_KEY)
    assert token.token_key == PLAIN_KEY[:15]
    assert token.created == ISSUED
    expected = timezone.now() + timedelta(days=90)
    assert abs((token.expiry - expected).total_seconds()) < 60
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {PLAIN_KEY}")
    assert client.get("/api/v1/customers/").status_code == 200


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_plain_keys_their_permissions_and_migration_records_are_gone():
    user = user_with_perms()
    unmigrate()
    make_drf_token_table(user.pk)

    migrate()

    assert "authtoken_token" not in connection.introspection.table_names()
    assert not ContentType.objects.filter(app_label="authtoken").exists()
    assert not Permission.objects.filter(codename="view_token").exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM django_migrations WHERE app = 'authtoken'")
        assert cursor.fetchone()[0] == 0
    stored = " ".join(str(v) for row in AuthToken.objects.values_list() for v in row)
    assert PLAIN_KEY not in stored


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_database_that_never_had_drf_tokens_is_left_alone():
    unmigrate()
    migrate()

    assert not AuthToken.objects.exists()
