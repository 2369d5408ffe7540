"""The platform's HTTP server the sync benchmark starts, and what its processes share.

    .venv/bin/python bench/sync_processes.py serve --database NAME --port PORT

``serve`` runs the Django app (the Abillity emulator under ``/sandbox/abillity/``) in a
threaded WSGI server on 127.0.0.1, one thread per connection, so N workers' calls overlap
as they would on the platform. Besides the app it answers ``GET /_bench/calls`` (bench
only): how many API calls the emulator logged, by method; and ``GET /_bench/server``, the
requests it served, the CPU time they took, their time from start to answer (the
injected latency included: the platform's share of a call) and the most of them in
progress at once since the last read. The
emulator's own request log
keeps the last 5,000 calls only; this count wraps its ``_log``, so it sees every call the
log records.

The sync workers are real ``celery worker`` processes (``bench/sync_worker.py``).
``outbox_only_publishing`` is for the benchmark's parts that run jobs in its own process
(the resync, the shapes): it turns eager tasks off and makes a publish a no-op, so a
change enqueued there waits for ``jobs_process_due`` instead of running inline.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.setup import django_setup

PLATFORM = "abillity"


@contextmanager
def outbox_only_publishing() -> Iterator[Counter]:
    """Within the block, publish no task messages (count them instead): jobs are taken
    from the outbox by ``jobs_process_due``."""
    from connectors.tasks import job_process_task, jobs_process_task

    published: Counter = Counter()

    def publish(args=None, countdown=None, **kwargs) -> None:
        published["delayed" if countdown else "now"] += 1

    conf = job_process_task.app.conf
    eager = conf.task_always_eager
    conf.task_always_eager = False
    job_process_task.apply_async = jobs_process_task.apply_async = publish
    try:
        yield published
    finally:
        del job_process_task.apply_async, jobs_process_task.apply_async  # the class's again
        conf.task_always_eager = eager


class QueryCounter:
    """``connection.execute_wrapper``: counts every query, by the label in force in the
    thread that makes it, and their time from sending to the answer read (all labels)."""

    def __init__(self) -> None:
        self._thread = threading.local()
        self._lock = threading.Lock()
        self.counts: Counter = Counter()
        self.seconds = 0.0

    @property
    def label(self) -> str:
        return getattr(self._thread, "label", "polling")

    @label.setter
    def label(self, value: str) -> None:
        self._thread.label = value

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            took = time.perf_counter() - started
            with self._lock:
                self.counts[self.label] += 1
                self.seconds += took

    @property
    def total(self) -> int:
        return sum(self.counts.values())


# --- the platform ------------------------------------------------------------------------
def serve(port: int) -> None:
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    from connectors.sandbox import emulator_for

    emulator = emulator_for(PLATFORM)
    calls: Counter = Counter()
    lock = threading.Lock()
    logged = emulator._log

    def log_and_count(request, response) -> None:
        logged(request, response)
        with lock:
            calls[request.method] += 1

    emulator._log = log_and_count
    django_app = get_wsgi_application()  # (configures logging again: quieten it after)
    # A warning per 404 (the API's answer to an empty list) would cost more than the call.
    logging.getLogger("django.request").setLevel(logging.ERROR)

    served = {"requests": 0, "cpu_seconds": 0.0, "wall_seconds": 0.0, "most_at_once": 0}
    in_flight = [0]

    def app(environ, start_response):
        path = environ.get("PATH_INFO")
        if path in ("/_bench/calls", "/_bench/server"):
            with lock:
                body = json.dumps(dict(calls) if path == "/_bench/calls" else served).encode()
                if path == "/_bench/server":  # the most at once since the last read
                    served["most_at_once"] = in_flight[0]
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        # The server's own CPU time per request (this thread's: the latency it sleeps
        # costs none), so a run shows how much of a call is the platform's, not ours.
        with lock:
            in_flight[0] += 1
            served["most_at_once"] = max(served["most_at_once"], in_flight[0])
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            return django_app(environ, start_response)
        finally:
            with lock:
                in_flight[0] -= 1
                served["requests"] += 1
                served["cpu_seconds"] += time.thread_time() - cpu
                served["wall_seconds"] += time.perf_counter() - wall

    class QuietHandler(WSGIRequestHandler):
        # The status line and headers, then the body, go in separate writes: with Nagle's
        # algorithm the body waits for the client's delayed ACK (40 ms) on every call.
        disable_nagle_algorithm = True

        def log_message(self, format, *args) -> None:
            pass  # a line per request

    ThreadedWSGIServer.request_queue_size = 64
    server = ThreadedWSGIServer(("127.0.0.1", port), QuietHandler, ipv6=False)
    server.set_app(app)
    print("serving", flush=True)
    server.serve_forever()


# --- timing the HTTP client ------------------------------------------------------------
def http_timer() -> dict:
    """Time every HTTP call the worker makes, from the request sent to the answer read."""
    import requests

    timed = {"seconds": 0.0}
    send = requests.Session.send
    lock = threading.Lock()

    def timed_send(self, request, **kwargs):
        started = time.perf_counter()
        try:
            return send(self, request, **kwargs)
        finally:
            with lock:
                timed["seconds"] += time.perf_counter() - started

    requests.Session.send = timed_send
    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("role", choices=("serve",))
    parser.add_argument("--database", required=True)
    parser.add_argument("--port", type=int, default=0)
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_DEBUG", "false")
    django_setup(options.database, migrate=False)
    serve(options.port)


if __name__ == "__main__":
    main()
