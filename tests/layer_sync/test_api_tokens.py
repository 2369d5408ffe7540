"""API tokens (layer_sync.accounts): hashed at rest, shown once when issued, expiring,
revocable, listed by prefix only.

The rules are DESIGN.md's: "API tokens are unreadable after issue" (Reliability promises),
and "Token authentication is DRF's scheme (``Authorization: Token <key>``; ``manage.py
drf_create_token USER`` issues one)" (Public interfaces), which outside clients depend on.
The probe that found the gap: a staff user whose role holds "view token" read the
superuser's key in DRF's token admin and wrote through the API with it.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from customers.models import Customer
from layer_sync.accounts.selectors import api_token_by_prefix
from layer_sync.accounts.services import api_token_issue
from tests.api.conftest import user_with_perms
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

KEY = re.compile(r"\b[0-9a-f]{64}\b")


def api(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def stored_text() -> str:
    """Every column of every token row, as text."""
    return " ".join(str(value) for row in AuthToken.objects.values_list() for value in row)


def staff_with(*perms: str):
    user = user_with_perms(*perms)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return type(user).objects.get(pk=user.pk)


# --- hashed at rest, DRF's header scheme --------------------------------------------------
def test_an_issued_key_is_stored_nowhere_only_its_digest_and_prefix():
    issued = api_token_issue(user=UserFactory())

    assert KEY.fullmatch(issued.key)
    assert issued.key not in stored_text()
    token = AuthToken.objects.get()
    assert token.token_key == issued.key[:15] == issued.prefix
    assert token.digest != issued.key and len(token.digest) == 128


def test_the_key_works_with_drfs_token_header_and_a_wrong_one_does_not():
    user = user_with_perms("customers.view_customer")
    issued = api_token_issue(user=user)
    CustomerFactory()

    assert api(issued.key).get("/api/v1/customers/").status_code == 200
    wrong = issued.key[:-1] + ("0" if issued.key[-1] != "0" else "1")
    refused = api(wrong).get("/api/v1/customers/")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize(
    "header",
    [
        "Token \x00" + "a" * 63,
        "Token " + "a" * 32 + "\x00" + "a" * 31,
        "Token \xff\xfe" + "a" * 62,
        "Token " + "g" * 64,
        "Token " + "a" * 15,
        "Token " + "a" * 500,
        "Token a b",
        "Token",
    ],
    ids=["nul", "nul inside", "non-ascii", "not hex", "short", "long", "spaces", "no key"],
)
def test_a_malformed_key_is_a_401_never_a_500(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/api/v1/customers/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_token_expires():
    user = user_with_perms("customers.view_customer")
    issued = api_token_issue(user=user, days=1)
    assert api(issued.key).get("/api/v1/customers/").status_code == 200

    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))

    assert api(issued.key).get("/api/v1/customers/").status_code == 401


def test_every_token_expires_after_the_configured_days_by_default(settings):
    settings.API_TOKEN_TTL_DAYS = 30

    issued = api_token_issue(user=UserFactory())

    expected = timezone.now() + timedelta(days=30)
    assert abs((issued.expiry - expected).total_seconds()) < 60


@pytest.mark.parametrize("days", [0, -1, 367, 10_000])
def test_a_lifetime_outside_one_day_to_the_maximum_is_refused(days):
    with pytest.raises(ValidationError, match="days"):
        api_token_issue(user=UserFactory(), days=days)

    assert not AuthToken.objects.exists()


def test_a_revoked_token_is_refused_from_its_next_request():
    user = user_with_perms("customers.view_customer")
    issued = api_token_issue(user=user)
    client = api(issued.key)
    assert client.get("/api/v1/customers/").status_code == 200

    call_command("api_token", "revoke", issued.prefix, stdout=io.StringIO())

    assert client.get("/api/v1/customers/").status_code == 401


def test_an_inactive_users_token_is_refused_and_none_is_issued_to_one():
    user = user_with_perms("customers.view_customer")
    issued = api_token_issue(user=user)
    user.is_active = False
    user.save()

    assert api(issued.key).get("/api/v1/customers/").status_code == 401
    with pytest.raises(ValidationError, match="inactive"):
        api_token_issue(user=user)


# --- who may issue one ---------------------------------------------------------------------
def test_issuing_needs_the_add_token_permission():
    issuer = staff_with()

    with pytest.raises(ValidationError, match=r"knox\.add_authtoken"):
        api_token_issue(user=issuer, issuer=issuer)


def test_a_user_with_the_add_token_permission_may_issue_their_own():
    issuer = staff_with("knox.add_authtoken")

    assert api_token_issue(user=issuer, issuer=issuer).username == issuer.username


def test_issuing_for_another_user_also_needs_the_change_user_permission():
    issuer = staff_with("knox.add_authtoken")
    other = UserFactory()

    with pytest.raises(ValidationError, match=r"auth\.change_user"):
        api_token_issue(user=other, issuer=issuer)
    assert api_token_issue(
        user=other, issuer=staff_with("knox.add_authtoken", "auth.change_user")
    ).username == (other.username)


def test_only_a_superuser_may_issue_a_superusers_token():
    superuser = UserFactory(is_staff=True, is_superuser=True)
    issuer = staff_with("knox.add_authtoken", "auth.change_user")

    with pytest.raises(ValidationError, match="Only a superuser"):
        api_token_issue(user=superuser, issuer=issuer)
    assert not AuthToken.objects.exists()


# --- the admin: listed by prefix, issued once ----------------------------------------------
def test_a_staff_user_who_may_view_tokens_sees_prefixes_never_a_key():
    """The probe's case: "view token" (a read-only-everything role) must not open the API.
    (The digest names the row in its URL, as a primary key: it cannot be turned back into
    the key, and the key is what authenticates.)"""
    superuser = UserFactory(is_staff=True, is_superuser=True)
    issued = api_token_issue(user=superuser)
    digest = AuthToken.objects.get().digest
    client = Client()
    client.force_login(staff_with("knox.view_authtoken"))

    listing = client.get(reverse("admin:knox_authtoken_changelist"))
    page = client.get(reverse("admin:knox_authtoken_change", args=[digest]))

    for response in (listing, page):
        assert response.status_code == 200
        text = response.content.decode()
        assert issued.key not in text
        assert f"{issued.prefix}…" in text
        assert "field-digest" not in text
        assert f">{digest}<" not in text
    assert client.get(reverse("admin:knox_authtoken_add")).status_code == 403


def test_deleting_a_token_in_the_admin_revokes_it():
    superuser = UserFactory(is_staff=True, is_superuser=True)
    user = user_with_perms("customers.view_customer")
    issued = api_token_issue(user=user)
    client = Client()
    client.force_login(superuser)

    response = client.post(
        reverse("admin:knox_authtoken_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [AuthToken.objects.get().pk],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert not AuthToken.objects.exists()
    assert api(issued.key).get("/api/v1/customers/").status_code == 401


def test_the_users_action_issues_a_token_and_shows_its_key_once_uncached():
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    user = user_with_perms("customers.view_customer")
    client = Client()
    client.force_login(admin_user)
    changelist = reverse("admin:auth_user_changelist")
    chosen = {"action": "issue_api_token", "_selected_action": [user.pk]}

    asked = client.post(changelist, chosen)
    assert asked.status_code == 200
    assert b'name="days"' in asked.content
    assert not AuthToken.objects.exists()  # nothing until confirmed

    shown = client.post(changelist, {**chosen, "confirmed": "yes", "days": "7"})

    assert shown.status_code == 200
    (key,) = KEY.findall(shown.content.decode())
    assert "no-store" in shown["Cache-Control"]
    token = AuthToken.objects.get()
    assert token.user == user
    assert abs((token.expiry - timezone.now() - timedelta(days=7)).total_seconds()) < 60
    assert api(key).get("/api/v1/customers/").status_code == 200
    assert key not in client.get(reverse("admin:knox_authtoken_changelist")).content.decode()


def test_the_users_action_refuses_what_the_issuer_may_not_and_says_why():
    issuer = staff_with("knox.add_authtoken", "auth.change_user", "auth.view_user")
    superuser = UserFactory(is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(issuer)

    response = client.post(
        reverse("admin:auth_user_changelist"),
        {
            "action": "issue_api_token",
            "_selected_action": [superuser.pk],
            "confirmed": "yes",
            "days": "7",
        },
    )

    assert response.status_code == 200
    assert "Only a superuser" in response.content.decode()
    assert not AuthToken.objects.exists()


def test_the_users_action_is_offered_only_with_the_add_token_permission():
    viewer = staff_with("auth.view_user", "auth.change_user")
    client = Client()
    client.force_login(viewer)

    page = client.get(reverse("admin:auth_user_changelist")).content.decode()

    assert "issue_api_token" not in page
    client.force_login(staff_with("auth.view_user", "knox.add_authtoken"))
    assert "issue_api_token" in client.get(reverse("admin:auth_user_changelist")).content.decode()


# --- the commands ---------------------------------------------------------------------------
def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_drf_create_token_keeps_its_name_and_prints_the_key_once_with_its_expiry():
    user = user_with_perms("customers.view_customer")

    output = run("drf_create_token", user.username)

    match = re.search(
        rf"Generated token ([0-9a-f]{{64}}) for user {user.username}; it expires", output
    )
    assert match, output
    assert api(match.group(1)).get("/api/v1/customers/").status_code == 200
    token = AuthToken.objects.get()
    assert f"{token.expiry:%Y-%m-%d}" in output
    assert match.group(1) not in stored_text()


def test_drf_create_token_reset_revokes_the_users_other_tokens():
    user = user_with_perms("customers.view_customer")
    first = KEY.search(run("drf_create_token", user.username)).group()
    second = KEY.search(run("drf_create_token", user.username)).group()
    assert AuthToken.objects.count() == 2

    third = KEY.search(run("drf_create_token", "-r", user.username)).group()

    assert AuthToken.objects.count() == 1
    assert api(first).get("/api/v1/customers/").status_code == 401
    assert api(second).get("/api/v1/customers/").status_code == 401
    assert api(third).get("/api/v1/customers/").status_code == 200


@pytest.mark.parametrize("username", ["nobody", "bad\x00name"])
def test_the_commands_refuse_an_unknown_or_malformed_user_name(username):
    with pytest.raises(CommandError):
        run("drf_create_token", username)
    with pytest.raises(CommandError):
        run("api_token", "issue", username)
    assert not AuthToken.objects.exists()


def test_api_token_issue_list_and_revoke():
    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob")

    issued = run("api_token", "issue", "alice", "--days", "10")
    run("api_token", "issue", "bob")
    key = KEY.search(issued).group()
    listing = run("api_token", "list")

    assert key not in listing
    assert f"{key[:15]}..." in listing
    assert "alice" in listing and "bob" in listing
    assert "bob" not in run("api_token", "list", "--user", "alice")
    assert "Revoked 1 API token." in run("api_token", "revoke", key[:8])
    assert not AuthToken.objects.filter(user=alice).exists()
    assert "Revoked 1 API token." in run("api_token", "revoke", "--user", "bob")
    assert not AuthToken.objects.filter(user=bob).exists()


@pytest.mark.parametrize("prefix", ["abc", "zzzzzzzz", "ab\x00cdefg", "ffffffffffff"])
def test_revoking_by_a_prefix_that_names_no_single_token_changes_nothing(prefix):
    api_token_issue(user=UserFactory())

    with pytest.raises(CommandError):
        run("api_token", "revoke", prefix)

    assert AuthToken.objects.count() == 1


def test_a_prefix_shared_by_two_tokens_is_refused():
    user = UserFactory()
    api_token_issue(user=user)
    api_token_issue(user=user)
    AuthToken.objects.update(token_key="abcdef000000000")

    with pytest.raises(ValidationError, match="Several"):
        api_token_by_prefix("abcdef")


def test_a_token_acts_with_its_users_permissions_only():
    user = user_with_perms("customers.view_customer")
    client = api(api_token_issue(user=user).key)

    assert client.get("/api/v1/customers/").status_code == 200
    assert client.post("/api/v1/customers/", {"name": "Forged Ltd"}).status_code == 403
    assert not Customer.objects.filter(name="Forged Ltd").exists()
    assert Permission.objects.filter(codename="add_authtoken").exists()
