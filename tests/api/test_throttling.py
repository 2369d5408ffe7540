"""The API's rate limits (layer_sync.api.throttling): per signed-in user, and per address
for anonymous callers, refused token guesses included; 429 with Retry-After past them.

The issue's probe found "the API has no rate limits"; DESIGN.md's promises include
"password guessing is throttled", which for the API means token guessing. The test
settings raise both rates out of the suite's way; each test here sets low ones (as
API_THROTTLE_USER_RATE / API_THROTTLE_ANON_RATE would) and starts from an empty cache.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from layer_sync.accounts.services import api_token_issue
from tests.api.conftest import user_with_perms
from tests.test_settings import load_settings

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/"


@pytest.fixture(autouse=True)
def low_rates(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/minute", "user": "5/minute"},
    }
    cache.clear()
    yield
    cache.clear()


def token_client(user, address: str = "192.0.2.10", **headers) -> APIClient:
    client = APIClient(REMOTE_ADDR=address, **headers)
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_issue(user=user).key}")
    return client


def bad_token_client(address: str, **headers) -> APIClient:
    client = APIClient(REMOTE_ADDR=address, **headers)
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 64)
    return client


def test_a_signed_in_user_past_the_user_rate_gets_429_with_retry_after():
    client = token_client(user_with_perms("customers.view_customer"))

    statuses = [client.get(URL).status_code for _ in range(5)]
    refused = client.get(URL)

    assert statuses == [200] * 5
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "throttled" in refused.json()["detail"].lower()


def test_each_user_has_a_rate_of_their_own():
    first = token_client(user_with_perms("customers.view_customer"))
    second = token_client(user_with_perms("customers.view_customer"))
    for _ in range(5):
        first.get(URL)

    assert first.get(URL).status_code == 429
    assert second.get(URL).status_code == 200


def test_a_session_user_is_counted_like_a_token_user():
    client = APIClient(REMOTE_ADDR="192.0.2.11")
    client.force_login(user_with_perms("customers.view_customer"))

    statuses = [client.get(URL).status_code for _ in range(6)]

    assert statuses == [200] * 5 + [429]


def test_guessing_tokens_is_throttled_per_address_after_the_anonymous_rate():
    guesser = bad_token_client("198.51.100.7")

    statuses = [guesser.get(URL).status_code for _ in range(4)]

    assert statuses == [401, 401, 401, 429]
    assert int(guesser.get(URL)["Retry-After"]) > 0


def test_requests_without_credentials_count_against_the_anonymous_rate_too():
    anonymous = APIClient(REMOTE_ADDR="198.51.100.8")

    statuses = [anonymous.get(URL).status_code for _ in range(4)]

    assert statuses == [401, 401, 401, 429]


def test_another_address_is_not_held_back_by_a_guesser():
    guesser = bad_token_client("198.51.100.9")
    for _ in range(4):
        guesser.get(URL)

    assert bad_token_client("198.51.100.10").get(URL).status_code == 401
    assert token_client(user_with_perms("customers.view_customer"), "198.51.100.9").get(
        URL
    ).status_code == (200)


def test_a_forwarded_for_header_is_ignored_without_a_trusted_proxy():
    """With no proxy configured, a client cannot pick its own address to dodge the rate."""
    statuses = [
        bad_token_client("198.51.100.11", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").get(URL)
        for n in range(4)
    ]

    assert [response.status_code for response in statuses] == [401, 401, 401, 429]


def test_behind_a_trusted_proxy_the_address_it_forwards_is_counted(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"

    for _ in range(3):
        bad_token_client(proxy, HTTP_X_FORWARDED_FOR="203.0.113.5").get(URL)
    refused = bad_token_client(proxy, HTTP_X_FORWARDED_FOR="203.0.113.5").get(URL)
    other = bad_token_client(proxy, HTTP_X_FORWARDED_FOR="spoofed, 203.0.113.6").get(URL)

    assert refused.status_code == 429
    assert other.status_code == 401  # another client behind the same proxy


def test_the_rates_come_from_the_environment_through_the_settings():
    base = {"DJANGO_SETTINGS_MODULE": "layer_sync.settings"}
    defaults = load_settings(base, "REST_FRAMEWORK")
    chosen = load_settings(
        {**base, "API_THROTTLE_USER_RATE": "100/hour", "API_THROTTLE_ANON_RATE": "5/minute"},
        "REST_FRAMEWORK",
    )

    assert "'DEFAULT_THROTTLE_RATES': {'anon': '30/minute', 'user': '600/minute'}" in (
        defaults.stdout
    ), defaults.stderr
    assert "'DEFAULT_THROTTLE_RATES': {'anon': '5/minute', 'user': '100/hour'}" in chosen.stdout
    assert "layer_sync.api.throttling.SignedInUserRateThrottle" in defaults.stdout
