"""Configuration: production refuses insecure settings, tests pick their database, and
.env.example and docker-compose.yml agree with the settings.

Settings are module-level code run once per process, so each case imports
them in a fresh interpreter with its own environment. Every variable a case
relies on is set explicitly (empty when it must be missing), because the
settings also read a developer's `.env`, which never overrides the process
environment.
"""

import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from layer_sync.settings import INSECURE_DEFAULT_SECRET_KEY

BASE_DIR = Path(__file__).resolve().parent.parent
PRODUCTION = "layer_sync.settings_production"
PLATFORM_URLS = ("ABILLITY_API_URL", "AFFINITY_API_URL", "CONNECT_API_URL")

# The variables of DESIGN.md's Configuration section.
DESIGN_VARIABLES = {
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "ABILLITY_API_URL",
    "ABILLITY_SYSTEM_INFORMATION",
    "ABILLITY_USERNAME",
    "ABILLITY_PASSWORD",
    "AFFINITY_API_URL",
    "AFFINITY_API_KEY",
    "CONNECT_API_URL",
    "CONNECT_API_TOKEN",
}


def good_production_env() -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": PRODUCTION,
        "DJANGO_DEBUG": "False",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "layer-sync.example,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "True",
        "DJANGO_SECURE_HSTS_SECONDS": "31536000",
        "DATABASE_URL": "postgres://layer_sync@db.invalid:5432/layer_sync",
        "CELERY_BROKER_URL": "redis://redis.invalid:6379/0",
        "ABILLITY_API_URL": "https://api.abillity.co.uk/api/",
        "AFFINITY_API_URL": "https://affinity.invalid/api/",
        "CONNECT_API_URL": "https://connect.invalid/api/",
        "SANDBOX_EMULATORS_ENABLED": "True",
    }


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run the project's Python with only `env` (plus PATH) in its environment."""
    return subprocess.run(  # noqa: S603 (fixed arguments: this interpreter, our code)
        [sys.executable, *args],
        cwd=BASE_DIR,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def load_settings(env: dict[str, str], *names: str) -> subprocess.CompletedProcess:
    """Import the settings module `env` names and print `NAME=value` for each of `names`."""
    code = (
        "import importlib, os\n"
        "settings = importlib.import_module(os.environ['DJANGO_SETTINGS_MODULE'])\n"
        f"for name in {list(names)!r}:\n"
        "    print(f'{name}={getattr(settings, name)!r}')\n"
    )
    return run(["-c", code], env)


def test_production_settings_load_with_a_good_environment():
    result = load_settings(good_production_env(), "DEBUG", "SECURE_SSL_REDIRECT")

    assert result.returncode == 0, result.stderr
    assert "DEBUG=False" in result.stdout
    assert "SECURE_SSL_REDIRECT=True" in result.stdout


def test_production_settings_never_mount_the_sandbox_emulators():
    result = load_settings(good_production_env(), "SANDBOX_EMULATORS_ENABLED")

    assert result.returncode == 0, result.stderr
    assert "SANDBOX_EMULATORS_ENABLED=False" in result.stdout


def test_production_settings_refuse_debug_on():
    result = load_settings({**good_production_env(), "DJANGO_DEBUG": "True"}, "DEBUG")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_DEBUG must be off in production" in result.stderr


@pytest.mark.parametrize(
    "secret_key",
    [
        pytest.param("", id="missing"),
        pytest.param(INSECURE_DEFAULT_SECRET_KEY, id="the-embedded-default"),
        pytest.param("django-insecure-" + secrets.token_urlsafe(50), id="django-insecure"),
        pytest.param(secrets.token_urlsafe(20), id="short"),
        pytest.param("ab" * 40, id="low-entropy"),
        # The probe: a five-character pattern repeated passed the old check.
        pytest.param("Xy7#q" * 11, id="five-character-pattern-repeated"),
        pytest.param("AbCdEfGhIjKlMnOpQrStUv" * 3, id="22-character-pattern-repeated"),
        pytest.param(("0123456789abcdefghijklmnopq" * 3)[:60], id="pattern-cut-short"),
        pytest.param(secrets.token_hex(4) * 8, id="random-pattern-repeated"),
    ],
)
def test_production_settings_refuse_a_weak_secret_key(secret_key):
    result = load_settings({**good_production_env(), "DJANGO_SECRET_KEY": secret_key}, "DEBUG")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is missing or weak" in result.stderr


@pytest.mark.parametrize(
    ("secret_key", "reason"),
    [
        ("Xy7#q" * 11, "fewer than 16 distinct characters"),
        ("AbCdEfGhIjKlMnOpQrStUv" * 3, "repeats a pattern of 22 characters"),
        (("0123456789abcdefghijklmnopq" * 3)[:60], "repeats a pattern of 27 characters"),
    ],
)
def test_the_weak_secret_refusal_says_why(secret_key, reason):
    result = load_settings({**good_production_env(), "DJANGO_SECRET_KEY": secret_key}, "DEBUG")

    assert reason in result.stderr


def test_a_random_key_of_either_usual_kind_is_accepted():
    from django.core.management.utils import get_random_secret_key

    for key in (get_random_secret_key(), secrets.token_urlsafe(50)):
        result = load_settings({**good_production_env(), "DJANGO_SECRET_KEY": key}, "DEBUG")
        assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "variable", ["DJANGO_SECRET_KEY", "ABILLITY_PASSWORD", "AFFINITY_API_KEY", "CONNECT_API_TOKEN"]
)
def test_a_secret_starting_with_a_dollar_sign_is_used_as_given(variable):
    # Django's own keys use "$" (get_random_secret_key); django-environ would read such a
    # value as the name of another variable.
    value = "$" + secrets.token_urlsafe(50)
    setting = {"DJANGO_SECRET_KEY": "SECRET_KEY"}.get(variable, variable)

    result = load_settings({**good_production_env(), variable: value}, setting)

    assert result.returncode == 0, result.stderr
    assert f"{setting}={value!r}" in result.stdout


