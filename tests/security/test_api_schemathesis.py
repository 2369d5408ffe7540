"""Schemathesis against the OpenAPI schema at /api/schema/: no generated request to any
operation gets a server error (5xx), signed in as a superuser with a token.

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
