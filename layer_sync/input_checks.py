"""What hostile input is refused before it reaches a view: one definition for the whole
product, used by the request middleware (paths, query strings, form fields, cookies), the
API's JSON parser and the emulators' JSON bodies.

Two kinds of input are refused:

- **Control characters** (Unicode category Cc: NUL, the other C0 controls, DEL and the C1
  controls), except tab, line feed and carriage return, which text areas legitimately
  send. No field of the product holds them; PostgreSQL refuses a NUL in text outright
  (a ``DataError``: the 500 this prevents), and the others are terminal escape sequences
  or mis-decoded bytes.
- **JSON nested deeper than** ``MAX_JSON_DEPTH``: no body of the API or a platform is
  anywhere near it, and a body nested thousands deep makes Python's parser raise
  ``RecursionError`` (a 500) instead of a clear refusal.

Each check answers what is wrong in words a caller can act on (which field, which
character), or ``""`` when the input is fine.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from typing import Any

# Deeper than any body the API or a platform uses (an address with its site links is 3).
MAX_JSON_DEPTH = 32

# Control characters a form's text area sends as they are.
ALLOWED_CONTROLS = frozenset("\t\n\r")


def control_character(text: str) -> str:
    """The first forbidden control character in ``text`` as ``U+0000``, or ``""``."""
    for char in text:
        if char in ALLOWED_CONTROLS:
            continue
        # Fast path: printable ASCII and most text skip the Unicode database look-up.
        if " " <= char <= "~":
            continue
        if unicodedata.category(char) == "Cc":
            return f"U+{ord(char):04X}"
    return ""


def text_problem(text: str, *, where: str) -> str:
    """Why ``text`` (found at ``where``, e.g. 'the query string parameter "q"') is refused,
    or ``""``."""
    found = control_character(text)
    if found:
        return f"{where} holds a control character ({found}), which no field accepts."
    return ""


def pairs_problem(pairs: Iterable[tuple[str, str]], *, kind: str) -> str:
    """The first refused name or value of ``pairs`` (a query string's, a form's), or ``""``."""
    for name, value in pairs:
        problem = text_problem(name, where=f"A {kind} name") or text_problem(
            value, where=f'The {kind} "{name[:60]}"'
        )
        if problem:
            return problem
    return ""


def json_problem(data: Any, *, max_depth: int = MAX_JSON_DEPTH) -> str:
    """Why parsed JSON ``data`` is refused (too deep, a control character in a key or a
    string), or ``""``. Walks the value without recursion, so any depth is safe to check."""
    stack: list[tuple[Any, int, str]] = [(data, 1, "the body")]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, dict | list):
            if depth > max_depth:
                return f"The JSON body is nested deeper than {max_depth} levels."
            if isinstance(value, dict):
                for key, item in value.items():
                    problem = text_problem(str(key), where=f"A key of {where}")
                    if problem:
                        return problem
                    stack.append((item, depth + 1, f'"{key}"'))
            else:
                stack.extend((item, depth + 1, where) for item in value)
        elif isinstance(value, str):
            problem = text_problem(value, where=f"The value of {where}")
            if problem:
                return problem
    return ""


def json_depth_problem(data: Any, *, max_depth: int = MAX_JSON_DEPTH) -> str:
    """Like ``json_problem`` for the nesting only (a platform's body may hold any text)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > max_depth:
                return f"The JSON body is nested deeper than {max_depth} levels."
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
    return ""


class JSONTooDeep(ValueError):
    """A JSON body nested deeper than the limit (its message says so)."""


def json_loads_bounded(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that raises ValueError for a body that is not JSON and JSONTooDeep (a
    ValueError) for one nested deeper than ``max_depth``, never RecursionError."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise JSONTooDeep(f"The JSON body is nested deeper than {max_depth} levels.") from None
    problem = json_depth_problem(data, max_depth=max_depth)
    if problem:
        raise JSONTooDeep(problem)
    return data
