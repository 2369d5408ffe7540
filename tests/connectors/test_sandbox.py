"""The emulator base: state, the inspection views, fault injection (with the fake platform)."""

import json
import time

import pytest
import requests
from django.conf import settings as django_settings

from connectors.redaction import MASK
from connectors.sandbox import Emulator, Faults
from tests.connectors.fake import PLATFORM

ROOT = f"/sandbox/{PLATFORM}/"
STATE = f"{ROOT}_emulator/"
RESET = f"{ROOT}_emulator/reset"
FAULTS = f"{ROOT}_emulator/faults"


@pytest.fixture
def api(client, fake_emulator):
    """Calls to the fake platform's API as the connector makes them (with its key)."""

    def call(method: str, path: str, body=None):
        return client.generic(
            method,
            ROOT + path,
            data="" if body is None else json.dumps(body),
            content_type="application/json",
            HTTP_X_API_KEY=django_settings.FAKE_API_KEY,
        )

    return call


@pytest.fixture
def live_api(fake_platform, live_server):
    """Calls over real HTTP, to time them."""
    session = requests.Session()
    session.headers["X-Api-Key"] = django_settings.FAKE_API_KEY

    def call(method: str, path: str, **kwargs):
        kwargs.setdefault("timeout", 10)
        return session.request(method, f"{live_server.url}{ROOT}{path}", **kwargs)

    yield call
    session.close()


# --- the API and its state ------------------------------------------------------------------
def test_the_emulator_keeps_what_it_is_sent_and_logs_each_call_with_its_key_masked(
    api, fake_emulator
):
    created = api("POST", "accounts", {"name": "Acme", "reference": "C1"})
    api("PATCH", f"accounts/{created.json()['id']}", {"name": "Acme Ltd"})

    assert created.status_code == 201
    assert fake_emulator.state["accounts"]["1"] == {"id": 1, "name": "Acme Ltd", "reference": "C1"}
    assert api("GET", "accounts?reference=C1").json() == [fake_emulator.state["accounts"]["1"]]
    assert [(c["method"], c["path"], c["status"]) for c in fake_emulator.calls()] == [
        ("POST", "accounts", 201),
        ("PATCH", "accounts/1", 200),
        ("GET", "accounts", 200),
    ]
    assert fake_emulator.calls()[2]["query"] == {"reference": "C1"}
    assert all(c["headers"]["X-Api-Key"] == MASK for c in fake_emulator.calls())


def test_an_unknown_path_is_a_404_and_a_wrong_method_a_405_naming_the_allowed_ones(api):
    missing = api("GET", "invoices")
    wrong = api("DELETE", "accounts/1")

    assert (missing.status_code, missing.json()) == (404, {"message": "No such resource: invoices"})
    assert (wrong.status_code, wrong.json()) == (
        405,
        {"message": "Method not allowed; use GET, PATCH"},
    )


def test_a_body_that_is_not_json_is_a_400(client, fake_emulator):
    response = client.post(
        f"{ROOT}accounts",
        data="{not json",
        content_type="application/json",
        HTTP_X_API_KEY=django_settings.FAKE_API_KEY,
    )

    assert (response.status_code, response.json()) == (
        400,
        {"message": "The request body is not valid JSON."},
    )
    assert fake_emulator.state["accounts"] == {}


def test_an_emulator_of_an_unknown_platform_is_a_404(client):
    assert client.get("/sandbox/nowhere/accounts").status_code == 404


# --- the inspection views ---------------------------------------------------------------------
def test_staff_read_everything_the_emulator_holds_as_json(superuser_client, api, fake_emulator):
    api("POST", "accounts", {"name": "Acme"})
    fake_emulator.faults_set(latency_ms=5)

    snapshot = superuser_client.get(STATE).json()

    assert snapshot["platform"] == PLATFORM
    assert snapshot["state"]["accounts"] == {"1": {"id": 1, "name": "Acme"}}
    assert snapshot["faults"]["latency_ms"] == 5
    assert [r["path"] for r in snapshot["requests"]] == ["accounts"]


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_a_browser_reads_the_emulator_as_a_page_of_tables_not_raw_json(
    superuser_client, api, fake_emulator
):
    api("POST", "accounts", {"name": "Acme <b>Ltd</b>", "reference": "C1"})
    fake_emulator.faults_set(latency_ms=5)
    fake_emulator.state["strict_names"] = True  # a flag beside the records

    response = superuser_client.get(STATE, HTTP_ACCEPT=BROWSER_ACCEPT)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    accounts = page[page.index('data-kind="Accounts"') :]
    accounts = accounts[: accounts.index("</table>")]
    assert "Accounts: 1" in accounts
    assert '<th scope="col">name</th>' in accounts and '<th scope="col">reference</th>' in accounts
    assert "<td>Acme &lt;b&gt;Ltd&lt;/b&gt;</td>" in accounts  # shown, never run as markup
    assert "<td>C1</td>" in accounts
    assert "latency_ms" in page[page.index('id="emulator-faults"') :]
    requests_table = page[page.index('id="emulator-requests"') :]
    assert "Requests: 1" in requests_table and "POST accounts" in requests_table
    assert 'href="?format=json"' in page
    values = page[page.index('id="emulator-values"') :]
    assert '<th scope="row">Strict names</th><td>True</td>' in values


