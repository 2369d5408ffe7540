"""Oversized and malformed requests to the API get a JSON error naming the problem.

A 20 MB request answered with Django's HTML "Bad Request (400)" page gives an API client
nothing to read; the API speaks JSON, its refusals included. The limit is Django's
DATA_UPLOAD_MAX_MEMORY_SIZE (a body over it is refused before any view reads it: 413,
"Content Too Large", RFC 9110 section 15.5.14).
"""

import json

import pytest

from customers.models import Customer

pytestmark = pytest.mark.django_db

TWENTY_MB = 20 * 1024 * 1024


def test_a_20_mb_json_body_gets_a_413_in_json_and_saves_nothing(staff_api):
    body = json.dumps({"name": "x" * TWENTY_MB})

    response = staff_api.post("/api/v1/customers/", body, content_type="application/json")

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "larger than the 2.5 MB accepted" in response.json()["detail"]
    assert not Customer.objects.exists()


def test_a_20_mb_form_body_gets_a_413_in_json(staff_api):
    response = staff_api.post("/api/v1/customers/", {"name": "x" * TWENTY_MB}, format="multipart")

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "larger than" in response.json()["detail"]


def test_a_body_over_a_lowered_limit_is_refused_at_that_limit(staff_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    body = json.dumps({"name": "x" * (2 * 1024 * 1024)})

    response = staff_api.post("/api/v1/customers/", body, content_type="application/json")

    assert response.status_code == 413
    assert "1.0 MB" in response.json()["detail"]


def test_malformed_json_gets_a_400_in_json_that_says_it_is_not_json(staff_api):
    response = staff_api.post("/api/v1/customers/", "{bad", content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"].startswith("JSON parse error")
    assert not Customer.objects.exists()


def test_too_many_form_fields_get_a_400_in_json_naming_the_limit(staff_api, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    fields = {f"field{n}": "x" for n in range(20)}

    response = staff_api.post("/api/v1/customers/", fields, format="multipart")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "The request has more than 10 fields."}


def test_a_page_outside_the_api_says_too_large_in_plain_text(superuser_client):
    response = superuser_client.post("/admin/customers/customer/add/", {"name": "x" * TWENTY_MB})

    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/plain")
    assert b"larger than the 2.5 MB accepted" in response.content


def test_an_unknown_api_address_gets_a_404_in_json(staff_api):
    response = staff_api.get("/api/v1/no-such-resource/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "There is no such address: /api/v1/no-such-resource/"}


def test_an_unknown_page_elsewhere_keeps_djangos_404_page(superuser_client):
    response = superuser_client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
