"""The URL walk (test_url_permissions.py) again, with hostile input: on every route and every
admin model page, a NUL in the query string, the path or the form is a 400, a JSON body
nested 5,000 deep is a 400, an id of the wrong type or a missing one is never a 500, and
a user without the permission is refused before anything is looked up (so a missing id
gets the same 403 as an existing one: the refusal says nothing of what exists).

DESIGN.md, Reliability promises: "Hostile input anywhere (NUL bytes, deep nesting,
wrong-typed ids) gets a 4xx, never a 500". Each request is made by a user holding exactly
the permission the route needs (the walk's own), so the refusal is the input's, not the
permission's.
"""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.test import Client
from rest_framework.test import APIClient

from tests.api.conftest import user_with_perms
from tests.security.conftest import staff_with
from tests.security.test_url_permissions import (
    ADMIN_MODELS,
    ALL_CHECKS,
    Check,
    admin_request,
    filled,
    first_id,
    model_urls,
    send,
)

pytestmark = pytest.mark.django_db

DEEP = "[" * 5000 + "]" * 5000
# A route's object id in a URL template: "{customer}", "{job}", ...
ID_FIELD = re.compile(r"\{(\w+)\}")
WALKED = [c for c in ALL_CHECKS if c.kind != "public"]


def permitted_client(check: Check):
    user = staff_with(*check.perms) if check.staff else user_with_perms(*check.perms)
    client = Client() if check.staff else APIClient()
    client.force_login(user)
    return client


def with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


def is_refusal_of_the_input(response) -> bool:
    return response.status_code == 400 and b"control character" in response.content


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.id)
def test_a_nul_in_the_query_string_is_a_400_on_every_route(check, records):
    client = permitted_client(check) if check.kind != "public" else Client()
    url, data = filled(check, records)
    url = with_query(url, "q=a%00b")

    if check.kind == "api":
        response = getattr(client, check.method)(url, data, format=check.format)
    else:
        response = getattr(client, check.method)(url, data or {})

    assert is_refusal_of_the_input(response), (response.status_code, response.content[:200])


@pytest.mark.parametrize(
    "check", [c for c in WALKED if ID_FIELD.search(c.url.split("?")[0])], ids=lambda c: c.id
)
def test_a_nul_in_place_of_an_id_in_the_path_is_a_400(check, records):
    url = ID_FIELD.sub("1%00", check.url, count=1).format(**records)
    hostile = Check(check.method, url, check.perms, check.ok, check.data, check.kind, check.staff)

    response = send(permitted_client(check), hostile, records)

    assert is_refusal_of_the_input(response), (response.status_code, response.content[:200])


@pytest.mark.parametrize(
    "check", [c for c in WALKED if c.method == "post" and c.kind == "staff"], ids=lambda c: c.id
)
def test_a_nul_in_a_posted_form_field_is_a_400(check, records):
    url, data = filled(check, records)

    response = permitted_client(check).post(url, {**(data or {}), "note": "a\x00b"})

    assert is_refusal_of_the_input(response), (response.status_code, response.content[:200])


@pytest.mark.parametrize(
    "check",
    [c for c in WALKED if c.kind == "api" and c.method in ("post", "patch") and c.format == "json"],
    ids=lambda c: c.id,
)
def test_a_json_body_nested_5000_deep_is_a_400_on_every_api_write(check, records):
    """An action that takes no body (convert, retry, rematch: the walk sends none) never
    reads it, so answers as it would without one; every other is refused with a 400."""
    url, _ = filled(check, records)

    response = getattr(permitted_client(check), check.method)(
        url, DEEP, content_type="application/json"
    )

    if check.data is None:
        assert response.status_code in check.ok, (response.status_code, response.content[:200])
    else:
        assert response.status_code == 400, (response.status_code, response.content[:200])
        assert b"nested deeper than" in response.content


@pytest.mark.parametrize(
    "check",
    [c for c in WALKED if c.perms and ID_FIELD.search(c.url.split("?")[0])],
    ids=lambda c: c.id,
)
@pytest.mark.parametrize("object_id", ["987654321", "abc"], ids=["missing id", "non-numeric id"])
def test_without_the_permission_a_missing_or_malformed_id_gets_the_same_refusal(
    check, records, object_id
):
    """Permission before any look-up (the batch sheet page looked its sheet up first)."""
    user = staff_with() if check.staff else user_with_perms()
    client = Client() if check.staff else APIClient()
    client.force_login(user)
    url = ID_FIELD.sub(object_id, check.url, count=1)
    hostile = Check(check.method, url, check.perms, check.ok, check.data, check.kind, check.staff)

    response = send(client, hostile, records)

    if object_id == "abc" and response.status_code in (301, 302, 404):
        # A pattern that takes digits alone (<int:...>) does not match: the resolver (404)
        # or the admin's catch-all (a redirect to its own URL shape) answers before any
        # view or look-up runs, for everyone alike.
        assert "987654321" not in response.get("Location", "")
    else:
        assert response.status_code in check.refused, (response.status_code, response.content[:200])


# --- the admin's model pages -----------------------------------------------------------------
def filter_params(model) -> list[str]:
    """A query parameter for each filter of the model's changelist (by field name)."""
    model_admin = admin.site._registry[model]
    params = []
    for entry in model_admin.list_filter:
        name = entry[0] if isinstance(entry, tuple | list) else entry
        if isinstance(name, str):
            params.append(f"{name}__exact")
    return params


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m._meta.label)
def test_a_nul_in_an_admin_changelists_search_or_filters_is_a_400(model, records, superuser):
    client = Client()
    client.force_login(superuser)
    changelist = model_urls(model, first_id(model))["changelist"]

    for param in ["q", *filter_params(model)]:
        response = client.get(f"{changelist}?{param}=a%00b")
        assert is_refusal_of_the_input(response), (param, response.status_code)


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m._meta.label)
def test_an_admin_page_with_a_malformed_or_missing_id_is_never_a_500(model, records, superuser):
    """The admin's answer for a record that is not there (a redirect to its index saying
    so), or 403 where the admin offers no such page at all; a NUL is a 400."""
    client = Client()
    client.force_login(superuser)
    model_admin = admin.site._registry[model]
    request = admin_request(superuser)
    offered = {
        "change": model_admin.has_view_or_change_permission(request),
        "history": model_admin.has_view_or_change_permission(request),
        "delete": model_admin.has_delete_permission(request),
    }

    for object_id in ("abc", "987654321", "1%00"):
        for page, url in model_urls(model, "OBJECT").items():
            if "OBJECT" not in url:
                continue
            response = client.get(url.replace("OBJECT", object_id))
            missing = (302, 404) if offered[page] else (403,)
            expected = (400,) if "%00" in object_id else missing
            assert response.status_code in expected, (page, object_id, response.status_code)


@pytest.mark.parametrize(
    "model",
    [m for m in ADMIN_MODELS if admin.site._registry[m].search_fields],
    ids=lambda m: m._meta.label,
)
def test_the_admin_autocomplete_refuses_a_nul_in_its_term(model, records, superuser):
    client = Client()
    client.force_login(superuser)
    meta = model._meta

    response = client.get(
        f"/admin/autocomplete/?term=a%00b&app_label={meta.app_label}&model_name={meta.model_name}"
        "&field_name=customer"
    )

    assert is_refusal_of_the_input(response), response.status_code