def test_the_json_stays_for_scripts_and_when_asked_for(superuser_client, api, fake_emulator):
    api("POST", "accounts", {"name": "Acme"})

    asked = superuser_client.get(f"{STATE}?format=json", HTTP_ACCEPT=BROWSER_ACCEPT)
    curl = superuser_client.get(STATE, HTTP_ACCEPT="*/*")

    for response in (asked, curl):
        assert response["Content-Type"] == "application/json"
        assert response.json()["state"]["accounts"] == {"1": {"id": 1, "name": "Acme"}}


@pytest.mark.parametrize("url", [STATE, FAULTS])
def test_anonymous_users_are_sent_to_the_admin_login(client, fake_emulator, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_anonymous_users_cannot_reset_or_change_faults(client, fake_emulator):
    fake_emulator.state["accounts"]["1"] = {"id": 1}

    client.post(RESET)
    client.post(FAULTS, data={"fail_next": 5}, content_type="application/json")

    assert fake_emulator.state["accounts"] == {"1": {"id": 1}}
    assert fake_emulator.faults == Faults()


def test_a_reset_empties_the_state_the_log_and_the_faults(superuser_client, api, fake_emulator):
    api("POST", "accounts", {"name": "Acme"})
    fake_emulator.faults_set(fail_next=3)

    response = superuser_client.post(RESET)

    assert (response.status_code, response.json()) == (200, {"reset": True})
    assert fake_emulator.state == {"accounts": {}, "locations": {}, "people": {}}
    assert fake_emulator.calls() == []
    assert fake_emulator.faults == Faults()
    assert api("POST", "accounts", {"name": "Again"}).json()["id"] == 1  # ids start again


def test_a_reset_must_be_posted(superuser_client, fake_emulator):
    fake_emulator.state["accounts"]["1"] = {"id": 1}

    response = superuser_client.get(RESET)

    assert (response.status_code, response.json()) == (
        405,
        {"message": "POST to reset the emulator."},
    )
    assert fake_emulator.state["accounts"] == {"1": {"id": 1}}


def test_staff_set_faults_with_a_json_post_and_read_them_back(superuser_client, fake_emulator):
    response = superuser_client.post(
        FAULTS,
        data={"fail_next": 2, "fail_status": 429, "retry_after": 3, "only_method": "post"},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response.json()["fail_next"] == 2
    assert (fake_emulator.faults.fail_status, fake_emulator.faults.only_method) == (429, "POST")
    assert superuser_client.get(FAULTS).json() == response.json()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"slowness": 1}, 'Unknown fault setting "slowness". Known: latency_ms, error_rate,'),
        ({"fail_next": "many"}, "Fault setting \"fail_next\" must be a number, not 'many'."),
        ({"fail_next": True}, 'Fault setting "fail_next" must be a number, not True.'),
        ({"fail_next": 1.5}, 'Fault setting "fail_next" must be a whole number.'),
        ({"latency_ms": -5}, 'Fault setting "latency_ms" cannot be negative.'),
        ({"hang_seconds": "nan"}, 'Fault setting "hang_seconds" must be a finite number.'),
        ({"fail_status": 999}, 'Fault setting "fail_status" must be an HTTP status (100 to 599).'),
        ({"error_rate": 2}, "error_rate must be between 0 and 1."),
        ({"only_method": "BREW"}, "only_method must be one of GET, POST, PUT, PATCH, DELETE"),
        ([1, 2], "Send a JSON object of fault settings."),
    ],
)
def test_a_bad_fault_setting_is_a_400_naming_it_and_changes_nothing(
    superuser_client, fake_emulator, values, message
):
    fake_emulator.faults_set(latency_ms=7)
    # The good setting first: it must not be applied when a later one is refused.
    body = {"fail_next": 4, **values} if isinstance(values, dict) else values

    response = superuser_client.post(FAULTS, data=body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["message"].startswith(message)
    assert fake_emulator.faults == Faults(latency_ms=7)


def test_a_faults_body_that_is_not_json_is_a_400(superuser_client, fake_emulator):
    response = superuser_client.post(FAULTS, data="{oops", content_type="application/json")

    assert response.status_code == 400
    assert fake_emulator.faults == Faults()


def test_faults_take_get_and_post_only(superuser_client, fake_emulator):
    response = superuser_client.put(FAULTS, data={"fail_next": 1}, content_type="application/json")

    assert response.status_code == 405
    assert fake_emulator.faults == Faults()


# --- fault injection ------------------------------------------------------------------------------
def test_the_next_calls_fail_with_the_status_set_then_calls_succeed_again(api, fake_emulator):
    fake_emulator.faults_set(fail_next=2, fail_status=503)

    statuses = [api("GET", "accounts").status_code for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert fake_emulator.faults.fail_next == 0


def test_a_429_fault_says_when_to_retry_in_whole_seconds_rounded_up(api, fake_emulator):
    fake_emulator.faults_set(fail_next=1, fail_status=429, retry_after=1.2)

    response = api("POST", "accounts", {"name": "Acme"})

    assert response.status_code == 429
    assert response["Retry-After"] == "2"
    assert fake_emulator.state["accounts"] == {}  # refused: not processed


def test_an_error_rate_of_one_fails_every_call_and_zero_none(api, fake_emulator):
    fake_emulator.faults_set(error_rate=1, error_status=502)
    assert {api("GET", "accounts").status_code for _ in range(5)} == {502}

    fake_emulator.faults_set(error_rate=0)
    assert {api("GET", "accounts").status_code for _ in range(5)} == {200}


def test_faults_can_hit_one_method_only(api, fake_emulator):
    fake_emulator.faults_set(fail_next=1, fail_status=500, only_method="POST")

    looked_up = api("GET", "accounts")
    created = api("POST", "accounts", {"name": "Acme"})
    again = api("POST", "accounts", {"name": "Acme"})

    assert (looked_up.status_code, created.status_code, again.status_code) == (200, 500, 201)


def test_added_latency_delays_every_call(live_api, fake_emulator):
    live_api("GET", "accounts")  # a warm connection, so the timing is the emulator's
    fake_emulator.faults_set(latency_ms=300)

    started = time.monotonic()
    response = live_api("GET", "accounts")
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert elapsed >= 0.3


def test_a_hang_holds_the_answer_back_and_the_work_is_done_after_it(live_api, fake_emulator):
    fake_emulator.faults_set(hang_next=1, hang_seconds=1.0)

    with pytest.raises(requests.ReadTimeout):
        live_api("POST", "accounts", json={"name": "Late"}, timeout=(2, 0.3))
    assert fake_emulator.state["accounts"] == {}  # still hanging

    deadline = time.monotonic() + 5
    while not fake_emulator.state["accounts"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [a["name"] for a in fake_emulator.state["accounts"].values()] == ["Late"]
    assert live_api("GET", "accounts").status_code == 200  # only the next call hangs


# --- finding records by a field ---------------------------------------------------------------
class _Shelf(Emulator):
    """A bare emulator: ``where`` and ``add`` over a table of books."""

    def initial_state(self):
        return {"books": {}}


def _shelf(*books: tuple[int, str]) -> _Shelf:
    shelf = _Shelf()
    for pk, author in books:
        shelf.add("books", pk, {"Id": pk, "Author": author})
    return shelf


def test_where_finds_the_records_of_a_value_in_the_order_they_were_made():
    shelf = _shelf((1, "Austen"), (2, "Brontë"), (3, "Austen"))

    assert [b["Id"] for b in shelf.where("books", "Author", "Austen")] == [1, 3]
    shelf.add("books", 4, {"Id": 4, "Author": "Austen"})  # filed in the index made above
    assert [b["Id"] for b in shelf.where("books", "Author", "Austen")] == [1, 3, 4]
    assert shelf.where("books", "Author", "Eliot") == []


def test_where_takes_a_function_of_the_record_as_its_key():
    shelf = _shelf((1, "Austen"), (2, " austen "))

    def folded(book):
        return book["Author"].strip().casefold()

    assert [b["Id"] for b in shelf.where("books", folded, "austen")] == [1, 2]


def test_where_sees_a_record_stored_behind_its_back_and_a_reset():
    shelf = _shelf((1, "Austen"))
    assert len(shelf.where("books", "Author", "Austen")) == 1

    shelf.state["books"]["9"] = {"Id": 9, "Author": "Austen"}  # as a test sets a case up
    assert [b["Id"] for b in shelf.where("books", "Author", "Austen")] == [1, 9]
    shelf.reset()
    assert shelf.where("books", "Author", "Austen") == []


def test_where_never_returns_a_record_whose_key_changed_and_reindex_finds_it_again():
    shelf = _shelf((1, "Austen"), (2, "Brontë"))
    shelf.where("books", "Author", "Austen")

    shelf.state["books"]["1"]["Author"] = "Brontë"
    assert shelf.where("books", "Author", "Austen") == []
    shelf.reindex("books")
    assert [b["Id"] for b in shelf.where("books", "Author", "Brontë")] == [1, 2]
