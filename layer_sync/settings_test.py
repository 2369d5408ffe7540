"""Test override: the same settings, made fast and deterministic.

Tests use PostgreSQL when DATABASE_URL points at it, SQLite otherwise.
"""

from .settings import *  # noqa: F403
from .settings import DATABASES

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
