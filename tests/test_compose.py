"""The image and docker-compose.yml: what a newcomer's first `docker compose` needs.

The issue: the image could not be built (the Dockerfile's collectstatic ran with
production settings, which refuse to load without a Celery broker), nothing tested the
build (.ci/image_build_check.py now does, in CI), and compose had no way to try the
product without real platforms and a TLS proxy. docs/security.md: behind the TLS proxy
DJANGO_TRUSTED_PROXY_COUNT is 1, and several web processes share their rate-limit counts
through CACHE_URL.
"""

import re
import shlex
from pathlib import Path

import pytest
import yaml

from tests.test_settings import good_production_env, load_settings

BASE_DIR = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DOCKERFILE = (BASE_DIR / "Dockerfile").read_text()


def dockerfile_runs() -> list[str]:
    joined = DOCKERFILE.replace("\\\n", " ")
    return [line[4:].strip() for line in joined.splitlines() if line.startswith("RUN ")]


def test_collectstatic_at_build_uses_settings_that_need_no_secret_broker_or_platform():
    (collect,) = [run for run in dockerfile_runs() if "collectstatic" in run]

    assert "DJANGO_SETTINGS_MODULE=layer_sync.settings_build" in collect
    # Nothing production refuses to run without is faked into an image layer.
    assert not re.search(r"SECRET_KEY|BROKER|_API_URL", collect)


def test_build_settings_load_with_nothing_set_and_store_static_files_as_production():
    names = ("STORAGES", "STATIC_ROOT", "STATIC_URL", "INSTALLED_APPS")
    production = load_settings(good_production_env(), *names)
    build = load_settings({"DJANGO_SETTINGS_MODULE": "layer_sync.settings_build"}, *names)

    assert production.returncode == 0, production.stderr
    assert build.returncode == 0, build.stderr
    assert build.stdout == production.stdout


def test_the_ci_run_checks_the_image_build():
    ci = (BASE_DIR / ".ci" / "run").read_text()

    assert "python3 .ci/image_build_check.py" in ci


def test_every_service_is_in_the_demo_or_the_production_profile():
    assert {name: service["profiles"] for name, service in SERVICES.items()} == {
        "demo": ["demo"],
        **{
            name: ["production"]
            for name in ("postgres", "redis", "migrate", "web", "worker", "beat")
        },
    }


def test_the_demo_runs_the_embedded_mode_with_demo_data_on_plain_http_at_localhost_8000():
    demo = SERVICES["demo"]
    environment = demo["environment"]
    script = demo["command"][-1]

    assert environment["DJANGO_SETTINGS_MODULE"] == "layer_sync.settings"
    # Embedded: no broker (tasks run in the server), no platform URL (its emulators), and
    # no SANDBOX_BASE_URL (the server's own address).
    assert not {"CELERY_BROKER_URL", "SANDBOX_BASE_URL"} & set(environment)
    assert not [name for name in environment if name.endswith("_API_URL")]
    assert "env_file" not in demo  # nothing to set
    assert demo["ports"] == ["127.0.0.1:8000:8000"]
    steps = [shlex.split(step) for step in script.split("&&")]
    assert steps[0][:3] == ["python", "manage.py", "migrate"]
    # Debug pages off, as users see the product: seed_demo must be told it may run.
    assert environment["DJANGO_DEBUG"] == "False"
    assert steps[1] == ["python", "manage.py", "seed_demo", "--force"]
    gunicorn = steps[2]
    assert gunicorn[:3] == ["exec", "gunicorn", "layer_sync.wsgi"]
    assert "python:layer_sync.server.gunicorn_config" in gunicorn
    # One process: the emulators' records are in the memory of the process serving them.
    assert "--workers=1" in gunicorn
    assert "--bind=0.0.0.0:8000" in gunicorn
    assert "X-Forwarded-Proto" not in str(demo["healthcheck"])  # no TLS proxy here


def test_production_sets_gunicorns_timeout_and_request_limits_and_names_its_config():
    command = SERVICES["web"]["command"]

    assert command[:2] == ["gunicorn", "layer_sync.wsgi"]
    assert "python:layer_sync.server.gunicorn_config" in command
    assert "--timeout=${GUNICORN_TIMEOUT:-60}" in command
    for limit in (
        "--limit-request-line=",
        "--limit-request-fields=",
        "--limit-request-field_size=",
    ):
        assert any(option.startswith(limit) for option in command), limit


@pytest.mark.parametrize("name", ["web", "worker", "beat", "migrate"])
def test_production_services_trust_one_proxy_and_share_a_cache(name):
    environment = SERVICES[name]["environment"]

    assert environment["DJANGO_TRUSTED_PROXY_COUNT"] == "${DJANGO_TRUSTED_PROXY_COUNT:-1}"
    assert environment["CACHE_URL"].startswith("redis://redis:6379/")
    assert environment["CACHE_URL"] != environment["CELERY_BROKER_URL"]


def test_the_production_profile_documents_the_tls_proxy():
    text = (BASE_DIR / "docker-compose.yml").read_text()

    for words in (
        "TLS-terminating",
        "X-Forwarded-Proto",
        "X-Forwarded-For",
        "client_max_body_size",
    ):
        assert words in text


def test_the_image_runs_gunicorn_with_the_products_config():
    cmd = re.search(r"^CMD (.+)$", DOCKERFILE, flags=re.MULTILINE).group(1)

    assert "python:layer_sync.server.gunicorn_config" in cmd
