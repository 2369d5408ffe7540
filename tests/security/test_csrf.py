"""CSRF: every page that changes data refuses a POST (or PATCH) made without the CSRF token,
and changes nothing.

The requests are those of the URL walk (tests/security/test_url_permissions.py) that
write, made by a signed-in superuser through a session, plus the admin's own add, change,
delete and action POSTs of every registered model. The sandbox emulators' platform API
is exempt by design (a platform is called with its own credentials, never a session).
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tests.security.test_url_permissions import ADMIN_MODELS, ALL_CHECKS, first_id, send

pytestmark = pytest.mark.django_db

WRITES = [c for c in ALL_CHECKS if c.method in ("post", "patch", "put", "delete")]


def database_state() -> dict[str, list[dict]]:
    """Every row of every model (the data set is small)."""
    return {
        model._meta.label: list(model._default_manager.order_by("pk").values())
        for model in apps.get_models()
        if not model._meta.proxy and model._meta.label != "sessions.Session"
    }


def test_every_write_of_the_walk_is_checked_here():
    assert len(WRITES) >= 20
    assert {"post", "patch"} <= {c.method for c in WRITES}


@pytest.mark.parametrize("check", WRITES, ids=lambda c: c.id)
def test_a_write_without_the_csrf_token_is_refused_and_changes_nothing(check, records, superuser):
    client = APIClient(enforce_csrf_checks=True) if check.kind == "api" else Client(
        enforce_csrf_checks=True
    )  # fmt: skip
    client.force_login(superuser)  # a session, as a browser has (not a token)
    before = database_state()

    response = send(client, check, records)

    assert response.status_code == 403, (response.status_code, response.content[:300])
    assert b"CSRF" in response.content
    assert database_state() == before


def admin_writes(model, object_id) -> dict[str, tuple[str, dict]]:
    info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    return {
        "add": (reverse(f"{info}_add"), {}),
        "change": (reverse(f"{info}_change", args=[object_id]), {}),
        "delete": (reverse(f"{info}_delete", args=[object_id]), {"post": "yes"}),
        "action": (
            reverse(f"{info}_changelist"),
            {"action": "delete_selected", "_selected_action": [object_id], "post": "yes"},
        ),
    }


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m._meta.label)
def test_admin_add_change_delete_and_actions_refuse_a_post_without_the_csrf_token(
    model, records, superuser
):
    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser)
    before = database_state()

    for page, (url, data) in admin_writes(model, first_id(model)).items():
        response = client.post(url, data)
        assert response.status_code == 403, (page, response.status_code)
        assert b"CSRF" in response.content, page

    assert database_state() == before
    assert model in admin.site._registry


def test_the_same_admin_delete_with_the_csrf_token_goes_through(records, superuser):
    """The control: the refusals above are CSRF's, not something else's."""
    customer_class = apps.get_model("customers", "CustomerClass").objects.get(code="WALK")
    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser)
    url = reverse("admin:customers_customerclass_delete", args=[customer_class.pk])
    client.get(url)  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value

    response = client.post(url, {"post": "yes", "csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert not type(customer_class).objects.filter(pk=customer_class.pk).exists()


def test_a_session_api_write_with_the_csrf_token_goes_through(records, superuser):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(superuser)
    client.get("/admin/")  # any page that renders the token sets the cookie
    token = client.cookies["csrftoken"].value

    response = client.post(
        "/api/v1/customers/", {"name": "Tokened Ltd"}, format="json", HTTP_X_CSRFTOKEN=token
    )

    assert response.status_code == 201, response.content
