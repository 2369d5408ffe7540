"""The sync benchmark's Celery worker: the project's Celery app, its work counted and profiled.

    celery -A bench.sync_worker worker -P threads -c 2 ...   (``bench/sync.py`` starts them)

The app is ``layer_sync.celery``'s, the tasks the engine's: a worker receives one message
per job (or per transaction, ``connectors.jobs_process``) from Redis, as in production.
Only the queue is the benchmark's own (``BENCH_QUEUE``), for what the workers publish
themselves too (a transaction's other records, a busy record's next look).

Counted, from the worker's ``worker_ready`` to its warm shutdown (SIGTERM), and written as
JSON to ``BENCH_WORKER_REPORT`` at shutdown:

- the queries of every database connection the process opens (one per pool thread), by
  the entity of the job its thread runs, and their round-trip time;
- the jobs run, by entity and by how they finished;
- the HTTP calls' time, from the request sent to the answer read;
- CPU time: the whole process's (every thread: the pool's and Celery's own, which receives
  and acknowledges messages) and the pool threads' inside tasks alone.

With ``BENCH_PROFILE`` set, every thread is profiled, in CPU time (``time.thread_time``:
waiting on the platform or the database costs nothing): each pool thread runs its tasks
under a ``cProfile`` of its own, Celery's main thread (the consumer) under another from
ready to shutdown; they are merged into ``BENCH_PROFILE.<pid>`` (``pstats`` format).
"""

from __future__ import annotations

import cProfile
import json
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from celery.signals import task_postrun, task_prerun, worker_ready, worker_shutdown

from bench.setup import celery_queue_conf
from bench.sync_processes import QueryCounter, http_timer
from layer_sync.celery import app

app.conf.update(**celery_queue_conf(os.environ.get("BENCH_QUEUE", "bench-sync")))

PROFILE = os.environ.get("BENCH_PROFILE", "")
REPORT = os.environ.get("BENCH_WORKER_REPORT", "")


class Tally:
    """What the worker did; filled by the signal receivers below."""

    def __init__(self) -> None:
        self.queries = QueryCounter()
        self.jobs: Counter = Counter()
        self.statuses: Counter = Counter()
        self.lock = threading.Lock()
        self.local = threading.local()
        self.profilers: list[cProfile.Profile] = []
        self.task_cpu = 0.0
        self.cpu_at_ready = 0.0
        self.http: dict = {"seconds": 0.0}
        self.main_profiler: cProfile.Profile | None = None


TALLY = Tally()


def _count_connection(sender, connection, **kwargs) -> None:
    # Sent at every (re)connection of a thread's DatabaseWrapper: count its queries once.
    if TALLY.queries not in connection.execute_wrappers:
        connection.execute_wrappers.append(TALLY.queries)


@worker_ready.connect
def _ready(**kwargs) -> None:
    from django.db.backends.signals import connection_created

    from connectors import tasks
    from connectors.engine import run

    connection_created.connect(_count_connection, dispatch_uid="bench_count_queries")
    process = run.job_process

    def job_process(platform: str, entity: str, object_id: int):
        finished = process(platform, entity, object_id)
        if finished is not None:
            with TALLY.lock:
                TALLY.jobs[entity] += 1
                TALLY.statuses[finished.status] += 1
        return finished

    # The tasks and jobs_dispatch call it by these names.
    run.job_process = tasks.job_process = job_process
    TALLY.http = http_timer()
    TALLY.cpu_at_ready = time.process_time()
    if PROFILE:
        TALLY.main_profiler = cProfile.Profile(time.thread_time)
        TALLY.main_profiler.enable()


def _entity_of(task, args) -> str:
    if task.name == "connectors.job_process" and len(args) == 3:
        return str(args[1])
    if task.name == "connectors.jobs_process" and args and args[0]:
        return str(args[0][0][1])
    return task.name


@task_prerun.connect
def _task_started(task=None, args=(), **kwargs) -> None:
    local = TALLY.local
    TALLY.queries.label = _entity_of(task, args or ())
    local.cpu = time.thread_time()
    if PROFILE:
        if not hasattr(local, "profiler"):
            local.profiler = cProfile.Profile(time.thread_time)
            with TALLY.lock:
                TALLY.profilers.append(local.profiler)
        local.profiler.enable()


@task_postrun.connect
def _task_ended(**kwargs) -> None:
    local = TALLY.local
    if PROFILE and hasattr(local, "profiler"):
        local.profiler.disable()
    took = time.thread_time() - getattr(local, "cpu", time.thread_time())
    with TALLY.lock:
        TALLY.task_cpu += took
    TALLY.queries.label = "celery"


@worker_shutdown.connect
def _shutdown(**kwargs) -> None:
    if TALLY.main_profiler is not None:
        TALLY.main_profiler.disable()
    if PROFILE:
        import pstats

        profilers = [p for p in [TALLY.main_profiler, *TALLY.profilers] if p is not None]
        if profilers:
            stats = pstats.Stats(profilers[0])
            for other in profilers[1:]:
                stats.add(other)
            stats.dump_stats(f"{PROFILE}.{os.getpid()}")
    if REPORT:
        report = {
            "pid": os.getpid(),
            "cpu_seconds": round(time.process_time() - TALLY.cpu_at_ready, 3),
            "task_cpu_seconds": round(TALLY.task_cpu, 3),
            "queries": dict(TALLY.queries.counts),
            "query_seconds": round(TALLY.queries.seconds, 3),
            "http_seconds": round(TALLY.http["seconds"], 3),
            "jobs": dict(TALLY.jobs),
            "statuses": dict(TALLY.statuses),
            "threads_profiled": len(TALLY.profilers) + (TALLY.main_profiler is not None),
        }
        Path(REPORT).write_text(json.dumps(report))
