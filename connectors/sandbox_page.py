"""The emulators' views under ``/sandbox/<platform>/`` (``connectors/urls.py``), each
finding the platform's emulator in the registry (``registry["emulators"]``): its API, and
for staff its state, reset and fault settings.

The state page for people: ``/sandbox/<platform>/_emulator/`` in a browser shows
what the emulator holds as tables (one per kind of record), its fault settings and the
latest requests it answered, instead of raw JSON.

Scripts and tests keep the JSON: it is served when the request does not ask for HTML
(no ``text/html`` in Accept, as ``curl`` and the test client send) or with ``?format=json``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.views.decorators.csrf import csrf_exempt

from layer_sync.input_checks import json_loads_bounded
from layer_sync.registry import registry
from layer_sync.wording import local_datetime

if TYPE_CHECKING:
    from .sandbox import Emulator

# The most records of one kind and requests a page shows (the JSON has them all).
MAX_ROWS = 200
MAX_COLUMNS = 12
CELL_CHARS = 120


def wants_html(request: HttpRequest) -> bool:
    """A browser asking for a page (and not for ?format=json)."""
    if request.GET.get("format") == "json":
        return False
    return "text/html" in request.headers.get("Accept", "")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, default=str)
    text = str(value)
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"


def _table(name: str, records: Any) -> dict[str, Any]:
    """One kind of record as a table: its columns (the records' keys, first seen first) and
    at most MAX_ROWS rows."""
    items = list(records.items()) if isinstance(records, dict) else list(enumerate(records))
    columns: list[str] = []
    for _key, record in items[:MAX_ROWS]:
        if isinstance(record, dict):
            columns += [column for column in record if column not in columns]
    columns = columns[:MAX_COLUMNS]
    rows = []
    for key, record in items[:MAX_ROWS]:
        if isinstance(record, dict):
            rows.append([_cell(key), *(_cell(record.get(column)) for column in columns)])
        else:
            rows.append([_cell(key), _cell(record)])
    return {
        "name": name.replace("_", " ").capitalize(),
        "columns": columns or ["value"],
        "rows": rows,
        "count": len(items),
        "shown": len(rows),
    }


def _request_row(entry: dict[str, Any]) -> dict[str, Any]:
    try:
        at = local_datetime(datetime.fromisoformat(entry.get("at", "")))
    except (TypeError, ValueError):
        at = entry.get("at", "")
    return {
        "at": at,
        "method": entry.get("method", ""),
        "path": entry.get("path", ""),
        "status": entry.get("status", ""),
        "body": _cell(entry.get("body")),
        "response": _cell(entry.get("response")),
    }


def emulator_page(request: HttpRequest, platform: str, snapshot: dict[str, Any]) -> HttpResponse:
    """The emulator's state, faults and latest requests as an admin page."""
    state = snapshot.get("state", {})
    requests = list(snapshot.get("requests", []))
    context = {
        **admin.site.each_context(request),
        "title": f"{platform.capitalize()} emulator",
        "platform": platform,
        "tables": [
            _table(name, records)
            for name, records in state.items()
            if isinstance(records, dict | list)
        ],
        # What an emulator keeps besides its records (flags, counters): name and value.
        "values": [
            (name.replace("_", " ").capitalize(), _cell(value))
            for name, value in state.items()
            if not isinstance(value, dict | list)
        ],
        "faults": list(snapshot.get("faults", {}).items()),
        "requests": [_request_row(entry) for entry in reversed(requests[-MAX_ROWS:])],
        "request_count": len(requests),
        "max_rows": MAX_ROWS,
    }
    return TemplateResponse(request, "admin/connectors/emulator.html", context)


# --- views ---------------------------------------------------------------------------
def _emulator(platform: str) -> Emulator:
    try:
        return registry["emulators"][platform]
    except KeyError:
        raise Http404(f"No emulator for {platform!r}") from None


@csrf_exempt
def emulator_api(request: HttpRequest, platform: str, path: str = "") -> HttpResponse:
    """An API call to an emulator (as a platform would receive it: no session, no CSRF)."""
    return _emulator(platform).serve(request, path)


@staff_member_required
def emulator_state(request: HttpRequest, platform: str) -> HttpResponse:
    """Everything the emulator holds and every request it received: a page for a browser,
    JSON for scripts."""
    snapshot = _emulator(platform).snapshot()
    if wants_html(request):
        return emulator_page(request, platform, snapshot)
    return JsonResponse(snapshot, json_dumps_params={"indent": 2})


@staff_member_required
def emulator_reset(request: HttpRequest, platform: str) -> HttpResponse:
    if request.method != "POST":
        return JsonResponse({"message": "POST to reset the emulator."}, status=405)
    _emulator(platform).reset()
    return JsonResponse({"reset": True})


@staff_member_required
def emulator_faults(request: HttpRequest, platform: str) -> HttpResponse:
    """The fault settings (GET); POST a JSON object to change some of them, all or none."""
    emulator = _emulator(platform)
    if request.method not in ("GET", "HEAD", "POST"):
        return JsonResponse({"message": "GET the fault settings, or POST changes."}, status=405)
    if request.method == "POST":
        try:
            values = json_loads_bounded(request.body or b"{}")
            if not isinstance(values, dict):
                raise ValueError("Send a JSON object of fault settings.")
            emulator.faults_set(**values)
        except ValueError as exc:
            return JsonResponse({"message": str(exc)}, status=400)
    return JsonResponse(asdict(emulator.faults))
