"""Keep credentials out of every log line, attempt row and error message.

The secrets are the values of the settings named in ``SECRET_SETTINGS`` and in the
registry's ``secret_settings`` (each registered connector's ``secrets``), and any value
obtained at run time that a client adds with ``register_secret`` (a token, say).
``redact`` replaces each occurrence of one, and the value of any key that looks like a
credential in a JSON or form body or a header. ``RedactingFilter`` applies it to every log
record; it is installed on the root handlers by the settings.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from django.conf import settings

from layer_sync.registry import registry

MASK = "********"
SECRET_SETTINGS = (
    "ABILLITY_PASSWORD",
    "ABILLITY_SYSTEM_INFORMATION",
    "AFFINITY_API_KEY",
    "CONNECT_API_TOKEN",
)
# Keys whose values are credentials wherever they appear (headers, bodies, queries).
SENSITIVE_KEY = re.compile(
    r"pass(word)?|secret|token|api[-_]?key|authori[sz]ation|credential|systeminformation"
    r"|x-abillity-key|cookie",
    re.IGNORECASE,
)
# Values shorter than this are not treated as secrets (masking "a" would garble text).
MIN_SECRET_LENGTH = 4

_extra_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Add a value (a token obtained at run time, say) to what is always redacted."""
    if value and len(value) >= MIN_SECRET_LENGTH:
        _extra_secrets.add(value)


def secret_values() -> tuple[str, ...]:
    """Every secret as it may appear in text: as set, URL-encoded and JSON-escaped."""
    names = {*SECRET_SETTINGS, *registry["secret_settings"]}
    values = {str(getattr(settings, name, "") or "") for name in names} | _extra_secrets
    return _secret_forms(frozenset(values))


@functools.lru_cache(maxsize=8)
def _secret_forms(values: frozenset[str]) -> tuple[str, ...]:
    """The forms of ``values`` (settings are read on every call, so a change to one is
    seen at once; only the quoting of the same values is remembered)."""
    forms: set[str] = set()
    for value in values:
        if len(value) >= MIN_SECRET_LENGTH:
            forms.update((value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]))
    # Longest first, so a secret that contains another is masked whole.
    return tuple(sorted(forms, key=len, reverse=True))


# "password": "..." in JSON, 'password': '...' in a Python dict written into a message.
_QUOTED_PAIR = re.compile(
    r"""(?P<key>(?P<q>["'])(?:(?!(?P=q))[^\\]|\\.)*(?P=q)\s*:\s*)"""
    r"""(?P<vq>["'])(?:(?!(?P=vq))[^\\]|\\.)*(?P=vq)"""
)
# password=... in a query string or a form body.
_ASSIGNMENT = re.compile(
    r"(?i)\b([\w-]*(?:password|passwd|secret|token|api[-_]?key|systeminformation)[\w-]*)"
    r"=([^&\s]+)"
)
# Authorization: Basic ..., X-Api-Key: ... (a header written out as text).
_HEADER_LINE = re.compile(
    r"(?i)\b((?:proxy-)?authorization|x-api-key|api[-_]?key|x-abillity-key|cookie|set-cookie)"
    r"(\s*:\s*)(?:(basic|bearer|token|digest)\s+)?([^\s,;'\"]+)"
)


def _mask_quoted_pair(match: re.Match[str]) -> str:
    key = match.group("key")
    if not SENSITIVE_KEY.search(key):
        return match.group(0)
    mark = match.group("vq")
    return f"{key}{mark}{MASK}{mark}"


def _mask_header(match: re.Match[str]) -> str:
    scheme = f"{match.group(3)} " if match.group(3) else ""
    return f"{match.group(1)}{match.group(2)}{scheme}{MASK}"


def redact(text: str) -> str:
    """``text`` with every known secret value, and credential-looking fields, masked."""
    if not text:
        return text
    for value in secret_values():
        text = text.replace(value, MASK)
    text = _QUOTED_PAIR.sub(_mask_quoted_pair, text)
    text = _ASSIGNMENT.sub(lambda m: f"{m.group(1)}={MASK}", text)
    return _HEADER_LINE.sub(_mask_header, text)


def redact_mapping(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of headers or a JSON object with credential-looking keys masked, recursively."""
    result: dict[str, Any] = {}
    for key, value in data.items():
        if SENSITIVE_KEY.search(str(key)):
            result[key] = MASK
        elif isinstance(value, Mapping):
            result[key] = redact_mapping(value)
        elif isinstance(value, list):
            result[key] = [redact_mapping(v) if isinstance(v, Mapping) else v for v in value]
        else:
            result[key] = value
    return result


def excerpt(body: Any, *, limit: int = 2000) -> str:
    """A redacted, length-limited text of a request or response body for the attempt log."""
    if body is None or body == b"" or body == "":
        return ""
    if isinstance(body, Mapping):
        text = json.dumps(redact_mapping(body), default=str)
    elif isinstance(body, list):
        text = json.dumps(
            [redact_mapping(v) if isinstance(v, Mapping) else v for v in body], default=str
        )
    elif isinstance(body, bytes):
        text = body.decode("utf-8", errors="replace")
    else:
        text = str(body)
    text = redact(text)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more characters)"


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the message, its arguments and tracebacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the formatter to report
            return True
        record.msg = redact(message)
        record.args = None
        if record.exc_info:
            # Format the traceback now, redacted; the formatter then reuses exc_text.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
