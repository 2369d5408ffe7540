"""Fixtures of the API tests: clients authenticated as users with chosen permissions."""

from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from layer_sync.accounts.services import api_token_issue
from tests.factories import UserFactory

User = get_user_model()


def token_key_for(user: User) -> str:
    """A new API token's key for ``user`` (as a client gets it: shown once, stored hashed)."""
    return api_token_issue(user=user).key


def user_with_perms(*perms: str) -> User:
    """A new user holding exactly `perms` ("app_label.codename"), loaded fresh.

    Loading it again matters: Django caches a user's permissions on the
    instance the first time they are checked.
    """
    user = UserFactory()
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return User.objects.get(pk=user.pk)


@pytest.fixture
def staff_user(db) -> User:
    """Billing staff: every permission of the customers and billing apps, not a superuser."""
    user = UserFactory(username="billing-staff")
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["customers", "billing"])
    )
    return User.objects.get(pk=user.pk)


@pytest.fixture
def staff_api(api_client: APIClient, staff_user: User) -> APIClient:
    api_client.force_authenticate(user=staff_user)
    return api_client


@pytest.fixture
def api_as(api_client: APIClient, db) -> Callable[..., APIClient]:
    """`api_as("customers.view_customer", ...)`: the client, as a new user with those perms."""

    def authenticate(*perms: str) -> APIClient:
        api_client.force_authenticate(user=user_with_perms(*perms))
        return api_client

    return authenticate
