"""The base of the platform emulators served under ``/sandbox/<platform>/``.

An emulator is a stateful, in-memory imitation of a platform's HTTP API. It
serves the demo (the embedded mode mounts it in-process), the tests and the
benchmarks, always over real HTTP. Each platform package subclasses
``Emulator`` and declares its ``routes``; its ``AppConfig.ready`` registers it
(``register_emulator``) when ``SANDBOX_EMULATORS_ENABLED``, which production settings
never set.

Every emulator, whatever the platform:

- keeps its records in ``self.state`` (``initial_state`` builds it; ``reset``
  brings it back) and logs every request it receives with its answer;
- shows all of it at ``/sandbox/<platform>/_emulator/`` (staff only: a page for a
  browser, JSON for scripts),
  resets at ``_emulator/reset`` and takes fault settings at
  ``_emulator/faults`` (POST JSON), or through ``faults_set`` in-process (those views,
  and the API's, are ``connectors.sandbox_page``'s, finding the emulator in the registry);
- injects faults on its API routes: added latency, a random error rate, the
  next N calls failing with a given status (429 with Retry-After), and the
  next N calls hanging for a while before they are processed (past the
  client's timeout, so the client never sees the answer although the work is
  done: the case natural-key lookups exist for).

Handlers run one at a time (under the emulator's lock); latency and hangs
happen outside it, so concurrent callers still overlap as they would on a
real server. A handler that finds records by a field (a company's sites, a
site's contacts) asks ``where``, which answers from an index rather than a
scan of every record: the emulator's time per call stays flat as its state
grows over an initial sync of thousands of records, as a platform's would.
"""

from __future__ import annotations

import json
import math
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any, ClassVar

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, RawPostDataException

from layer_sync.input_checks import JSONTooDeep, json_loads_bounded
from layer_sync.registry import registry

from .redaction import redact_mapping

REQUEST_LOG_SIZE = 5000


@dataclass
class Faults:
    """Fault injection settings of one emulator."""

    latency_ms: float = 0.0  # added to every API call
    error_rate: float = 0.0  # share of calls answered with error_status, 0 to 1
    error_status: int = 500
    fail_next: int = 0  # the next N calls answer fail_status
    fail_status: int = 500
    retry_after: float | None = None  # Retry-After (seconds) on a 429
    hang_next: int = 0  # the next N calls wait hang_seconds before being processed
    hang_seconds: float = 0.0
    # Errors and hangs hit calls of this method only ("" for all), so a test can make
    # the create fail rather than the lookup before it. Latency applies to every call.
    only_method: str = ""

    def update(self, values: dict[str, Any]) -> None:
        """Set fields from ``values``, all or none; ValueError naming the first bad one."""
        known = [f.name for f in fields(self)]
        changed = replace(self)
        for name, value in values.items():
            if name not in known:
                raise ValueError(f'Unknown fault setting "{name}". Known: {", ".join(known)}.')
            setattr(changed, name, _fault_value(name, value))
        if not 0 <= changed.error_rate <= 1:
            raise ValueError("error_rate must be between 0 and 1.")
        for name, value in asdict(changed).items():
            setattr(self, name, value)


_WHOLE_FAULTS = ("fail_next", "hang_next")
_STATUS_FAULTS = ("error_status", "fail_status")
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _fault_value(name: str, value: Any) -> Any:
    """One fault setting's value, checked: a method, or a number of the right kind and range."""
    if value is None and name == "retry_after":
        return None
    if name == "only_method":
        method = str(value or "").upper()
        if method and method not in _METHODS:
            raise ValueError(f'only_method must be one of {", ".join(_METHODS)}, or "" for all.')
        return method
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f'Fault setting "{name}" must be a number, not {value!r}.')
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f'Fault setting "{name}" must be a number, not {value!r}.') from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f'Fault setting "{name}" must be a finite number.')
    if number < 0:
        raise ValueError(f'Fault setting "{name}" cannot be negative.')
    if name in _WHOLE_FAULTS or name in _STATUS_FAULTS:
        if number != int(number):
            raise ValueError(f'Fault setting "{name}" must be a whole number.')
        number = int(number)
        if name in _STATUS_FAULTS and not 100 <= number <= 599:
            raise ValueError(f'Fault setting "{name}" must be an HTTP status (100 to 599).')
    return number


@dataclass
class EmulatorRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any  # decoded JSON, or None
    raw: bytes = b""


@dataclass
class EmulatorResponse:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[..., EmulatorResponse]
# What ``where`` finds records by: a field's name, or a function of the record.
RecordKey = str | Callable[[dict[str, Any]], Hashable]


@dataclass(eq=False)
class _Index:
    """Record ids of one kind by the value of one key, in the order the records were made,
    and the state of the table it was made from (to notice a change made behind it)."""

    table: dict[str, Any]
    size: int
    last: str | None
    ids: dict[Hashable, list[str]]

    def current(self, table: dict[str, Any]) -> bool:
        return (
            table is self.table
            and len(table) == self.size
            and next(reversed(table), None) == self.last
        )


class Emulator:
    """Base of the platform emulators. Subclass: set ``platform``, ``routes``, handlers.

    ``routes`` is a list of (method, path regex, handler method name); named
    groups of the regex are passed to the handler as keyword arguments. The
    path is relative to ``/sandbox/<platform>/`` (no leading slash).
    ``authenticate`` returns an error response for a call with bad
    credentials, as the platform would.
    """

    platform: ClassVar[str] = ""
    routes: ClassVar[list[tuple[str, str, str]]] = []

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._compiled = [(m.upper(), re.compile(p + r"\Z"), h) for m, p, h in self.routes]
        self.reset()

    # --- extension points -----------------------------------------------------
    def initial_state(self) -> dict[str, Any]:
        return {}

    def authenticate(self, request: EmulatorRequest) -> EmulatorResponse | None:
        return None

    # --- state ---------------------------------------------------------------------
    def reset(self) -> None:
        with self._lock:
            self.state = self.initial_state()
            self.requests: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
            self.faults = Faults()
            self._ids: dict[str, int] = {}
            self._indexes: dict[tuple[str, RecordKey], _Index] = {}

    def next_id(self, kind: str) -> int:
        self._ids[kind] = self._ids.get(kind, 0) + 1
        return self._ids[kind]

    def add(self, kind: str, pk: int | str, record: dict[str, Any]) -> dict[str, Any]:
        """Store a new record of ``kind`` under ``pk`` and file it in the indexes made so far."""
        table = self.state[kind]
        kept = [(key, i) for (k, key), i in self._indexes.items() if k == kind and i.current(table)]
        table[str(pk)] = record
        for key, index in kept:
            index.ids.setdefault(_key_of(key, record), []).append(str(pk))
            index.size, index.last = len(table), str(pk)
        return record

    def where(self, kind: str, key: RecordKey, value: Hashable) -> list[dict[str, Any]]:
        """The records of ``kind`` whose ``key`` (a field's name, or a function of the
        record) is ``value``, in the order they were made.

        Answered from an index made on first use and kept up by ``add``; made again when
        the table changed behind it (a test storing a record itself, a reset), or after
        ``reindex`` (a handler changing a field that an index is keyed on). Each record
        found is checked against ``value``, so a stale index never returns a wrong one.
        """
        table = self.state[kind]
        index = self._indexes.get((kind, key))
        if index is None or not index.current(table):
            ids: dict[Hashable, list[str]] = {}
            for pk, record in table.items():
                ids.setdefault(_key_of(key, record), []).append(pk)
            index = _Index(table, len(table), next(reversed(table), None), ids)
            self._indexes[(kind, key)] = index
        found = (table.get(pk) for pk in index.ids.get(value, ()))
        return [r for r in found if r is not None and _key_of(key, r) == value]

    def reindex(self, kind: str) -> None:
        """Forget the indexes of ``kind``: a field they may be keyed on has changed."""
        for indexed in [k for k in self._indexes if k[0] == kind]:
            del self._indexes[indexed]

    def faults_set(self, **values: Any) -> None:
        with self._lock:
            self.faults.update(values)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return json.loads(
                json.dumps(
                    {
                        "platform": self.platform,
                        "state": self.state,
                        "faults": asdict(self.faults),
                        "requests": list(self.requests),
                    },
                    default=str,
                )
            )

    def calls(self, method: str | None = None, path_prefix: str = "") -> list[dict[str, Any]]:
        """Logged API calls, optionally of one method and under one path."""
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r["method"] == method.upper())
                and r["path"].startswith(path_prefix)
            ]

    # --- serving ----------------------------------------------------------------
    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        """Answer one API call: faults first, then authentication, then the route."""
        delay, hang, forced = self._draw_faults(request.method)
        if delay:
            time.sleep(delay)
        if hang:
            time.sleep(hang)
        if forced is not None:
            response = forced
        else:
            with self._lock:
                response = self.authenticate(request) or self._dispatch(request)
        self._log(request, response)
        return response

    def serve(self, request: HttpRequest, path: str = "") -> HttpResponse:
        """Answer a Django request to this emulator's API at ``path`` (as a platform would
        receive it: JSON in, JSON out; a body that is not JSON is a 400)."""
        try:
            raw = request.body
        except RawPostDataException:  # a form body, already read: not the JSON a platform takes
            return JsonResponse({"message": "The request body is not valid JSON."}, status=400)
        body = None
        if raw:
            try:
                body = json_loads_bounded(raw)
            except JSONTooDeep as exc:
                return JsonResponse({"message": str(exc)}, status=400)
            except ValueError:
                return JsonResponse({"message": "The request body is not valid JSON."}, status=400)
        call = EmulatorRequest(
            method=request.method or "GET",
            path=path,
            query={k: v for k, v in request.GET.items()},
            headers={k: v for k, v in request.headers.items()},
            body=body,
            raw=raw,
        )
        return _as_http(self.handle(call))

    def _draw_faults(self, method: str) -> tuple[float, float, EmulatorResponse | None]:
        with self._lock:
            f = self.faults
            hang = 0.0
            if f.only_method and method.upper() != f.only_method:
                return f.latency_ms / 1000.0, hang, None
            if f.hang_next > 0:
                f.hang_next -= 1
                hang = f.hang_seconds
            forced = None
            if f.fail_next > 0:
                f.fail_next -= 1
                forced = self._fault_response(f.fail_status)
            elif f.error_rate and random.random() < f.error_rate:  # noqa: S311
                forced = self._fault_response(f.error_status)
            return f.latency_ms / 1000.0, hang, forced

    def _fault_response(self, status: int) -> EmulatorResponse:
        headers = {}
        if status == 429 and self.faults.retry_after is not None:
            # Whole seconds, as HTTP says, rounded up: never sooner than the setting.
            headers["Retry-After"] = str(math.ceil(self.faults.retry_after))
        return EmulatorResponse(
            status, {"message": f"Injected fault: status {status}"}, headers=headers
        )

    def _dispatch(self, request: EmulatorRequest) -> EmulatorResponse:
        allowed = []
        for method, pattern, handler_name in self._compiled:
            match = pattern.match(request.path)
            if match is None:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            handler: Handler = getattr(self, handler_name)
            return handler(request, **match.groupdict())
        if allowed:
            return EmulatorResponse(
                405, {"message": f"Method not allowed; use {', '.join(allowed)}"}
            )
        return EmulatorResponse(404, {"message": f"No such resource: {request.path}"})

    def _log(self, request: EmulatorRequest, response: EmulatorResponse) -> None:
        with self._lock:
            self.requests.append(
                {
                    "at": datetime.now(UTC).isoformat(),
                    "method": request.method,
                    "path": request.path,
                    "query": request.query,
                    "headers": redact_mapping(request.headers),
                    "body": request.body,
                    "status": response.status,
                    "response": response.body,
                }
            )


def _key_of(key: RecordKey, record: dict[str, Any]) -> Hashable:
    return record.get(key) if isinstance(key, str) else key(record)


def register_emulator(cls: type[Emulator]) -> type[Emulator]:
    """Serve an emulator under /sandbox/<cls.platform>/ (``registry["emulators"]``).
    Called from the platform's ``AppConfig.ready`` when ``SANDBOX_EMULATORS_ENABLED``;
    usable as a class decorator in a module listed in ``SYNC_CONNECTOR_MODULES``."""
    registry["emulators"][cls.platform] = cls()
    return cls


def unregister_emulator(platform: str) -> None:
    """Stop serving a platform's emulator (a test's own platform, say)."""
    registry["emulators"].pop(platform, None)


def emulator_for(platform: str) -> Emulator:
    try:
        return registry["emulators"][platform]
    except KeyError:
        raise Http404(f"No emulator for {platform!r}") from None


def emulators() -> dict[str, Emulator]:
    return dict(registry["emulators"])


def _as_http(response: EmulatorResponse) -> HttpResponse:
    if response.body is None:
        http = HttpResponse(status=response.status)
    else:
        http = JsonResponse(response.body, status=response.status, safe=False)
    for name, value in response.headers.items():
        http[name] = value
    return http
