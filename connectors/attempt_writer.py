"""Attempt rows written beside the calls they record, not between them.

A job writes one ``SyncAttempt`` row per HTTP call. Written inline, each row costs the
job a database round trip between two calls; on PostgreSQL a thread of the worker process
writes it instead, while the job's next call is on the wire. No row waits to be written:
each is handed over as its call ends and written at once (rows that queue up while the
database is slow go in one INSERT). A job's end waits for its rows (``attempts_written``),
so a finished or requeued job always shows every call it made; a row the thread could not
write is written again there, inline, and an error then fails the job's end as an inline
write would have failed the job.

Inline instead, where a thread's own connection would not do: inside a transaction (a
test, a sync run in a request's transaction: the rows belong to it, and the thread could
not see the job they point at), and on SQLite (one writer at a time).
"""

from __future__ import annotations

import os
import threading

from django.conf import settings
from django.db import connection

from .models import SyncAttempt


def attempt_save(attempt: SyncAttempt) -> None:
    """Write an attempt row: by the writer thread when it can, else now."""
    if connection.in_atomic_block or not _threaded():
        attempt.save(force_insert=True)
        return
    _writer().put(attempt)


def attempts_written() -> None:
    """Wait until every attempt row handed over is written (nothing to wait for if none)."""
    writer = _current
    if writer is not None and writer.pid == os.getpid():
        writer.wait()


def attempt_writer_stop() -> None:
    """Write what is left and end the thread, closing its connection (tests, shutdown)."""
    global _current
    writer, _current = _current, None
    if writer is not None and writer.pid == os.getpid():
        writer.stop()


def _threaded() -> bool:
    return settings.SYNC_ATTEMPT_WRITER and connection.vendor == "postgresql"


_current: AttemptWriter | None = None
_lock = threading.Lock()


def _writer() -> AttemptWriter:
    """This process's writer (a forked worker makes its own: threads do not survive a fork)."""
    global _current
    with _lock:
        if _current is None or _current.pid != os.getpid():
            _current = AttemptWriter()
        return _current


class AttemptWriter:
    """A thread writing the rows handed to it, in the order given, on a connection of its own."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._changed = threading.Condition()
        self._queue: list[SyncAttempt] = []
        self._unwritten: list[SyncAttempt] = []
        self._writing = False
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sync-attempt-writer", daemon=True)
        self._thread.start()

    def put(self, attempt: SyncAttempt) -> None:
        with self._changed:
            self._queue.append(attempt)
            self._changed.notify_all()

    def wait(self) -> None:
        with self._changed:
            while self._queue or self._writing:
                self._changed.wait()
            unwritten, self._unwritten = self._unwritten, []
        if unwritten:
            SyncAttempt.objects.bulk_create(unwritten)  # this thread's connection: raises

    def stop(self) -> None:
        self.wait()
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            while batch := self._next_batch():
                written = self._write(batch)
                with self._changed:
                    self._writing = False
                    if not written:
                        self._unwritten.extend(batch)
                    self._changed.notify_all()
        finally:
            connection.close()  # this thread's own

    def _next_batch(self) -> list[SyncAttempt]:
        with self._changed:
            while not self._queue and not self._stopping:
                self._changed.wait()
            batch, self._queue = self._queue, []
            self._writing = bool(batch)
            return batch

    @staticmethod
    def _write(batch: list[SyncAttempt]) -> bool:
        connection.close_if_unusable_or_obsolete()
        try:
            SyncAttempt.objects.bulk_create(batch)
        except Exception:
            # The waiting job writes them on its own connection and sees any error; this
            # connection is made again for the next rows.
            connection.close()
            return False
        return True
