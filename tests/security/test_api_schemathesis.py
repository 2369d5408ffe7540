"""Schemathesis against the OpenAPI schema at /api/schema/: no generated request to any
operation gets a server error (5xx), signed in as a superuser with a token; and every
operation answers hostile input with a 400 (DESIGN.md: "Hostile input anywhere (NUL bytes,
deep nesting, wrong-typed ids) gets a 4xx, never a 500"): a NUL in each of its declared
path and query parameters (or, for one that has none, in its body), and a JSON body nested
5,000 deep where it takes JSON.

The schema is loaded from the Django WSGI application itself (``from_wsgi``, no server).
One test per operation (the list is drf-spectacular's, the generator that serves
/api/schema/; each test checks it matches what the endpoint serves), with a few
derandomised examples each, so the run is short and repeatable. The platforms point at
a closed port, so operations that ask one (Send to Connect, reconciliation) get their
documented 502/503, never a hang.

Schemathesis's own pytest plugin (``@schema.parametrize``) fails on this pytest version
("'Function' object has no attribute '_nodeid'"), so each operation's strategy is run
with Hypothesis directly.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error

from layer_sync.wsgi import application
from tests.api.conftest import token_key_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

OPERATIONS = sorted(
    (method.upper(), path)
    for path, item in SchemaGenerator().get_schema(request=None, public=True)["paths"].items()
    for method in item
    if method in ("get", "post", "put", "patch", "delete")
)
EXAMPLES = 15


@pytest.fixture
def token(records) -> str:
    user = UserFactory(username="schemathesis", is_staff=True, is_superuser=True)
    return token_key_for(user)


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """Calling the WSGI application directly sends request_started/finished, whose
    ``close_old_connections`` would close the test's database connection (on PostgreSQL)
    in the middle of its transaction; Django's own test client disconnects it the same
    way."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def api_schema(token, wsgi_keeps_the_test_connection):
    return schemathesis.openapi.from_wsgi(
        "/api/schema/",
        application,
        headers={"Authorization": f"Token {token}", "Accept": "application/vnd.oai.openapi+json"},
    )


def test_the_served_schema_has_exactly_the_operations_walked_here(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    served = sorted((operation.method.upper(), operation.path) for operation in operations)

    assert served == OPERATIONS
    assert len(OPERATIONS) >= 30


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_generated_request_gets_a_server_error(api_schema, token, method, path):
    operation = api_schema[path][method.lower()]
    seen = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case):
        response = case.call(headers={"Authorization": f"Token {token}"})
        seen.append(response.status_code)
        case.validate_response(response, checks=[not_a_server_error])

    run()

    assert seen, "no request was generated"


# --- hostile input, operation by operation ------------------------------------------------
DEEP = "[" * 5000 + "]" * 5000  # sent as it is: Python's own encoder would not go so deep


def declared(operation) -> dict[str, list[str]]:
    """The operation's parameter names by location (path, query)."""
    found: dict[str, list[str]] = {"path": [], "query": []}
    for parameter in operation.iter_parameters():
        if parameter.location in found:
            found[parameter.location].append(parameter.name)
    return found


def body_media_types(operation) -> list[str]:
    return list(operation.get_request_payload_content_types())


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_a_nul_in_every_parameter_of_every_operation_is_a_400(api_schema, token, method, path):
    operation = api_schema[path][method.lower()]
    params = declared(operation)
    media_types = body_media_types(operation)
    if params["path"] or params["query"]:
        case = operation.Case(
            path_parameters={name: "1\x00" for name in params["path"]},
            query={name: "a\x00b" for name in params["query"]},
        )
    elif "application/json" in media_types:
        case = operation.Case(body={"name": "a\x00b"}, media_type="application/json")
    else:  # a multipart upload
        case = operation.Case(body={"location": "a\x00b"}, media_type="multipart/form-data")

    response = case.call(headers={"Authorization": f"Token {token}"})

    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert "control character" in response.text


# The records fixture's row behind each resource's {id}.
RECORD_OF = {
    "customers": "customer",
    "sites": "site",
    "addresses": "address",
    "contacts": "contact",
    "sync-jobs": "job",
    "charge-imports": "charge_import",
    "billing-export": "customer",  # no id in its paths
}

JSON_OPERATIONS = [
    (method, path) for method, path in OPERATIONS if method in ("POST", "PATCH", "PUT")
]


@pytest.mark.parametrize(
    ("method", "path"), JSON_OPERATIONS, ids=[f"{m} {p}" for m, p in JSON_OPERATIONS]
)
def test_a_json_body_nested_5000_deep_is_a_400_wherever_json_is_taken(
    api_schema, token, records, method, path
):
    """Sent with the test client (schemathesis would encode the body itself, and Python's
    encoder stops at ~1,000 levels), to each operation of the schema, ids of real rows."""
    operation = api_schema[path][method.lower()]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    url = path.replace("{id}", str(records[RECORD_OF[path.split("/")[3]]]))

    response = getattr(client, method.lower())(url, DEEP, content_type="application/json")

    if "application/json" in body_media_types(operation):
        assert response.status_code == 400, (response.status_code, response.content[:300])
        assert b"nested deeper than" in response.content
    else:
        # No body in the schema (convert, retry, rematch, send-to-connect, an upload): the
        # operation never reads a JSON one, so a deep one changes nothing; never a 500.
        assert response.status_code < 500, response.content[:300]


def test_every_write_operation_is_walked_by_the_deep_json_case():
    assert len(JSON_OPERATIONS) >= 15
    assert {("POST", "/api/v1/customers/"), ("PATCH", "/api/v1/contacts/{id}/")} <= set(
        JSON_OPERATIONS
    )
