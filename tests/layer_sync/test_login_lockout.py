"""The admin login lockout (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one
user name from one address, that pair is locked out, even with the right password, for
AXES_COOLOFF_MINUTES or until reset (docs/security.md).

The issue's probe: "40 wrong admin passwords in a row, then the right one, logs in at
once". DESIGN.md promises "password guessing is throttled". The test settings switch the
lockout off for the rest of the suite; every test here switches it on, with the defaults
the settings give (5 failures, 30 minutes), and logs in through the admin's own form.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from layer_sync import settings as base_settings
from tests.factories import UserFactory
from tests.test_settings import load_settings

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # the factory's
LOGIN = "/admin/login/"
ATTACKER = "198.51.100.20"


@pytest.fixture(autouse=True)
def lockout_on(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = base_settings.AXES_FAILURE_LIMIT
    settings.AXES_COOLOFF_TIME = base_settings.AXES_COOLOFF_TIME
    settings.AXES_LOCKOUT_PARAMETERS = base_settings.AXES_LOCKOUT_PARAMETERS


@pytest.fixture
def staff():
    return UserFactory(username="alice", is_staff=True, is_superuser=True)


def log_in(username: str, password: str, address: str = ATTACKER, **headers):
    client = Client(REMOTE_ADDR=address, **headers)
    response = client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})
    return response, client


def signed_in(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


def fail(username: str, times: int, address: str = ATTACKER, **headers) -> list[int]:
    return [log_in(username, "wrong", address, **headers)[0].status_code for _ in range(times)]


def test_the_defaults_lock_a_user_and_address_pair_after_five_failures_for_30_minutes():
    assert base_settings.AXES_FAILURE_LIMIT == 5
    assert timedelta(minutes=30) == base_settings.AXES_COOLOFF_TIME
    assert base_settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert base_settings.AXES_RESET_ON_SUCCESS is True
    assert base_settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
    assert base_settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


def test_after_the_limit_even_the_right_password_is_refused_with_the_lockout_page(staff):
    assert fail("alice", 4) == [200] * 4  # the form again, with its error

    fifth, _ = log_in("alice", "wrong")
    right, client = log_in("alice", PASSWORD)

    assert fifth.status_code == 429
    assert right.status_code == 429
    page = right.content.decode()
    assert "Too many failed logins" in page
    assert "axes_reset_username alice" in page
    assert not signed_in(client)


def test_forty_wrong_passwords_then_the_right_one_does_not_log_in(staff):
    """The probe, as it was run."""
    statuses = fail("alice", 40)
    right, client = log_in("alice", PASSWORD)

    assert statuses[:4] == [200] * 4
    assert set(statuses[4:]) == {429}
    assert right.status_code == 429
    assert not signed_in(client)
    assert AccessAttempt.objects.get(username="alice").failures_since_start >= 5


def test_the_same_user_from_another_address_still_logs_in(staff):
    fail("alice", 5)

    response, client = log_in("alice", PASSWORD, address="203.0.113.9")

    assert response.status_code == 302
    assert signed_in(client)


def test_another_user_from_the_locked_address_still_logs_in(staff):
    UserFactory(username="bob", is_staff=True)
    fail("alice", 5)

    response, client = log_in("bob", PASSWORD)

    assert response.status_code == 302
    assert signed_in(client)


def test_a_successful_login_before_the_limit_starts_the_count_again(staff):
    fail("alice", 4)
    assert log_in("alice", PASSWORD)[0].status_code == 302

    fail("alice", 4)
    response, client = log_in("alice", PASSWORD)

    assert response.status_code == 302
    assert signed_in(client)


def test_the_lockout_ends_after_the_cool_off(staff):
    fail("alice", 5)
    assert log_in("alice", PASSWORD)[0].status_code == 429

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=31))
    response, client = log_in("alice", PASSWORD)

    assert response.status_code == 302
    assert signed_in(client)


@pytest.mark.parametrize(
    "command", [("axes_reset_username", "alice"), ("axes_reset_ip", ATTACKER), ("axes_reset",)]
)
def test_the_documented_reset_commands_unlock_at_once(staff, command):
    fail("alice", 5)

    call_command(*command, stdout=io.StringIO())
    response, client = log_in("alice", PASSWORD)

    assert response.status_code == 302
    assert signed_in(client)


def test_a_client_cannot_dodge_the_lockout_with_x_forwarded_for(staff):
    """Without a trusted proxy (DJANGO_TRUSTED_PROXY_COUNT=0), the header is not believed."""
    for n in range(5):
        log_in("alice", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")

    response, _ = log_in("alice", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.200")

    assert response.status_code == 429


def test_behind_a_trusted_proxy_the_client_address_is_the_forwarded_one(staff, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    fail("alice", 5, address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.7")

    locked, _ = log_in("alice", PASSWORD, proxy, HTTP_X_FORWARDED_FOR="203.0.113.7")
    other, client = log_in("alice", PASSWORD, proxy, HTTP_X_FORWARDED_FOR="203.0.113.8")

    assert locked.status_code == 429
    assert other.status_code == 302  # another client behind the same proxy
    assert signed_in(client)


def test_the_limit_and_cool_off_come_from_the_environment():
    base = {"DJANGO_SETTINGS_MODULE": "layer_sync.settings"}
    chosen = load_settings(
        {
            **base,
            "AXES_FAILURE_LIMIT": "3",
            "AXES_COOLOFF_MINUTES": "0",
            "AXES_LOCKOUT_PARAMETERS": "username+ip_address,ip_address",
        },
        "AXES_FAILURE_LIMIT",
        "AXES_COOLOFF_TIME",
        "AXES_LOCKOUT_PARAMETERS",
    )

    assert "AXES_FAILURE_LIMIT=3" in chosen.stdout, chosen.stderr
    assert "AXES_COOLOFF_TIME=None" in chosen.stdout  # locked until reset
    assert "AXES_LOCKOUT_PARAMETERS=[['username', 'ip_address'], ['ip_address']]" in chosen.stdout


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AXES_FAILURE_LIMIT", "0"),
        ("AXES_COOLOFF_MINUTES", "-5"),
        ("AXES_LOCKOUT_PARAMETERS", "username+password"),
    ],
)
def test_a_lockout_setting_that_makes_no_sense_refuses_to_start(variable, value):
    result = load_settings(
        {"DJANGO_SETTINGS_MODULE": "layer_sync.settings", variable: value}, "DEBUG"
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr
