"""The OpenAPI schema (/api/schema/) and the Swagger UI docs (/api/docs/)."""

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS

from tests.api.conftest import user_with_perms

pytestmark = pytest.mark.django_db

PATHS = [
    "/api/v1/customers/",
    "/api/v1/customers/{id}/",
    "/api/v1/customers/{id}/convert/",
    "/api/v1/sites/",
    "/api/v1/sites/{id}/",
    "/api/v1/addresses/",
    "/api/v1/addresses/{id}/",
    "/api/v1/contacts/",
    "/api/v1/contacts/{id}/",
    "/api/v1/inventory-items/",
    "/api/v1/inventory-items/{id}/",
    "/api/v1/sales-orders/",
    "/api/v1/sales-orders/{id}/",
    "/api/v1/assets/",
    "/api/v1/assets/{id}/",
    "/api/v1/customers/{id}/sync/",
    "/api/v1/customers/{id}/sync-status/",
    "/api/v1/sync-jobs/",
    "/api/v1/sync-jobs/{id}/",
    "/api/v1/sync-jobs/{id}/retry/",
    "/api/v1/sync-jobs/{id}/skip/",
    "/api/v1/sync-preview/",
]


@pytest.fixture
def schema(api_client) -> dict:
    # Any signed-in user may read the schema; it holds no data.
    api_client.force_authenticate(user=user_with_perms())
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_the_schema_is_served_to_an_authenticated_user_with_every_endpoint(schema):
    assert set(PATHS) <= set(schema["paths"])
    assert schema["info"]["title"] == "layer_sync API"


def test_the_schema_has_no_put_or_delete_and_read_only_endpoints_only_get(schema):
    methods = {path: set(schema["paths"][path]) - {"parameters"} for path in PATHS}

    for path in ("/api/v1/customers/", "/api/v1/sites/", "/api/v1/contacts/"):
        assert methods[path] == {"get", "post"}
        assert methods[path + "{id}/"] == {"get", "patch"}
    assert methods["/api/v1/customers/{id}/convert/"] == {"post"}
    for prefix in ("inventory-items", "sales-orders", "assets"):
        assert methods[f"/api/v1/{prefix}/"] == {"get"}
        assert methods[f"/api/v1/{prefix}/{{id}}/"] == {"get"}


def test_the_sync_endpoints_have_the_public_methods(schema):
    methods = {path: set(schema["paths"][path]) - {"parameters"} for path in PATHS}

    assert methods["/api/v1/sync-jobs/"] == {"get"}
    assert methods["/api/v1/sync-jobs/{id}/"] == {"get"}
    assert methods["/api/v1/sync-jobs/{id}/retry/"] == {"post"}
    assert methods["/api/v1/sync-jobs/{id}/skip/"] == {"post"}
    assert methods["/api/v1/customers/{id}/sync/"] == {"post"}
    assert methods["/api/v1/customers/{id}/sync-status/"] == {"get"}
    assert methods["/api/v1/sync-preview/"] == {"get"}


def test_a_manual_sync_and_a_retry_answer_202_with_the_job(schema):
    job = {"$ref": "#/components/schemas/SyncJob"}
    for path in ("/api/v1/customers/{id}/sync/", "/api/v1/sync-jobs/{id}/retry/"):
        responses = schema["paths"][path]["post"]["responses"]
        assert responses["202"]["content"]["application/json"]["schema"] == job


def test_sync_status_and_preview_declare_their_required_query_parameters(schema):
    def required(path: str) -> set[str]:
        parameters = schema["paths"][path]["get"]["parameters"]
        return {p["name"] for p in parameters if p["in"] == "query" and p.get("required")}

    assert required("/api/v1/customers/{id}/sync-status/") == {"platform"}
    assert required("/api/v1/sync-preview/") == {"platform", "entity", "id"}


def test_the_schema_declares_token_and_session_authentication(schema):
    assert set(schema["components"]["securitySchemes"]) == {"tokenAuth", "cookieAuth"}


def test_convert_takes_no_body_and_answers_the_customer(schema):
    operation = schema["paths"]["/api/v1/customers/{id}/convert/"]["post"]

    assert "requestBody" not in operation
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Customer"
    }
    assert "400" in operation["responses"]


def test_schema_generation_has_no_warnings_or_errors_and_validates(tmp_path):
    GENERATOR_STATS.reset()

    # --fail-on-warn raises on any warning or error; --validate checks against OpenAPI 3.
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )

    assert (tmp_path / "schema.yaml").stat().st_size > 0


def test_the_docs_page_serves_swagger_ui_from_local_static_files(api_client):
    api_client.force_authenticate(user=user_with_perms())

    response = api_client.get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    # Users may be offline: nothing is loaded from a CDN.
    assert "cdn.jsdelivr.net" not in page
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    # No inline script (the Content-Security-Policy refuses one without the nonce): the
    # start-up script is its own URL, and it loads the schema from /api/schema/.
    assert '<script src="/api/docs/?script="></script>' in page
    assert "<script>" not in page
    script = api_client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()


def test_a_browser_opening_the_docs_before_signing_in_is_sent_to_the_admin_login(client):
    response = client.get("/api/docs/", HTTP_ACCEPT="text/html,application/xhtml+xml")

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/api/docs/"