@pytest.mark.parametrize("variable", PLATFORM_URLS)
def test_production_settings_refuse_a_missing_platform_url(variable):
    result = load_settings({**good_production_env(), variable: ""}, "DEBUG")

    assert result.returncode != 0
    assert f"{variable} is not set" in result.stderr
    others = set(PLATFORM_URLS) - {variable}
    assert not any(f"{other} is not set" in result.stderr for other in others)


def test_production_settings_refuse_running_without_a_celery_broker():
    result = load_settings({**good_production_env(), "CELERY_BROKER_URL": ""}, "DEBUG")

    assert result.returncode != 0
    assert "CELERY_BROKER_URL is not set" in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], good_production_env()
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_embedded_mode_runs_tasks_eagerly_only_without_a_broker():
    base = {"DJANGO_SETTINGS_MODULE": "layer_sync.settings"}
    without = load_settings({**base, "CELERY_BROKER_URL": ""}, "CELERY_TASK_ALWAYS_EAGER")
    with_broker = load_settings(
        {**base, "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}, "CELERY_TASK_ALWAYS_EAGER"
    )

    assert "CELERY_TASK_ALWAYS_EAGER=True" in without.stdout, without.stderr
    assert "CELERY_TASK_ALWAYS_EAGER=False" in with_broker.stdout, with_broker.stderr


def test_tests_use_postgresql_when_database_url_points_at_it():
    env = {
        "DJANGO_SETTINGS_MODULE": "layer_sync.settings_test",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/layer_sync_ci",
    }
    result = load_settings(env, "DATABASES")

    assert result.returncode == 0, result.stderr
    assert "'ENGINE': 'django.db.backends.postgresql'" in result.stdout
    assert "'NAME': 'layer_sync_ci'" in result.stdout


def test_tests_use_in_memory_sqlite_otherwise():
    env = {
        "DJANGO_SETTINGS_MODULE": "layer_sync.settings_test",
        "DATABASE_URL": f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
    }
    result = load_settings(env, "DATABASES")

    assert result.returncode == 0, result.stderr
    assert "'ENGINE': 'django.db.backends.sqlite3'" in result.stdout
    assert "'NAME': ':memory:'" in result.stdout


def variables_read_by_settings() -> set[str]:
    names: set[str] = set()
    for module in (BASE_DIR / "layer_sync").glob("settings*.py"):
        names |= set(
            re.findall(r"\b(?:env(?:\.\w+)?|secret)\(\s*[\"']([A-Z0-9_]+)[\"']", module.read_text())
        )
    return names


def variables_in_env_example() -> set[str]:
    text = (BASE_DIR / ".env.example").read_text()
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def test_env_example_lists_every_variable_of_the_design_and_the_settings():
    read_by_settings = variables_read_by_settings()
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "ABILLITY_API_URL"} <= read_by_settings

    missing = (DESIGN_VARIABLES | read_by_settings) - variables_in_env_example()

    assert not missing, f".env.example does not list: {sorted(missing)}"


def test_every_design_variable_is_read_by_the_settings():
    assert not DESIGN_VARIABLES - variables_read_by_settings()


def test_docker_compose_runs_web_worker_beat_on_postgres_and_redis_with_production_settings():
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    services = compose["services"]

    assert {"web", "worker", "beat", "postgres", "redis"} <= set(services)
    assert services["web"]["command"][:2] == ["gunicorn", "layer_sync.wsgi"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "layer_sync", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "layer_sync", "beat"]
    for name in ("web", "worker", "beat"):
        service = services[name]
        assert service["env_file"][0]["path"] == ".env"
        assert service["environment"]["DJANGO_SETTINGS_MODULE"] == PRODUCTION
        assert service["environment"]["DATABASE_URL"].startswith("postgres://")
        assert service["environment"]["CELERY_BROKER_URL"].startswith("redis://redis:")
    assert all("healthcheck" in services[name] for name in services if name != "migrate")
    compose_variables = set(
        re.findall(r"\$\{([A-Z_]+)", (BASE_DIR / "docker-compose.yml").read_text())
    )
    assert compose_variables <= variables_in_env_example()
