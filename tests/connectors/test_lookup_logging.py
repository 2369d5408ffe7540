"""An emulator's 404 to a look-up is logged at DEBUG, not as a WARNING.

abillity-api.md (errors): "an empty list is a 404 (e.g. `GET api/site` → "No sites
found")": a search that finds nothing is a 404 by the platform's own rules, and the sync
engine looks records up before creating them. In the embedded mode the emulators are
served by the same server, whose request loggers warned about every such answer.
"""

import logging

import pytest

from connectors.connect.sandbox import SANDBOX_TOKEN
from connectors.sandbox import emulator_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def connect_emulator():
    emulator = emulator_for("connect")
    emulator.reset()
    yield emulator
    emulator.reset()


def _warnings(caplog):
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_lookup_that_finds_nothing_is_logged_at_debug_only(client, caplog, connect_emulator):
    caplog.set_level(logging.DEBUG)

    response = client.get(
        "/sandbox/connect/clients/999", headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"}
    )

    assert response.status_code == 404
    assert _warnings(caplog) == []
    debug = [r for r in caplog.records if r.name == "connectors.sandbox"]
    assert [r.levelno for r in debug] == [logging.DEBUG]
    assert "/sandbox/connect/clients/999" in debug[0].getMessage()


def test_a_404_that_is_not_a_lookup_is_still_a_warning(client, caplog, connect_emulator):
    caplog.set_level(logging.DEBUG)

    response = client.post(
        "/sandbox/connect/clients/999/convert",
        "{}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"},
    )

    assert response.status_code == 404
    assert [r.name for r in _warnings(caplog)] == ["django.request"]


def test_a_missing_page_of_the_product_is_still_a_warning(client, caplog):
    caplog.set_level(logging.DEBUG)

    assert client.get("/no-such-page/").status_code == 404
    assert [r.name for r in _warnings(caplog)] == ["django.request"]


def test_the_development_servers_request_line_for_a_lookup_miss_is_debug(caplog):
    """runserver logs each request line itself ("django.server"), a 4xx as a warning; the
    record here is made as django.core.servers.basehttp.WSGIRequestHandler makes it."""
    caplog.set_level(logging.DEBUG)
    server = logging.getLogger("django.server")

    server.warning(
        '"%s" %s %s',
        "GET /sandbox/abillity/site?CompanyId=4 HTTP/1.1",
        "404",
        "31",
        extra={"status_code": 404},
    )
    server.warning(
        '"%s" %s %s',
        "GET /admin/nothing-here/ HTTP/1.1",
        "404",
        "179",
        extra={"status_code": 404},
    )

    assert [r.getMessage() for r in _warnings(caplog)] == [
        '"GET /admin/nothing-here/ HTTP/1.1" 404 179'
    ]
    assert any(
        r.levelno == logging.DEBUG and "/sandbox/abillity/site" in r.getMessage()
        for r in caplog.records
    )
