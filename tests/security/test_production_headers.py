"""With the production settings, the admin, the staff pages and the API answer with the
secure headers: HSTS, nosniff, X-Frame-Options DENY, a Referrer-Policy, a
Content-Security-Policy (django-csp), secure and HTTP-only cookies, and plain HTTP is sent
to HTTPS; and the admin login locks out password guessing (django-axes).

``manage.py check --deploy`` with the production settings is proven clean by
tests/test_settings.py (test_check_deploy_is_clean_with_production_settings).

Settings are module-level code, so the production settings are loaded in a fresh
interpreter (as tests/test_settings.py does), which makes the requests with Django's
test client and prints what it saw as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_settings import good_production_env

BASE_DIR = Path(__file__).resolve().parents[2]
HOST = "layer-sync.example"
PAGES = [
    "/admin/login/",
    "/billing-export/",
    "/api/v1/",
    "/api/schema/",
    "/api/docs/",
    "/health/",
]

REQUESTS = f"""
import json
import django
django.setup()
from django.test import Client, override_settings

# The one setting changed: static files from the apps' folders, as no collectstatic ran
# (the manifest storage would refuse to render a page); nothing security-related.
override_settings(STORAGES={{
    "default": {{"BACKEND": "django.core.files.storage.FileSystemStorage"}},
    "staticfiles": {{"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}},
}}).enable()
client = Client(HTTP_HOST={HOST!r})
seen = {{}}
for path in {PAGES!r}:
    response = client.get(path, secure=True)
    cookies = {{
        name: {{"secure": bool(m["secure"]), "httponly": bool(m["httponly"]),
                "samesite": m["samesite"]}}
        for name, m in response.cookies.items()
    }}
    seen[path] = {{"status": response.status_code, "headers": dict(response.headers),
                  "cookies": cookies}}
plain = client.get("/admin/login/")
seen["http"] = {{"status": plain.status_code, "location": plain.get("Location", "")}}
from django.conf import settings
seen["settings"] = {{
    name: getattr(settings, name)
    for name in ("SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "CSRF_COOKIE_SECURE",
                 "SECURE_HSTS_SECONDS", "DEBUG", "SANDBOX_EMULATORS_ENABLED")
}}
print("RESULT" + json.dumps(seen))
"""


@pytest.fixture(scope="module")
def production() -> dict:
    env = {**good_production_env(), "DATABASE_URL": "sqlite://:memory:"}
    result = subprocess.run(  # noqa: S603 (this interpreter, our code)
        [sys.executable, "-c", REQUESTS],
        cwd=BASE_DIR,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("RESULT")]
    return json.loads(line.removeprefix("RESULT"))


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_the_secure_headers_in_production(production, path):
    headers = production[path]["headers"]

    assert production[path]["status"] < 500
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_the_content_security_policy_in_production(production, path):
    """Scripts only from this site or with the request's nonce (a page that has an inline
    script gets one: tests/security/test_csp.py), never inline without it, never eval; no
    plugins, no framing, forms post here only."""
    header = production[path]["headers"]["Content-Security-Policy"]
    directives = csp_directives(header)

    assert "Content-Security-Policy-Report-Only" not in production[path]["headers"]
    assert directives["default-src"] == ["'self'"]
    script_src = directives["script-src"]
    assert "'self'" in script_src
    assert all(value == "'self'" or value.startswith("'nonce-") for value in script_src)
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:"} & set(script_src)
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["base-uri"] == ["'self'"]


def test_the_admin_login_page_sets_a_secure_csrf_cookie_in_production(production):
    cookies = production["/admin/login/"]["cookies"]

    assert production["/admin/login/"]["status"] == 200
    assert cookies["csrftoken"]["secure"] is True
    assert cookies["csrftoken"]["samesite"] == "Lax"


def test_session_cookies_are_secure_and_http_only_in_production(production):
    assert production["settings"]["SESSION_COOKIE_SECURE"] is True
    assert production["settings"]["SESSION_COOKIE_HTTPONLY"] is True
    assert production["settings"]["CSRF_COOKIE_SECURE"] is True
    assert production["settings"]["DEBUG"] is False


def test_plain_http_is_redirected_to_https_in_production(production):
    assert production["http"]["status"] == 301
    assert production["http"]["location"] == f"https://{HOST}/admin/login/"


def test_production_does_not_mount_the_sandbox_emulators(production):
    assert production["settings"]["SANDBOX_EMULATORS_ENABLED"] is False


LOCKOUT = f"""
import json
import django
django.setup()
from django.core.management import call_command
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

override_settings(STORAGES={{
    "default": {{"BACKEND": "django.core.files.storage.FileSystemStorage"}},
    "staticfiles": {{"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}},
}}).enable()
call_command("migrate", verbosity=0)
get_user_model().objects.create_user("alice", password="right-password-1", is_staff=True)
statuses = []
for password in ["wrong"] * 5 + ["right-password-1"]:
    client = Client(HTTP_HOST={HOST!r}, REMOTE_ADDR="198.51.100.30")
    response = client.post(
        "/admin/login/", {{"username": "alice", "password": password}}, secure=True
    )
    statuses.append(response.status_code)
other = Client(HTTP_HOST={HOST!r}, REMOTE_ADDR="203.0.113.31").post(
    "/admin/login/", {{"username": "alice", "password": "right-password-1"}}, secure=True
)
print("RESULT" + json.dumps({{"statuses": statuses, "other_address": other.status_code}}))
"""


def test_production_locks_out_password_guessing_at_the_admin_login():
    env = {**good_production_env(), "DATABASE_URL": "sqlite://:memory:"}
    result = subprocess.run(  # noqa: S603 (this interpreter, our code)
        [sys.executable, "-c", LOCKOUT],
        cwd=BASE_DIR,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("RESULT")]
    seen = json.loads(line.removeprefix("RESULT"))

    assert seen["statuses"] == [200, 200, 200, 200, 429, 429]  # the right password too
    assert seen["other_address"] == 302
