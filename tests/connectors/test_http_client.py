"""The one HTTP client of every platform: status codes mapped to error classes, no redirects,
timeouts, and a record of every call."""

import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
import responses

from connectors.errors import (
    ConfigurationError,
    NotFoundError,
    PermanentError,
    RecoverableError,
)
from connectors.http import (
    AttemptRecord,
    PlatformClient,
    call_slot,
    retry_after_seconds,
    worker_session,
)
from connectors.redaction import MASK
from tests.connectors.engine_helpers import platform_connections_open, wait_for
from tests.connectors.fake import FakeConnector
from tests.helpers import run_concurrently

BASE = "http://platform.test/api/"


class KeyClient(PlatformClient):
    platform_name = "Test platform"

    def auth_headers(self) -> dict[str, str]:
        return {"X-Api-Key": "client-key-4455"}


@pytest.fixture
def observed() -> list[AttemptRecord]:
    return []


@pytest.fixture
def client(observed) -> KeyClient:
    return KeyClient(BASE, timeout=(1.0, 2.0), observer=observed.append)


# --- answers -------------------------------------------------------------------------------
@responses.activate
def test_a_2xx_answer_is_its_decoded_json_and_an_empty_one_is_none(client):
    responses.get(f"{BASE}accounts", json=[{"id": 1}])
    responses.delete(f"{BASE}accounts/1", status=204)

    assert client.request("GET", "accounts") == [{"id": 1}]
    assert client.request("DELETE", "/accounts/1") is None


@responses.activate
def test_each_call_sends_the_credentials_json_and_query(client):
    responses.post(f"{BASE}accounts", json={"id": 2}, status=201)

    client.request("POST", "accounts", json_body={"name": "Acme"}, params={"dry": "1"})

    sent = responses.calls[0].request
    assert sent.headers["X-Api-Key"] == "client-key-4455"
    assert sent.headers["Accept"] == "application/json"
    assert sent.body == b'{"name": "Acme"}'
    assert sent.url == f"{BASE}accounts?dry=1"


@responses.activate
@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, PermanentError),
        (409, PermanentError),
        (422, PermanentError),
        (401, ConfigurationError),
        (403, ConfigurationError),
        (404, NotFoundError),
        (429, RecoverableError),
        (500, RecoverableError),
        (502, RecoverableError),
        (503, RecoverableError),
    ],
)
def test_each_error_status_raises_its_class_with_the_platforms_message(client, status, error):
    responses.get(f"{BASE}accounts", json={"message": "the platform's words"}, status=status)

    with pytest.raises(error) as raised:
        client.request("GET", "accounts")

    assert type(raised.value) is error
    assert raised.value.status_code == status
    assert raised.value.message == f"Test platform answered {status}: the platform's words"


@responses.activate
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"Message": "capitalised"}, "capitalised"),
        ({"errors": {"name": ["too long"]}}, '{"name": ["too long"]}'),
        ({"unexpected": 1}, '{"unexpected": 1}'),
        ("plain text refusal", "plain text refusal"),
        ("", "Bad Request"),
    ],
)
def test_the_platforms_message_is_found_however_it_words_it(client, body, expected):
    if isinstance(body, dict):
        responses.get(f"{BASE}accounts", json=body, status=400)
    else:
        responses.get(f"{BASE}accounts", body=body, status=400)

    with pytest.raises(PermanentError) as raised:
        client.request("GET", "accounts")

    assert raised.value.message == f"Test platform answered 400: {expected}"


@responses.activate
def test_a_2xx_answer_that_is_not_json_is_a_permanent_error_quoting_it(client):
    responses.post(f"{BASE}accounts", body="<html>Maintenance</html>", status=200)

    with pytest.raises(PermanentError) as raised:
        client.request("POST", "accounts", json_body={})

    assert raised.value.status_code == 200
    assert raised.value.message == (
        "Test platform answered 200 with a body that is not JSON: <html>Maintenance</html>"
    )


@responses.activate
def test_a_redirect_is_not_followed_and_is_a_configuration_error_naming_the_target(client):
    responses.post(
        f"{BASE}accounts", status=302, headers={"Location": "http://elsewhere.test/steal"}
    )
    elsewhere = responses.post("http://elsewhere.test/steal", json={})

    with pytest.raises(ConfigurationError) as raised:
        client.request("POST", "accounts", json_body={"name": "Acme"})

    assert elsewhere.call_count == 0  # the credentials never went there
    assert len(responses.calls) == 1
    assert "a redirect to http://elsewhere.test/steal; check the API URL" in raised.value.message


# --- Retry-After ---------------------------------------------------------------------------
@responses.activate
def test_a_429_carries_its_retry_after_in_seconds(client):
    responses.get(f"{BASE}accounts", status=429, headers={"Retry-After": "7"})

    with pytest.raises(RecoverableError) as raised:
        client.request("GET", "accounts")

    assert raised.value.retry_after == 7.0


