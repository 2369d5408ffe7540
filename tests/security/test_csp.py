"""Every page complies with the Content-Security-Policy it is served with (django-csp;
the production policy, which the test settings enforce too).

Under ``script-src 'self' 'nonce-…'`` a browser runs no inline script without the
request's nonce and no inline event handler (``onsubmit=`` and the like) at all, and a
``javascript:`` link does nothing. So each HTML page of the URL walk and of the admin's
model pages (as a superuser, with the ``records`` fixture's rows, so the panels render):

- carries the enforced header (not only a report-only one);
- gives each inline script the header's nonce;
- has no inline event-handler attribute and no ``javascript:`` URL.

The browser tests (tests/browser/) run the pages themselves under the same policy and fail
on any violation the browser reports.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from tests.security.test_url_permissions import ADMIN_MODELS, ALL_CHECKS, first_id, model_urls

pytestmark = pytest.mark.django_db

NONCE = re.compile(r"'nonce-([^']+)'")
# Script types a browser does not run (data blocks, such as json_script's).
DATA_TYPES = {"application/json", "application/ld+json", "text/template"}


class PageScan(HTMLParser):
    """Inline scripts (their nonce), event-handler attributes and javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_script_nonces: list[str | None] = []
        self.handlers: list[str] = []
        self.javascript_urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action", "formaction") and (
                value or ""
            ).strip().lower().startswith("javascript:"):
                self.javascript_urls.append(f"<{tag} {name}={value}>")
        script_type = (values.get("type") or "").lower()
        if tag == "script" and "src" not in values and script_type not in DATA_TYPES:
            self.inline_script_nonces.append(values.get("nonce"))


def pages() -> list[tuple[str, str]]:
    """(id, URL template) of every staff page a GET shows."""
    found = [
        (check.id, check.url)
        for check in ALL_CHECKS
        if check.method == "get" and check.kind == "staff"
    ]
    found += [("GET /admin/login/", "/admin/login/"), ("GET /api/docs/", "/api/docs/")]
    return found


def assert_complies(response, where: str) -> int:
    """The page's scripts and handlers comply with its policy; how many inline scripts."""
    assert "Content-Security-Policy" in response, where
    assert "Content-Security-Policy-Report-Only" not in response, where
    nonces = NONCE.findall(response["Content-Security-Policy"])
    scan = PageScan()
    scan.feed(response.content.decode())
    assert not scan.handlers, (where, scan.handlers)
    assert not scan.javascript_urls, (where, scan.javascript_urls)
    for nonce in scan.inline_script_nonces:
        assert nonce and nonce in nonces, (where, nonce, nonces)
    return len(scan.inline_script_nonces)


def is_html(response) -> bool:
    return response.status_code == 200 and response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(("name", "url"), pages(), ids=[name for name, _ in pages()])
def test_every_staff_page_complies_with_its_content_security_policy(records, superuser, name, url):
    client = Client()
    client.force_login(superuser)

    response = client.get(url.format(**records), HTTP_ACCEPT="text/html")

    # (A page that asks an unreachable platform answers its documented 502, in JSON.)
    assert response.status_code < 500 or response.status_code == 502
    if is_html(response):
        assert_complies(response, name)


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m._meta.label)
def test_every_admin_model_page_complies_with_its_content_security_policy(
    records, superuser, model
):
    client = Client()
    client.force_login(superuser)

    for page, url in model_urls(model, first_id(model)).items():
        if page == "delete":
            continue
        response = client.get(url)
        if is_html(response):
            assert_complies(response, f"{model._meta.label} {page}")


def test_pages_with_inline_scripts_give_them_the_nonce(records, superuser):
    """The check above is not vacuous: these pages do have inline scripts, nonce'd."""
    client = Client()
    client.force_login(superuser)
    urls = [
        f"/admin/customers/customer/{records['customer']}/change/",
        f"/admin/billing/batchsheet/{records['batch_sheet']}/change/",
        "/billing-export/?route=affinity",
    ]

    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert assert_complies(response, url) >= 1, url
