"""Test override: the same settings, made fast and deterministic.

Tests use PostgreSQL when DATABASE_URL points at it, SQLite otherwise.
"""

from .settings import *  # noqa: F403
from .settings import DATABASES, SYNC_CONNECTOR_MODULES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["NAME"] = ":memory:"
    DATABASES["default"]["OPTIONS"] = {}
DEBUG = False
LOGGING = {"version": 1, "disable_existing_loggers": False}

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
