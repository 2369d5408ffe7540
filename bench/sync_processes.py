"""The processes the sync benchmark starts: the platform's HTTP server and the sync workers.

    .venv/bin/python bench/sync_processes.py serve --database NAME --port PORT
    .venv/bin/python bench/sync_processes.py work --database NAME

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

``work`` is one worker: it prints ``ready``, waits for a line on stdin, then loops
``connectors.engine.sweep.jobs_process_due()`` until no job is pending or in flight, and prints
one JSON line: the queries it made (``connection.execute_wrapper``), by the entity of the
job that made them, its jobs, its CPU time and when it finished.

Both publish nothing: a worker takes jobs from the outbox (``SyncJob``) by polling, as the
embedded sweeper and ``sync --process`` do, instead of receiving one Celery message per
job (no broker runs here). ``outbox_only_publishing`` turns eager tasks off and makes the
publish a no-op, so a change enqueued mid-run waits for a worker instead of running
inline in whichever process made it.
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
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.setup import django_setup

PLATFORM = "abillity"


def outbox_only_publishing() -> Counter:
    """Publish no task messages (count them instead): the workers poll the outbox."""
    from connectors.tasks import job_process_task

    published: Counter = Counter()

    def publish(args=None, countdown=None, **kwargs) -> None:
        published["delayed" if countdown else "now"] += 1

    job_process_task.app.conf.task_always_eager = False
    job_process_task.apply_async = publish
    return published


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


# --- a worker ------------------------------------------------------------------------------
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


def work(profile: str = "", threads: int = 1) -> None:
    from django.db import connection

    from connectors.choices import JobStatus
    from connectors.engine import run, sweep
    from connectors.models import SyncJob

    published = outbox_only_publishing()
    queries = QueryCounter()
    jobs: Counter = Counter()
    statuses: Counter = Counter()
    process = run.job_process
    counted = threading.Lock()

    def job_process(platform: str, entity: str, object_id: int):
        queries.label = entity
        # A job thread's connection is its own: count its queries too.
        counted_here = queries in connection.execute_wrappers
        counting = nullcontext() if counted_here else connection.execute_wrapper(queries)
        try:
            with counting:
                finished = process(platform, entity, object_id)
        finally:
            queries.label = "polling"
        if finished is not None:
            with counted:
                jobs[entity] += 1
                statuses[finished.status] += 1
        return finished

    run.job_process = job_process  # jobs_process_due calls it by this name
    http = http_timer()
    unfinished = SyncJob.objects.filter(
        platform=PLATFORM, status__in=(JobStatus.PENDING, JobStatus.IN_FLIGHT)
    )
    print("ready", flush=True)
    sys.stdin.readline()
    cpu = time.process_time()
    idle = 0
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    with connection.execute_wrapper(queries):
        while True:
            done = sweep.jobs_process_due(platform=PLATFORM, threads=threads)
            if sum(n for status, n in done.items() if status != "taken elsewhere"):
                continue
            if not unfinished.exists():
                break
            idle += 1
            time.sleep(0.05)  # a job waits out a short delay, or another worker has it
    finished_at = time.time()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(f"{profile}.{os.getpid()}")
    print(
        json.dumps(
            {
                "pid": os.getpid(),
                "finished_at": finished_at,
                "cpu_seconds": round(time.process_time() - cpu, 3),
                "queries": dict(queries.counts),
                "query_seconds": round(queries.seconds, 3),
                "http_seconds": round(http["seconds"], 3),
                "jobs": dict(jobs),
                "statuses": dict(statuses),
                "idle_polls": idle,
                "published": dict(published),
            }
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("role", choices=("serve", "work"))
    parser.add_argument("--database", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--profile", default="", help="(work) write cProfile stats to PROFILE.<pid>"
    )
    parser.add_argument("--threads", type=int, default=1, help="(work) jobs run at once")
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_DEBUG", "false")
    django_setup(options.database, migrate=False)
    if options.role == "serve":
        serve(options.port)
    else:
        work(options.profile, options.threads)


if __name__ == "__main__":
    main()
