"""Hostile input anywhere (NUL bytes, deep nesting, wrong-typed ids) gets a 4xx naming what
is wrong, never a 500, and changes nothing (DESIGN.md, Reliability promises).

The issue's probe found 500s from: a NUL in a query string on the Billing Export page and
in admin filters and autocomplete (PostgreSQL refuses a NUL in text: ``DataError``), JSON
nested 5,000 deep (``RecursionError``), and a non-numeric batch sheet id (looked up before
the permission was checked). The checks live in ``layer_sync.input_checks``, applied by
``layer_sync.middleware.BadInputMiddleware`` and the API's ``CheckedJSONParser``; the URL
walk (test_url_walk_hostile_input.py) and schemathesis (test_api_schemathesis.py) repeat
them over every route and operation.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import BatchSheet
from connectors.models import SyncJob
from customers.models import Customer
from layer_sync.input_checks import (
    MAX_JSON_DEPTH,
    JSONTooDeep,
    control_character,
    json_loads_bounded,
    json_problem,
)
from tests.factories import CustomerFactory
from tests.security.conftest import staff_with

pytestmark = pytest.mark.django_db

DEEP = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"name": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}"


def nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth - 1):
        value = [value]
    return [value] if depth else value


# --- the checks themselves ----------------------------------------------------------------
@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\x9b"])
def test_control_characters_are_found(char):
    assert control_character(f"Acme{char}Ltd") == f"U+{ord(char):04X}"


@pytest.mark.parametrize("text", ["Acme Ltd", "two\nlines\r\n", "a\ttab", "Café £5 — 日本", ""])
def test_ordinary_text_tabs_and_line_breaks_pass(text):
    assert control_character(text) == ""


def test_json_at_the_depth_limit_passes_and_one_level_more_is_refused():
    assert json_problem(nested(MAX_JSON_DEPTH)) == ""
    assert "nested deeper than" in json_problem(nested(MAX_JSON_DEPTH + 1))


def test_json_with_a_nul_in_a_key_or_a_string_is_refused_naming_where():
    assert '"name"' in json_problem({"name": "Acme\x00"})
    assert "key" in json_problem({"na\x00me": "Acme"})
    assert json_problem({"sites": [{"site": "ok\x00"}]})


@pytest.mark.parametrize("raw", [DEEP, DEEP_OBJECT])
def test_json_loads_bounded_refuses_deep_nesting_without_recursion_error(raw):
    with pytest.raises(JSONTooDeep):
        json_loads_bounded(raw)


# --- the pages the probe found -----------------------------------------------------------
def test_a_nul_in_the_billing_export_search_is_a_400(superuser_client):
    response = superuser_client.get("/billing-export/?route=affinity&q=%00")

    assert response.status_code == 400
    assert "U+0000" in response.content.decode()
    assert 'The query string parameter "q"' in response.content.decode()


@pytest.mark.parametrize(
    "query", ["q=%00", "stage__exact=%00", "status__exact=lead%00", "bill_run=%00"]
)
def test_a_nul_in_an_admin_changelist_search_or_filter_is_a_400(superuser_client, query):
    response = superuser_client.get(f"{reverse('admin:customers_customer_changelist')}?{query}")

    assert response.status_code == 400


def test_a_nul_in_the_admin_autocomplete_is_a_400(superuser_client):
    response = superuser_client.get(
        "/admin/autocomplete/?term=Ac%00me&app_label=billing&model_name=accountcode"
        "&field_name=customer"
    )

    assert response.status_code == 400


def test_a_nul_in_a_path_is_a_400(superuser_client):
    response = superuser_client.get("/admin/customers/customer/1%00/change/")

    assert response.status_code == 400
    assert "The URL path" in response.content.decode()


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_a_nul_in_a_form_field_is_a_400_and_changes_nothing(superuser_client, encoding):
    customers = Customer.objects.count()
    url = reverse("admin:customers_customer_add")
    fields = {"name": "Acme\x00 Ltd", "stage": "lead"}

    if encoding == "urlencoded":
        response = superuser_client.post(
            url, urlencode(fields), content_type="application/x-www-form-urlencoded"
        )
    else:
        response = superuser_client.post(url, fields)  # the test client's multipart

    assert response.status_code == 400
    assert 'The form field "name"' in response.content.decode()
    assert Customer.objects.count() == customers


def test_a_nul_in_a_billing_export_post_is_a_400(superuser_client):
    """The page reads its search from the POST itself (no form), as a hostile client might
    send it in a multipart body."""
    response = superuser_client.post(
        "/billing-export/", {"route": "affinity", "action": "cli", "all": "1", "q": "\x00"}
    )

    assert response.status_code == 400


def test_a_nul_hidden_in_a_quoted_cookie_is_a_400(client):
    """Django unquotes a quoted cookie's octal escapes: \\000 becomes a NUL, which the
    session look-up would hand PostgreSQL."""
    response = client.get("/admin/login/", HTTP_COOKIE='sessionid="abcdefgh\\000ijklmnop"')

    assert response.status_code == 400
    assert "cookie" in response.content.decode()


def test_tabs_and_line_breaks_in_a_form_are_still_accepted(superuser_client):
    response = superuser_client.get("/billing-export/?route=affinity&q=a%09b")

    assert response.status_code == 200


# --- the API ---------------------------------------------------------------------------------
def test_the_api_answers_a_nul_in_a_query_string_with_a_json_400(api_client, superuser):
    api_client.force_authenticate(superuser)

    response = api_client.get("/api/v1/customers/?search=%00")

    assert response.status_code == 400
    assert "U+0000" in response.json()["detail"]


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["arrays", "objects"])
def test_json_nested_5000_deep_is_a_400_and_creates_nothing(api_client, superuser, body):
    api_client.force_authenticate(superuser)
    customers = Customer.objects.count()

    response = api_client.post("/api/v1/customers/", body, content_type="application/json")

    assert response.status_code == 400
    assert "nested deeper than" in response.json()["detail"]
    assert Customer.objects.count() == customers


@pytest.mark.parametrize(
    "body",
    [{"name": "Acme\x00 Ltd"}, {"name": "Acme Ltd", "bill_run": "\x1b[2J"}, {"na\x00me": "x"}],
    ids=["nul", "escape", "nul in a key"],
)
def test_json_holding_control_characters_is_a_400_and_creates_nothing(api_client, superuser, body):
    api_client.force_authenticate(superuser)

    response = api_client.post(
        "/api/v1/customers/", json.dumps(body), content_type="application/json"
    )

    assert response.status_code == 400
    assert "control character" in response.json()["detail"]
    assert not Customer.objects.exists()


def test_json_just_inside_the_depth_limit_reaches_the_serializer(api_client, superuser):
    api_client.force_authenticate(superuser)

    response = api_client.post(
        "/api/v1/customers/",
        json.dumps({"name": "Deep Ltd", "unknown": nested(MAX_JSON_DEPTH - 1)}),
        content_type="application/json",
    )

    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_a_form_patch_holding_a_nul_is_a_400_and_changes_nothing(api_client, superuser, encoding):
    """PATCH bodies are not Django's request.POST: the API's form parsers check them."""
    api_client.force_authenticate(superuser)
    customer = CustomerFactory(name="Plain Ltd")
    fields = {"name": "Acme\x00 Ltd"}

    if encoding == "urlencoded":
        response = api_client.patch(
            f"/api/v1/customers/{customer.pk}/",
            urlencode(fields),
            content_type="application/x-www-form-urlencoded",
        )
    else:
        response = api_client.patch(f"/api/v1/customers/{customer.pk}/", fields, format="multipart")

    assert response.status_code == 400
    assert "control character" in response.json()["detail"]
    customer.refresh_from_db()
    assert customer.name == "Plain Ltd"


def test_a_wrong_typed_id_in_the_api_is_a_404_or_400_never_a_500(api_client, superuser):
    api_client.force_authenticate(superuser)

    assert api_client.get("/api/v1/customers/abc/").status_code == 404
    assert api_client.get("/api/v1/customers/99999999999999999999999/").status_code == 404
    assert api_client.get("/api/v1/sites/?customer=abc").status_code == 400
    assert api_client.get("/api/v1/customers/abc/sync-status/").status_code == 404


def test_the_sync_jobs_refuse_a_deep_body_on_retry_and_change_nothing(api_client, superuser):
    api_client.force_authenticate(superuser)
    jobs = list(SyncJob.objects.values_list("pk", "status"))

    response = api_client.post(
        "/api/v1/billing-export/transfer/", DEEP, content_type="application/json"
    )

    assert response.status_code == 400
    assert list(SyncJob.objects.values_list("pk", "status")) == jobs


# --- the emulators -------------------------------------------------------------------------
def test_an_emulator_answers_deep_json_with_a_400(client):
    response = client.post("/sandbox/abillity/company", DEEP, content_type="application/json")

    assert response.status_code in (400, 401)  # refused for the body, or before it, never 500
    body = client.post("/sandbox/fake/customers", DEEP, content_type="application/json")
    assert body.status_code == 400
    assert "nested deeper than" in body.json()["message"]


def test_an_emulator_answers_a_form_body_with_a_400(client):
    """The middleware reads a POSTed form before any view; an emulator, which reads the raw
    body as JSON, then refuses it as not JSON (never a 500 for the body already read)."""
    response = client.post("/sandbox/fake/customers", {"name": "Acme"})  # multipart

    assert response.status_code == 400
    assert "not valid JSON" in response.json()["message"]


def test_the_emulator_fault_settings_refuse_deep_json(superuser_client):
    response = superuser_client.post(
        "/sandbox/abillity/_emulator/faults", DEEP, content_type="application/json"
    )

    assert response.status_code == 400


# --- the batch sheet page: permission before the look-up -----------------------------------
@pytest.mark.parametrize("object_id", ["abc", "999999", "1%20OR%201"])
def test_a_batch_sheet_page_refuses_staff_without_the_permission_whatever_the_id(object_id):
    client = Client()
    client.force_login(staff_with())

    response = client.get(f"/admin/billing/batchsheet/{object_id}/change/")

    assert response.status_code == 403


@pytest.mark.parametrize("object_id", ["abc", "999999"])
def test_a_malformed_or_missing_batch_sheet_is_the_admins_missing_record_answer(object_id):
    client = Client()
    client.force_login(staff_with("billing.view_batchsheet"))

    response = client.get(f"/admin/billing/batchsheet/{object_id}/change/")

    assert response.status_code == 302  # to the admin's index, saying it does not exist
    assert response["Location"] == reverse("admin:index")


@pytest.mark.parametrize("action", ["complete", "reopen", "approve"])
def test_a_batch_sheet_transition_checks_the_permission_before_the_sheet(action):
    assert not BatchSheet.objects.filter(pk=999999).exists()
    client = Client()
    client.force_login(staff_with("billing.view_batchsheet"))

    response = client.post(f"/admin/billing/batchsheet/999999/state/{action}/")

    assert response.status_code == 403
