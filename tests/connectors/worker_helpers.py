"""Helpers of the operations tests: the fake integration, publishing, a real Celery worker.

``CeleryWorker`` runs ``celery worker`` as a separate process with the test
settings, against the pytest test database (PostgreSQL: a second process can
reach it; SQLite's in-memory test database it cannot) and a Redis broker, on
a queue of its own. ``celery_publishing`` points this process's Celery app at
that broker and queue (not eager) for a block, and puts it back after.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import redis
from django.db import connection
from kombu import pools

from billing.models import BillingPlatform
from connectors.engine import publish
from connectors.engine.entity_settings import entity_settings_ensure
from layer_sync.celery import app as celery_app
from tests.connectors.fake import PLATFORM

ROOT = Path(__file__).resolve().parents[2]
# The broker the worker tests use: Redis database 5 unless told otherwise.
REDIS_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/5")

T = TypeVar("T")


# --- the fake platform's integration -------------------------------------------------
def fake_integration_set(*, enabled: bool) -> None:
    """Turn the fake platform's integration on or off (its entity settings made if missing)."""
    BillingPlatform.objects.update_or_create(
        code=PLATFORM, defaults={"name": "Fake platform", "integration_enabled": enabled}
    )
    entity_settings_ensure()


def capture_publishes(monkeypatch: Any) -> list[tuple[str, str, int]]:
    """Record the tasks the engine publishes instead of publishing (or running) them.

    For tests of what is queued: with no broker, a publish would run the job
    at once (eager), which is not what they look at.
    """
    published: list[tuple[str, str, int]] = []

    def record(platform: str, entity: str, object_id: int, *, countdown: float = 0) -> bool:
        published.append((platform, entity, object_id))
        return True

    def record_each(keys: list[tuple[str, str, int]]) -> bool:
        # A transaction's records (one message with a broker): each is published.
        return all([record(*key) for key in keys])

    monkeypatch.setattr(publish, "job_publish", record)
    monkeypatch.setattr(publish, "jobs_publish", record_each)
    return published


@contextmanager
def calls_at_once(emulator: Any) -> Iterator[dict[str, int]]:
    """Count the API calls ``emulator`` is answering at one time (its latency included):
    ``["most"]`` is the most at once while the block ran."""
    lock = threading.Lock()
    seen = {"now": 0, "most": 0}
    handle = emulator.handle

    def counted(request: Any) -> Any:
        with lock:
            seen["now"] += 1
            seen["most"] = max(seen["most"], seen["now"])
        try:
            return handle(request)
        finally:
            with lock:
                seen["now"] -= 1

    emulator.handle = counted
    try:
        yield seen
    finally:
        del emulator.handle


# --- waiting ---------------------------------------------------------------------------
def wait_for(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.1,
    describe: Callable[[], str] = lambda: "",
) -> T:
    """Call ``probe`` until it returns something truthy, for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"Gave up after {timeout:.0f} s. {describe()}".strip())
        time.sleep(interval)


# --- brokers and queues ------------------------------------------------------------------
def redis_problem(url: str = REDIS_URL) -> str:
    """Why Redis cannot be used at ``url`` ("" when it answers a ping)."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        return f"no Redis answers at {url} ({exc})"
    return ""


def unique_queue() -> str:
    return f"layer-sync-test-{uuid.uuid4().hex[:12]}"


def queue_delete(queue: str, url: str = REDIS_URL) -> None:
    """Remove a test queue's keys from Redis (its messages and its exchange binding)."""
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        keys = list(client.scan_iter(match=f"*{queue}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def queue_length(queue: str, url: str = REDIS_URL) -> int:
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        return int(client.llen(queue))
    finally:
        client.close()


def closed_port() -> int:
    """A loopback port nothing listens on (a broker that is down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


_PUBLISHING_CONF = (
    "broker_url",
    "task_always_eager",
    "task_default_queue",
    "task_default_exchange",
    "task_default_routing_key",
)


def _drop_broker_connections() -> None:
    """Forget the app's broker connections and routes, so the next publish uses the conf."""
    pools.reset()
    celery_app._pool = None
    amqp = celery_app.amqp
    amqp._producer_pool = None
    amqp._rtable = None
    for cached in ("queues", "default_queue", "router", "default_exchange"):
        amqp.__dict__.pop(cached, None)


@contextmanager
def celery_publishing(*, broker_url: str, queue: str) -> Iterator[None]:
    """Within the block, this process publishes tasks to ``broker_url`` on ``queue``."""
    conf = celery_app.conf
    # Only what was set on the app itself is put back: the rest is read from the Django
    # settings, and writing a value read under a test's settings override would keep it
    # (task_always_eager False) for every later test.
    saved = {name: conf.changes[name] for name in _PUBLISHING_CONF if name in conf.changes}
    _drop_broker_connections()
    conf.update(
        broker_url=broker_url,
        task_always_eager=False,
        task_default_queue=queue,
        task_default_exchange=queue,
        task_default_routing_key=queue,
    )
    try:
        yield
    finally:
        _drop_broker_connections()
        for name in _PUBLISHING_CONF:
            conf.changes.pop(name, None)
        conf.update(saved)


# --- the worker -------------------------------------------------------------------------
def shared_database_url() -> str:
    """The URL of the database the tests run on (the pytest test database, once set up)."""
    params = connection.settings_dict
    user = quote(params.get("USER") or "", safe="")
    password = quote(str(params.get("PASSWORD") or ""), safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = params.get("HOST") or "127.0.0.1"
    port = f":{params['PORT']}" if params.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{quote(params['NAME'], safe='')}"


class CeleryWorker:
    """A ``celery worker`` process on one queue, with the test settings: the solo pool,
    or ``pool=("threads", N)`` for N jobs at once in the one process.

    Always call ``stop`` (a fixture finalizer): it ends the process it started,
    by its id, politely first.
    """

    def __init__(
        self,
        *,
        queue: str,
        broker_url: str,
        sandbox_url: str,
        log_path: Path,
        environment: dict[str, str] | None = None,
        name: str = "",
        pool: tuple[str, int] = ("solo", 1),
    ) -> None:
        self.queue = queue
        self.pool = pool
        self.broker_url = broker_url
        self.sandbox_url = sandbox_url
        self.log_path = log_path
        # Extra settings for the worker's environment (SYNC_LEASE_SECONDS=..., say), and
        # its node name (several workers on one queue each need their own).
        self.environment = dict(environment or {})
        self.name = name or self.queue
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "layer_sync.settings_test",
            "DATABASE_URL": shared_database_url(),
            "DATABASE_CONN_MAX_AGE": "0",
            "CELERY_BROKER_URL": self.broker_url,
            "SANDBOX_BASE_URL": self.sandbox_url,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            **self.environment,
        }
        command = [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "layer_sync",
            "worker",
            "-P",
            self.pool[0],
            "-c",
            str(self.pool[1]),
            "-Q",
            self.queue,
            "-n",
            f"{self.name}@%h",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 (our own worker, fixed arguments)
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        with suppress(OSError):
            return self.log_path.read_text(errors="replace")[-4000:]
        return ""

    def describe(self) -> str:
        state = (
            "running" if self.running() else f"exited ({self.process and self.process.returncode})"
        )
        return f"The worker is {state}. Its log ends:\n{self.log()}"

    def stop(self, timeout: float = 15) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # warm shutdown
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