@responses.activate
def test_a_429_carries_its_retry_after_given_as_an_http_date(client):
    when = datetime.now(UTC) + timedelta(seconds=30)
    responses.get(
        f"{BASE}accounts", status=429, headers={"Retry-After": format_datetime(when, usegmt=True)}
    )

    with pytest.raises(RecoverableError) as raised:
        client.request("GET", "accounts")

    assert 27 <= raised.value.retry_after <= 30


@responses.activate
def test_a_429_without_retry_after_has_none(client):
    responses.get(f"{BASE}accounts", status=429)

    with pytest.raises(RecoverableError) as raised:
        client.request("GET", "accounts")

    assert raised.value.retry_after is None


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("", None),
        ("12", 12.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past: now
    ],
)
def test_retry_after_values_are_read_as_seconds_from_now(header, seconds):
    assert retry_after_seconds(header) == seconds


# --- failures without an answer ---------------------------------------------------------------
@responses.activate
@pytest.mark.parametrize(
    ("raised_by_network", "message"),
    [
        (requests.ReadTimeout("read timed out"), "Test platform did not answer within 2 s"),
        (
            requests.ConnectTimeout("connect timed out"),
            "Could not connect to Test platform within 1 s",
        ),
        (requests.ConnectionError("refused"), "Could not reach Test platform: refused"),
    ],
)
def test_timeouts_and_connection_errors_are_recoverable(client, raised_by_network, message):
    responses.get(f"{BASE}accounts", body=raised_by_network)

    with pytest.raises(RecoverableError) as raised:
        client.request("GET", "accounts")

    assert raised.value.message.startswith(message)
    assert raised.value.status_code is None


def test_a_client_with_no_api_url_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match=r"^No API URL is configured for Test platform\.$"):
        KeyClient("")


@pytest.mark.parametrize(
    "path", ["http://elsewhere.test/x", "../admin/", "accounts/../../admin", "./accounts"]
)
def test_a_path_that_would_leave_the_api_root_is_refused_before_any_call(client, path, observed):
    with responses.RequestsMock() as mocked, pytest.raises(PermanentError) as raised:
        client.request("GET", path)

    assert "leaves the Test platform API root" in raised.value.message
    assert len(mocked.calls) == 0
    assert observed == []


# --- the record of each call ---------------------------------------------------------------------
@responses.activate
def test_the_observer_gets_one_record_per_call_whatever_came_of_it(client, observed):
    responses.post(f"{BASE}accounts", json={"id": 3, "token": "t-998877"}, status=201)
    responses.patch(f"{BASE}accounts/3", json={"message": "name too long"}, status=400)
    responses.get(f"{BASE}accounts", body=requests.ReadTimeout("read timed out"))

    client.request("POST", "accounts", json_body={"name": "Acme", "password": "hunter22"})
    with pytest.raises(PermanentError):
        client.request("PATCH", "accounts/3", json_body={"name": "A" * 60})
    with pytest.raises(RecoverableError):
        client.request("GET", "accounts", params={"reference": "C1", "api_key": "k-1"})

    created, refused, timed_out = observed
    assert (created.method, created.path, created.status_code, created.error) == (
        "POST",
        "accounts",
        201,
        "",
    )
    assert created.request_excerpt == f'{{"name": "Acme", "password": "{MASK}"}}'
    assert created.response_excerpt == f'{{"id": 3, "token": "{MASK}"}}'
    assert (refused.status_code, refused.response_excerpt) == (400, '{"message": "name too long"}')
    assert (timed_out.status_code, timed_out.response_excerpt) == (None, "")
    assert timed_out.path == f"accounts?reference=C1&api_key={MASK}"
    assert timed_out.error.startswith("Test platform did not answer within 2 s")
    assert all(r.duration_ms >= 0 and r.started_at.tzinfo is not None for r in observed)


def test_closing_a_client_closes_the_connections_it_kept_alive(fake_platform):
    before = set(platform_connections_open())  # the worker sessions' of earlier tests
    fake_platform.faults_set(fail_next=1, fail_status=500)
    client = FakeConnector().client()
    # The error is kept (as a logged or chained exception is): through its traceback it
    # holds the response, which holds the connection pool.
    with pytest.raises(RecoverableError) as raised:
        client.request("GET", "accounts")

    def opened() -> set[str]:
        return set(platform_connections_open()) - before

    assert opened()  # kept alive for the next call

    client.close()

    wait_for(lambda: not opened(), timeout=3, what="the connection to close")
    assert raised.value.status_code == 500


def test_closing_a_client_leaves_a_session_it_was_given_to_its_owner(fake_platform):
    session = requests.Session()
    client = FakeConnector().client()
    given = type(client)(client.base_url, api_key="k", session=session)

    given.close()

    assert given.session is session
    assert session.adapters  # not closed: still the caller's to use


