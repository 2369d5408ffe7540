"""Test override: the same settings, made fast and deterministic.

Tests use PostgreSQL when DATABASE_URL points at it, SQLite otherwise.
"""

from .settings import *  # noqa: F403
from .settings import CSP_DIRECTIVES, DATABASES, REST_FRAMEWORK, SYNC_CONNECTOR_MODULES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["NAME"] = ":memory:"
    DATABASES["default"]["OPTIONS"] = {}
DEBUG = False
LOGGING = {"version": 1, "disable_existing_loggers": False}

# The production Content-Security-Policy, enforced (not only reported): every page the
# tests open, the browser tests' included, runs under it.
CONTENT_SECURITY_POLICY = {"DIRECTIVES": CSP_DIRECTIVES}
CONTENT_SECURITY_POLICY_REPORT_ONLY = None

# Sign-in protection, deliberately out of the way of the suite: tests log in thousands
# of times (Django's client.login() passes no request, which django-axes refuses), and
# one test's wrong password must not lock out another's user. The lockout is switched
# on by the tests that prove it (tests/layer_sync/test_login_lockout.py), and production
# settings keep it on (tests/security/test_production_headers.py proves it there).
AXES_ENABLED = False
# The API's rate limits stay installed (every request passes through them) with rates no
# test reaches; tests/api/test_throttling.py sets low ones to prove them. The schemathesis
# run and the URL walk make hundreds of requests a minute as one user.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"anon": "100000/minute", "user": "100000/minute"},
}

# Tests never run collectstatic: serve static files from the apps' own folders,
# as the development server does.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True

# The sync engine's test harness: a connector and emulator for a "fake" platform
# (tests/connectors/fake.py), registered here so a Celery worker started with these
# settings has it too.
SYNC_CONNECTOR_MODULES = [*SYNC_CONNECTOR_MODULES, "tests.connectors.fake"]
FAKE_API_KEY = "fake-secret-key-7f3a9c51"
FAKE_API_URL = ""
# Tests wait for retries: keep the backoff short (bounds are still checked).
SYNC_BACKOFF_BASE = 0.2
SYNC_BACKOFF_CAP = 2.0
SYNC_BUSY_DELAY = 0.2
SYNC_READ_TIMEOUT = 2.0
# Longer than the fault tests' hangs past the read timeout (the timeout + 4 s).
SYNC_UNCERTAIN_WRITE_DELAY = 8.0
SYNC_CONNECT_TIMEOUT = 2.0
