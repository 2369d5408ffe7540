"""One hardened HTTP client for every platform: timeouts, no redirects, errors classified.

A platform client (``connectors/<platform>/client.py``) subclasses
``PlatformClient`` and adds the platform's authentication and methods. It
knows HTTP and payloads only, never Django models. Every call is reported to
the ``observer`` (the engine records it as a ``SyncAttempt``) with redacted
excerpts, whether it succeeded, failed or never got an answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import urljoin

import requests
from django.conf import settings
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from layer_sync.server import ServerAddressUnknown, server_url

from .errors import ConfigurationError, NotFoundError, PermanentError, RecoverableError
from .redaction import excerpt, redact


@dataclass(frozen=True)
class AttemptRecord:
    """What the observer is told about one HTTP call."""

    started_at: datetime
    method: str
    path: str
    status_code: int | None
    duration_ms: int
    request_excerpt: str
    response_excerpt: str
    error: str


Observer = Callable[[AttemptRecord], None]


def retry_after_seconds(value: str | None) -> float | None:
    """The Retry-After header as seconds (it may be a number or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class _OneWriteHTTPConnection(HTTPConnection):
    """Sends a request whose body is one piece of bytes (what requests makes of ``json=``),
    framed by its Content-Length, in one write: the header block and the body together.

    urllib3 writes the header block (``endheaders()``), then the body: two syscalls, two
    TCP segments or TLS records, and the platform's read of the body waits for the second
    packet. Here the block ``endheaders()`` writes is held and sent joined to the body:
    one syscall, one segment or record, the body found in the same packet as the headers.
    Requests with no body, a chunked one or one read from a file or an iterator go out
    as before.
    """

    _hold_header_block = False
    _held_header_block: bytes | None = None

    def request(
        self,
        method: str,
        url: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> None:
        chunked = options.get("chunked") or any(
            str(name).lower() == "transfer-encoding" for name in headers or ()
        )
        # The first write of a request is its header block (``endheaders()``); the lines
        # before it are only buffered.
        self._hold_header_block = isinstance(body, bytes | str) and bool(body) and not chunked
        try:
            super().request(method, url, body, headers, **options)
            if self._held_header_block is not None:  # no body was sent after all
                self.send(b"")
        finally:
            # Whatever failed, nothing held goes out with the connection's next request.
            self._hold_header_block = False
            self._held_header_block = None

    def send(self, data: Any) -> None:
        if self._hold_header_block:
            self._hold_header_block = False
            self._held_header_block = data
            return
        if self._held_header_block is not None:
            data, self._held_header_block = self._held_header_block + data, None
        super().send(data)


class _OneWriteHTTPSConnection(_OneWriteHTTPConnection, HTTPSConnection):
    pass


class _OneWriteHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _OneWriteHTTPConnection


class _OneWriteHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _OneWriteHTTPSConnection


class OneWriteAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter, its connections sending a one-piece body in the same write as
    the headers (``_OneWriteHTTPConnection``). Calls through a proxy use requests' own proxy
    managers: two writes, as before."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _OneWriteHTTPConnectionPool,
            "https": _OneWriteHTTPSConnectionPool,
        }


def _session_new() -> requests.Session:
    """A requests session whose calls go through ``OneWriteAdapter``."""
    session = requests.Session()
    session.mount("https://", OneWriteAdapter())
    session.mount("http://", OneWriteAdapter())
    return session


_worker_sessions = threading.local()
_call_slots: dict[tuple[int, str, int], threading.BoundedSemaphore] = {}


def call_slot(platform: str, limit: int) -> contextlib.AbstractContextManager:
    """A slot of this process's ``limit`` calls in flight to ``platform`` (held for the
    call, from the request sent to its answer read); no limit when ``limit`` is 0.

    The threads of one process share the slots, so however many jobs a worker runs at
    once, the platform sees no more than ``limit`` of its calls at a time. (Keyed by the
    process too: a child made by fork starts with slots of its own, none held.)
    """
    if limit <= 0:
        return contextlib.nullcontext()
    key = (os.getpid(), platform, limit)
    slots = _call_slots.get(key)
    if slots is None:
        slots = _call_slots.setdefault(key, threading.BoundedSemaphore(limit))
    return slots


def worker_session(platform: str) -> requests.Session:
    """The HTTP session a worker's jobs for ``platform`` share, kept for the life of the
    thread (made again after a fork: Celery's prefork children each get their own).

    Each job reusing the kept-alive connections of the last one saves a TCP connection
    per job. A proxy set in the environment (``HTTPS_PROXY``, ``NO_PROXY``) is honoured.
    The session holds no cookies (the platforms authenticate each call by its headers),
    so nothing of one job's calls is carried into the next.
    """
    sessions = getattr(_worker_sessions, "by_platform", None)
    if sessions is None or getattr(_worker_sessions, "pid", None) != os.getpid():
        sessions = _worker_sessions.by_platform = {}
        _worker_sessions.pid = os.getpid()
    session = sessions.get(platform)
    if session is None:
        session = sessions[platform] = _session_new()
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        if not requests.utils.getproxies():
            # With no proxy in the environment, reading it on every call (as requests
            # does) finds nothing: read the CA bundle setting once, skip ~/.netrc (the
            # platforms authenticate by their own headers).
            session.trust_env = False
            session.verify = (
                os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            )
    return session


def worker_sessions_close() -> None:
    """Close this thread's worker sessions and their kept-alive connections (the test
    suite does after each test, so no connection outlives the test that opened it)."""
    sessions = getattr(_worker_sessions, "by_platform", None) or {}
    for session in sessions.values():
        _session_close(session)
    sessions.clear()


def _session_close(session: requests.Session) -> None:
    """``Session.close`` alone forgets the connection pools without closing them
    (urllib3 2), leaving kept-alive connections open on the platform's side until the
    garbage collector finds them."""
    for adapter in session.adapters.values():
        pools = getattr(getattr(adapter, "poolmanager", None), "pools", None)
        for key in list(pools.keys()) if pools is not None else []:
            pool = pools.get(key)
            if pool is not None:
                pool.close()
    session.close()


class PlatformClient:
    """Base of the platform clients.

    Subclasses set ``platform_name`` and override ``auth_headers`` (and
    ``error_message`` where the platform words its errors its own way).
    ``timeout`` is (connect, read) in seconds; redirects are never followed,
    so credentials cannot be sent to another host. ``calls_in_flight``, when set,
    bounds the calls this process has on the wire to the platform at once, whichever
    of its threads makes them (``call_slot``).
    """

    platform_name = "platform"
    calls_in_flight = 0

    def __init__(
        self,
        base_url: str,
        *,
        timeout: tuple[float, float] = (5.0, 30.0),
        observer: Observer | None = None,
        session: requests.Session | None = None,
    ) -> None:
        if not base_url:
            raise ConfigurationError(f"No API URL is configured for {self.platform_name}.")
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout = timeout
        self.observer = observer
        self._owns_session = session is None
        self.session = session or _session_new()

    def close(self) -> None:
        """Close the connections this client opened. A session given to the client (a
        worker's) is the caller's to close."""
        if self._owns_session:
            _session_close(self.session)

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- extension points ------------------------------------------------------
    def auth_headers(self) -> dict[str, str]:
        """Headers that authenticate a call. Raise ConfigurationError if credentials are unset."""
        return {}

    def refusal_is_configuration(self, status: int, message: str) -> bool:
        """Whether a 401 or 403 says our credentials or rights are wrong (configuration),
        rather than that this data breaks one of the platform's rules (permanent). Both
        are configuration unless a platform says otherwise."""
        return True

    def error_message(self, response: requests.Response) -> str:
        """The platform's own words for a refused call, for staff to read."""
        try:
            body = response.json()
        except ValueError:
            return response.text.strip()[:500] or response.reason
        if isinstance(body, Mapping):
            for key in ("message", "Message", "error", "Error", "detail", "errors", "Errors"):
                if body.get(key):
                    value = body[key]
                    return value if isinstance(value, str) else json.dumps(value)
        return json.dumps(body)[:500]

    # --- the call ----------------------------------------------------------------
    def url_for(self, path: str) -> str:
        """The URL of ``path`` under the API root; PermanentError if it would leave the root.

        Paths carry external ids, which staff can type: ``../`` or a full URL in
        one must not send the credentials anywhere else.
        """
        url = urljoin(self.base_url, path.lstrip("/"))
        if not url.startswith(self.base_url) or "/../" in f"/{path}/" or "/./" in f"/{path}/":
            raise PermanentError(
                redact(f'The path "{path[:100]}" leaves the {self.platform_name} API root.')
            )
        return url

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """Make one call and return its decoded JSON (None for an empty body).

        Raises RecoverableError (timeout, connection error, 429, 5xx),
        ConfigurationError (401, 403), NotFoundError (404) or PermanentError
        (any other 4xx), each with the platform's message, redacted.
        """
        url = self.url_for(path)
        headers = {"Accept": "application/json", **self.auth_headers()}
        started_at = datetime.now(UTC)
        clock = time.monotonic()
        response = None
        error = ""
        try:
            # Made before the call takes its slot, so the slot is held for the call alone.
            prepared, send_options = self._prepare(method, url, json_body, params, headers)
            with call_slot(self.platform_name, self.calls_in_flight):
                # The call's time starts once it has a slot: waiting for one is not the
                # platform's.
                started_at, clock = datetime.now(UTC), time.monotonic()
                response = self.session.send(prepared, **send_options)
        except requests.ConnectTimeout as exc:
            error = (
                f"Could not connect to {self.platform_name} within {self.timeout[0]:g} s ({exc})"
            )
            raise RecoverableError(redact(error)) from None
        except requests.Timeout as exc:
            error = f"{self.platform_name} did not answer within {self.timeout[1]:g} s ({exc})"
            raise RecoverableError(redact(error), uncertain_write=method != "GET") from None
        except requests.ConnectionError as exc:
            error = emulator_unreachable(self.platform_name, self.base_url) or (
                f"Could not reach {self.platform_name}: {exc}"
            )
            # Refused before anything was sent, or dropped after a write was sent.
            sent = method != "GET" and not _refused_connection(exc)
            raise RecoverableError(redact(error), uncertain_write=sent) from None
        except requests.RequestException as exc:
            error = f"Could not reach {self.platform_name}: {exc}"
            raise RecoverableError(redact(error)) from None
        finally:
            self._observe(started_at, clock, method, path, params, json_body, response, error)
        return self._result(response)

    def _prepare(
        self,
        method: str,
        url: str,
        json_body: Any,
        params: Mapping[str, Any] | None,
        headers: dict[str, str],
    ) -> tuple[requests.PreparedRequest, dict[str, Any]]:
        """The request and the options to send it with, as ``Session.request`` makes
        them (the session's headers and proxies, the environment's where it reads it).

        A worker's session that reads nothing from the environment (``worker_session``:
        no proxy set) and holds no cookies or auth of its own is prepared directly: the
        session's headers under the call's, its params under the call's. That is all
        ``Session.prepare_request`` would merge in, at a fraction of its CPU time (its
        general merging is a third of the client's own time per call).
        """
        session = self.session
        if (
            session.trust_env
            or session.auth
            or len(session.cookies)
            or session.hooks.get("response")
        ):
            prepared = session.prepare_request(
                requests.Request(
                    method.upper(), url, headers=headers, json=json_body, params=params
                )
            )
            options = session.merge_environment_settings(prepared.url, {}, None, None, None)
        else:
            merged = CaseInsensitiveDict(session.headers)
            merged.update(headers)
            prepared = requests.PreparedRequest()
            prepared.prepare(
                method=method.upper(),
                url=url,
                headers={k: v for k, v in merged.items() if v is not None},
                params={**session.params, **(params or {})},
                json=json_body,
            )
            options = {"proxies": session.proxies, "stream": session.stream}
            options |= {"verify": session.verify, "cert": session.cert}
        return prepared, {**options, "timeout": self.timeout, "allow_redirects": False}

    def _observe(
        self,
        started_at: datetime,
        clock: float,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        response: requests.Response | None,
        error: str,
    ) -> None:
        if self.observer is None:
            return
        shown_path = path
        if params:
            shown_path += "?" + "&".join(f"{k}={v}" for k, v in params.items())
        self.observer(
            AttemptRecord(
                started_at=started_at,
                method=method.upper(),
                path=redact(shown_path)[:500],
                status_code=response.status_code if response is not None else None,
                duration_ms=int((time.monotonic() - clock) * 1000),
                request_excerpt=excerpt(json_body),
                response_excerpt=excerpt(response.content) if response is not None else "",
                error=redact(error),
            )
        )

    def _result(self, response: requests.Response) -> Any:
        status = response.status_code
        if status < 300:
            if not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                raise PermanentError(
                    f"{self.platform_name} answered {status} with a body that is not JSON: "
                    f"{redact(response.text[:200])}",
                    status_code=status,
                ) from None
        message = redact(f"{self.platform_name} answered {status}: {self.error_message(response)}")
        if status == 429:
            raise RecoverableError(
                message,
                status_code=status,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status >= 500:
            raise RecoverableError(message, status_code=status)
        if status in (401, 403):
            if self.refusal_is_configuration(status, message):
                raise ConfigurationError(message, status_code=status)
            raise PermanentError(message, status_code=status)
        if status == 404:
            raise NotFoundError(message, status_code=status)
        if 300 <= status < 400:
            raise ConfigurationError(
                f"{message} (a redirect to {response.headers.get('Location', '?')}; "
                "check the API URL)",
                status_code=status,
            )
        raise PermanentError(message, status_code=status)


def emulator_unreachable(platform_name: str, base_url: str) -> str:
    """What staff read when this server's own emulator does not answer ("" for another
    URL): a raw connection error would not say that the emulators are the web server's."""
    if not getattr(settings, "SANDBOX_EMULATORS_ENABLED", False):
        return ""
    try:
        own = server_url()
    except ServerAddressUnknown:
        return ""
    if not base_url.startswith(f"{own}/sandbox/"):
        return ""
    return (
        f"Could not reach the {platform_name} emulator at {base_url}: the emulators are "
        f"served by the layer_sync web server at {own}, and nothing answers there. Is that "
        "server running? (A command or worker run beside it names it with SANDBOX_BASE_URL.)"
    )


def _refused_connection(exc: requests.ConnectionError) -> bool:
    """The connection was never made (refused, or the name did not resolve): nothing
    reached the platform."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)
