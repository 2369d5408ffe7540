"""The API's JSON parser: DRF's, refusing hostile bodies with a 400 (``ParseError``).

A body nested deeper than ``MAX_JSON_DEPTH`` made Python's parser raise RecursionError (a
500); a NUL in a string reached PostgreSQL, which refuses it (another 500) wherever a view
or a filter used the value before a serializer's field did. Both, and every other control
character, are refused here, once, for every endpoint (``layer_sync.input_checks``).
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from layer_sync.input_checks import MAX_JSON_DEPTH, json_problem


class CheckedJSONParser(JSONParser):
    """DRF's JSON parser, answering 400 for deep nesting and control characters."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(
                f"JSON parse error - the body is nested deeper than {MAX_JSON_DEPTH} levels."
            ) from None
        problem = json_problem(data)
        if problem:
            raise ParseError(f"JSON parse error - {problem}")
        return data