# --- writes whose answer never came -------------------------------------------------------
@pytest.mark.parametrize(("method", "uncertain"), [("POST", True), ("PATCH", True), ("GET", False)])
@responses.activate
def test_a_write_that_times_out_is_an_uncertain_write_a_read_is_not(client, method, uncertain):
    responses.add(method, BASE + "accounts", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(RecoverableError) as failed:
        client.request(method, "accounts", json_body={} if method != "GET" else None)
    assert failed.value.uncertain_write is uncertain


@responses.activate
def test_a_write_refused_before_connecting_is_not_uncertain(client):
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    refused = MaxRetryError(None, BASE, reason=NewConnectionError(None, "Connection refused"))
    responses.post(BASE + "accounts", body=requests.ConnectionError(refused))
    with pytest.raises(RecoverableError) as failed:
        client.request("POST", "accounts", json_body={})
    assert failed.value.uncertain_write is False


@responses.activate
def test_a_write_whose_connection_dropped_is_uncertain(client):
    responses.post(BASE + "accounts", body=requests.ConnectionError("Connection reset by peer"))
    with pytest.raises(RecoverableError) as failed:
        client.request("POST", "accounts", json_body={})
    assert failed.value.uncertain_write is True


# --- calls in flight ---------------------------------------------------------------------
def _overlapping_calls(clients: list[KeyClient], wait: float = 0.05) -> int:
    """Each client makes one call from a thread of its own at the same moment; the most
    the platform (a ``responses`` callback taking ``wait`` s) was answering at once."""
    lock = threading.Lock()
    seen = {"now": 0, "most": 0}

    def answer(request):
        with lock:
            seen["now"] += 1
            seen["most"] = max(seen["most"], seen["now"])
        time.sleep(wait)
        with lock:
            seen["now"] -= 1
        return 200, {}, "{}"

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.GET, f"{BASE}accounts", callback=answer)
        _, errors = run_concurrently(*(lambda c=c: c.request("GET", "accounts") for c in clients))
    assert errors == [None] * len(clients)
    return seen["most"]


@pytest.mark.parametrize(("limit", "most"), [(1, 1), (2, 2), (0, 3)])
def test_a_process_has_at_most_its_call_slots_on_the_wire_whichever_thread_calls(limit, most):
    clients = [KeyClient(BASE, timeout=(1.0, 2.0)) for _ in range(3)]
    for client in clients:
        client.calls_in_flight = limit
    assert _overlapping_calls(clients) == most


def test_waiting_for_a_call_slot_is_not_counted_in_the_calls_duration():
    observed: list[AttemptRecord] = []
    clients = [KeyClient(BASE, timeout=(1.0, 2.0), observer=observed.append) for _ in range(3)]
    for client in clients:
        client.calls_in_flight = 1
    _overlapping_calls(clients, wait=0.1)
    # One after another: the last waited ~0.2 s for its slot, yet each call took ~0.1 s.
    assert len(observed) == 3
    assert all(90 <= attempt.duration_ms < 190 for attempt in observed), observed


def test_call_slots_are_per_platform_and_per_limit():
    first, second = call_slot("one", 1), call_slot("two", 1)
    assert first is call_slot("one", 1)
    assert first is not second
    assert call_slot("one", 2) is not first
    with first:  # the slot of "one" taken: "two" still has its own
        assert second.acquire(blocking=False)
        second.release()
        assert not first.acquire(blocking=False)


@pytest.mark.parametrize(
    ("method", "json_body", "params"),
    [("GET", None, {"Name": "Acme & Sons", "page": 2}), ("POST", {"Name": "Acme"}, None)],
)
def test_a_worker_sessions_call_is_prepared_as_requests_own_session_would(
    monkeypatch, method, json_body, params
):
    """connectors/http.py: a worker's session (no proxy in the environment, so it reads
    nothing from it) is prepared without Session.prepare_request; what goes out is the
    same: its headers under the call's, the URL with its query, the body."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    from connectors.http import worker_sessions_close

    worker_sessions_close()
    session = worker_session("fake-prepare")
    session.headers["X-Session-Wide"] = "kept"
    client = PlatformClient("https://platform.example/api/", session=session)
    headers = {"Accept": "application/json", "X-Api-Key": "k"}
    url = client.url_for("accounts")

    prepared, options = client._prepare(method, url, json_body, params, headers)
    expected = session.prepare_request(
        requests.Request(method, url, headers=headers, json=json_body, params=params)
    )

    assert session.trust_env is False  # the direct way is the one taken
    assert (prepared.method, prepared.url, prepared.body) == (
        expected.method,
        expected.url,
        expected.body,
    )
    assert list(prepared.headers.items()) == list(expected.headers.items())
    assert options == {
        **session.merge_environment_settings(expected.url, {}, None, None, None),
        "timeout": client.timeout,
        "allow_redirects": False,
    }
    worker_sessions_close()
