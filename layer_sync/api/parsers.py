"""The API's parsers: DRF's, refusing hostile bodies with a 400 (``ParseError``).

A JSON body nested deeper than ``MAX_JSON_DEPTH`` made Python's parser raise
RecursionError (a 500); a NUL in a string reached PostgreSQL, which refuses it (another
500) wherever a view or a filter used the value before a serializer's field did. Both, and
every other control character, are refused here, once, for every endpoint
(``layer_sync.input_checks``). Form bodies get the same check on their fields (a POSTed
form is also checked by ``layer_sync.middleware``; a PUT or PATCH one only here).
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import DataAndFiles, FormParser, JSONParser, MultiPartParser

from layer_sync.input_checks import MAX_JSON_DEPTH, json_problem, pairs_problem


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


def _form_problem(data) -> str:
    return pairs_problem(
        ((name, value) for name, values in data.lists() for value in values), kind="form field"
    )


class CheckedFormParser(FormParser):
    """DRF's URL-encoded form parser, answering 400 for control characters in a field."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        problem = _form_problem(data)
        if problem:
            raise ParseError(problem)
        return data


class CheckedMultiPartParser(MultiPartParser):
    """DRF's multipart parser, answering 400 for control characters in a field."""

    def parse(self, stream, media_type=None, parser_context=None) -> DataAndFiles:
        parsed = super().parse(stream, media_type, parser_context)
        problem = _form_problem(parsed.data)
        if problem:
            raise ParseError(problem)
        return parsed
