"""The health endpoint that load balancers and compose health checks call."""

import pytest

pytestmark = pytest.mark.django_db


def test_health_answers_200_json_to_an_anonymous_client(client):
    response = client.get("/health/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}


def test_health_only_answers_get(client):
    assert client.post("/health/").status_code == 405
