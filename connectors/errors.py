"""The sync engine's error classes: how a failure is handled depends on its class.

Connectors and platform clients raise these; the engine catches them and
decides what happens to the job (see ``connectors.engine.run.job_run``):

- ``RecoverableError``: the platform or the network failed for now (timeout,
  connection error, 429, 5xx). Retried with exponential backoff and full
  jitter until the attempt limit, then aborted into the error queue.
- ``PermanentError``: the platform refused the data (validation 4xx) or our
  own rules did (a missing mapping or charge type, a missing key field).
  Straight to the error queue with the message; retrying the same data would
  fail the same way.
- ``ConfigurationError``: credentials or settings are wrong (401, 403, an
  unset credential). Straight to the error queue, flagged as configuration.
- ``Deferred``: not an error: the record is busy elsewhere (a job for it or
  a dependency is in flight). The job waits and runs again shortly, without
  counting an attempt.

Every message is passed through the redactor before it is stored or logged.
"""

from __future__ import annotations


class SyncError(Exception):
    """Base of the engine's errors. ``message`` is what staff read."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class RecoverableError(SyncError):
    """Try again later. ``retry_after`` (seconds) is the platform's own hint, if any.

    ``uncertain_write``: a write was sent and its answer never came (a read timeout, a
    connection dropped mid-call): the platform may still be doing it. The retry waits
    ``SYNC_UNCERTAIN_WRITE_DELAY`` at least, so its look-up by natural key finds what
    that write made instead of making it again.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        uncertain_write: bool = False,
    ) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after
        self.uncertain_write = uncertain_write


class PermanentError(SyncError):
    """The data was refused; it goes to the error queue at once."""


class NotFoundError(PermanentError):
    """The platform has no such record (404). Connectors may catch it in lookups."""


class ConfigurationError(SyncError):
    """Credentials or settings are wrong; it goes to the error queue, flagged."""


class Deferred(Exception):
    """The record (or a dependency) is busy in another job; run again shortly."""

    def __init__(self, message: str, *, delay: float = 5.0) -> None:
        super().__init__(message)
        self.message = message
        self.delay = delay


class DependencyFailed(PermanentError):
    """A record this one depends on could not be synced; see its job."""

    def __init__(self, message: str, *, blocking_job_id: int) -> None:
        super().__init__(message)
        self.blocking_job_id = blocking_job_id
