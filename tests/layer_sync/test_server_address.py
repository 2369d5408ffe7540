"""The embedded emulators are reached at the server's own address, whatever host and
port it was started on, and two servers on one machine never share emulator state.

What this answers: started on another port than 8000, every sync failed with a raw
connection error; with another copy of the product on 8000, Send to Connect went into that
copy's emulator and reported a client "an earlier attempt made" that the other copy had
made. Here two copies (two databases) are served by real processes on two free ports, one
by ``manage.py runserver`` and one by gunicorn with the product's config, and each sends
the same customer to Connect (docs/connect.md: a client found under the customer's
Billing Reference is bound, "found_existing", instead of making another).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from connectors.abillity.sandbox import SANDBOX_CREDENTIALS as ABILLITY_LOGIN
from connectors.base import connector_for
from connectors.connect.sandbox import SANDBOX_TOKEN
from connectors.errors import ConfigurationError, RecoverableError
from layer_sync.server import (
    ServerAddressUnknown,
    loopback_url,
    registry_path,
    server_url,
    server_url_record,
)

BASE_DIR = Path(__file__).resolve().parents[2]
TOKEN = re.compile(r"API token for admin: ([0-9a-f]+)")
KEPT_VARIABLES = ("PATH", "HOME", "LANG", "TMPDIR", "PYTHONPATH")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Copy:
    """One copy of the product: its own SQLite database and media, in the embedded mode
    (no broker: tasks run in the server; no SANDBOX_BASE_URL: nothing tells the server
    its address but its own start)."""

    def __init__(self, root: Path, name: str) -> None:
        root.mkdir()
        self.env = {k: os.environ[k] for k in KEPT_VARIABLES if k in os.environ}
        self.env.update(
            {
                "DJANGO_SETTINGS_MODULE": "layer_sync.settings",
                "DATABASE_URL": f"sqlite:///{root / 'db.sqlite3'}",
                "DJANGO_MEDIA_ROOT": str(root / "media"),
                "LOG_LEVEL": "WARNING",
            }
        )
        self.name = name
        self.log_path = root / "server.log"
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.token = ""

    def manage(self, *args: str) -> str:
        result = subprocess.run(  # noqa: S603 (this interpreter, our manage.py)
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def prepare(self) -> None:
        self.manage("migrate", "--noinput", "-v0")
        self.token = TOKEN.search(self.manage("seed_demo")).group(1)

    def serve(self, command: list[str], port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(  # noqa: S603 (our own server, fixed arguments)
                command, cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 120  # a loaded machine starts slowly
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            try:
                if requests.get(f"{self.url}/health/", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"{self.name} did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def api(self, method: str, path: str) -> requests.Response:
        return requests.request(
            method,
            f"{self.url}{path}",
            headers={"Authorization": f"Token {self.token}"},
            timeout=30,
        )

    def api_post(self, path: str, body: dict) -> requests.Response:
        return requests.post(
            f"{self.url}{path}",
            json=body,
            headers={"Authorization": f"Token {self.token}"},
            timeout=30,
        )

    def wait_for_job(self, job_id: int) -> dict:
        deadline = time.monotonic() + 30
        while True:
            job = self.api("GET", f"/api/v1/sync-jobs/{job_id}/").json()
            if job["status"] not in ("pending", "in_flight") or time.monotonic() > deadline:
                return job
            time.sleep(0.3)

    def abillity_companies_named(self, name: str) -> list[dict]:
        response = requests.get(
            f"{self.url}/sandbox/abillity/company",
            params={"Name": name},
            headers={
                "SystemInformation": ABILLITY_LOGIN["systeminformation"],
                "username": ABILLITY_LOGIN["username"],
                "password": ABILLITY_LOGIN["password"],
            },
            timeout=10,
        )
        if response.status_code == 404:  # abillity-api.md: an empty list is a 404
            return []
        assert response.status_code == 200, response.text
        return response.json()

    def connect_clients(self) -> list[dict]:
        response = requests.get(
            f"{self.url}/sandbox/connect/clients",
            headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()["results"]


@pytest.fixture
def two_copies(tmp_path):
    copies = [Copy(tmp_path / "first", "runserver"), Copy(tmp_path / "second", "gunicorn")]
    try:
        yield copies
    finally:
        for copy in copies:
            copy.stop()


def sendable_customer_id(copy: Copy) -> int:
    customers = copy.api("GET", "/api/v1/customers/?ordering=id").json()["results"]
    return next(c["id"] for c in customers if c["stage"] != "lead" and c["status"] != "cancelled")


def test_two_servers_on_two_ports_each_sync_against_their_own_emulators(two_copies):
    first, second = two_copies
    for copy in two_copies:
        copy.prepare()
    first_port = free_port()
    second_port = free_port()
    while second_port == first_port:  # the system may hand the same free port out twice
        second_port = free_port()
    first.serve(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{first_port}", "--noreload"],
        first_port,
    )
    second.serve(
        [
            sys.executable, "-m", "gunicorn", "layer_sync.wsgi",
            "-c", "python:layer_sync.server.gunicorn_config",
            f"--bind=0.0.0.0:{second_port}", "--workers=1", "--threads=4",
        ],
        second_port,
    )  # fmt: skip
    customer_id = sendable_customer_id(first)
    assert sendable_customer_id(second) == customer_id  # the same demo data in both

    sent = [
        copy.api("POST", f"/api/v1/customers/{customer_id}/send-to-connect/") for copy in two_copies
    ]

    for copy, response in zip(two_copies, sent, strict=True):
        assert response.status_code == 201, f"{copy.name}: {response.text}\n{copy.log()}"
        body = response.json()
        # Neither copy finds a client "an earlier attempt made" in the other's emulator.
        assert body["found_existing"] is False
        assert body["billing_reference"] == str(customer_id)
        assert body["url"].startswith(f"{copy.url}/sandbox/connect/")
        clients = copy.connect_clients()
        assert [c["billing_reference"] for c in clients] == [str(customer_id)]

    # A sync through the engine (a job, run in the server once queued): each copy's
    # Abillity emulator gets the company once, from its own copy.
    name = first.api("GET", f"/api/v1/customers/{customer_id}/").json()["name"]
    for copy in two_copies:
        queued = copy.api_post(f"/api/v1/customers/{customer_id}/sync/", {"platform": "abillity"})
        assert queued.status_code == 202, queued.text
        job = copy.wait_for_job(queued.json()["id"])
        assert job["status"] == "succeeded", f"{copy.name}: {job}\n{copy.log()}"
        # Made in its own emulator: not found there, made by the other copy, and mapped.
        assert job["operation"] == "inserted", job
        assert [c["Name"] for c in copy.abillity_companies_named(name)] == [name]
    assert "Traceback" not in first.log() + second.log()


def test_a_command_beside_a_running_server_uses_that_servers_emulators(two_copies):
    first, _second = two_copies
    first.prepare()
    port = free_port()
    first.serve([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], port)
    ask = "from layer_sync.server import server_url; print(server_url())"

    assert first.manage("shell", "-c", ask).splitlines()[-1] == first.url

    first.stop()
    result = subprocess.run(  # noqa: S603 (this interpreter, our manage.py)
        [sys.executable, "manage.py", "shell", "-c", ask],
        cwd=BASE_DIR,
        env=first.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "no server of this database is running" in result.stderr


# --- in-process: the address rules and the errors staff read ---------------------------
@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("127.0.0.1", 8001, "http://127.0.0.1:8001"),
        ("0.0.0.0", "9000", "http://127.0.0.1:9000"),  # noqa: S104 (a bind address, read)
        ("", 8000, "http://127.0.0.1:8000"),
        ("::", 8002, "http://[::1]:8002"),
        ("[::1]", 8003, "http://[::1]:8003"),
        ("192.0.2.10", 8004, "http://192.0.2.10:8004"),
        ("localhost", 8005, "http://localhost:8005"),
    ],
)
def test_a_bind_address_is_reached_on_loopback_when_it_is_a_wildcard(host, port, url):
    assert loopback_url(host, port) == url


def test_with_no_server_and_no_setting_a_sync_fails_saying_what_to_set(
    settings, monkeypatch, tmp_path
):
    settings.SANDBOX_BASE_URL = ""
    monkeypatch.delenv("LAYER_SYNC_SERVER_URL", raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # no server's file there

    with pytest.raises(ServerAddressUnknown):
        server_url()
    with pytest.raises(ConfigurationError, match="SANDBOX_BASE_URL"):
        connector_for("connect").client()


def test_a_command_uses_the_address_a_server_of_its_database_published(
    settings, monkeypatch, tmp_path
):
    settings.SANDBOX_BASE_URL = ""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.delenv("LAYER_SYNC_SERVER_URL", raising=False)
    server_url_record("http://127.0.0.1:8123")  # as the server does
    monkeypatch.delenv("LAYER_SYNC_SERVER_URL")  # a command: another process

    assert server_url() == "http://127.0.0.1:8123"
    assert (registry_path().parent.stat().st_mode & 0o777) == 0o700
    # Another database (this test opens none; the name is put back at its end).
    monkeypatch.setitem(settings.DATABASES["default"], "NAME", str(tmp_path / "other.sqlite3"))
    with pytest.raises(ServerAddressUnknown):  # another database: another copy's server
        server_url()


def test_an_address_in_a_folder_others_may_write_is_not_believed(settings, monkeypatch, tmp_path):
    settings.SANDBOX_BASE_URL = ""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.delenv("LAYER_SYNC_SERVER_URL", raising=False)
    shared = tmp_path / f"layer_sync-{os.getuid()}"
    shared.mkdir()
    shared.chmod(0o777)  # anyone could plant an address there, and have credentials sent
    with pytest.raises(PermissionError):
        registry_path()

    server_url_record("http://127.0.0.1:8124")  # the server publishes nothing there
    monkeypatch.delenv("LAYER_SYNC_SERVER_URL")

    assert list(shared.iterdir()) == []
    with pytest.raises(ServerAddressUnknown):
        server_url()


def test_an_unreachable_emulator_is_a_clear_error_not_a_raw_connection_error(settings):
    port = free_port()  # bound a moment ago, now closed: nothing listens there
    settings.SANDBOX_BASE_URL = f"http://127.0.0.1:{port}"

    with connector_for("connect").client() as client, pytest.raises(RecoverableError) as error:
        client.request("GET", "clients")

    message = error.value.message
    assert message.startswith(
        f"Could not reach the Connect emulator at http://127.0.0.1:{port}/sandbox/connect/"
    )
    assert "Is that server running?" in message
    assert "Max retries" not in message and "NewConnectionError" not in message


def test_a_real_platform_unreachable_keeps_its_own_message(settings):
    port = free_port()
    settings.CONNECT_API_URL = f"http://127.0.0.1:{port}/api/"
    settings.CONNECT_API_TOKEN = "a-real-token"

    with connector_for("connect").client() as client, pytest.raises(RecoverableError) as error:
        client.request("GET", "clients")

    assert error.value.message.startswith("Could not reach Connect: ")
