"""Request middleware of the whole product.

``BadInputMiddleware`` refuses, with a 400 that says what is wrong, a request whose path,
query string, POSTed form fields or cookies hold a control character
(``layer_sync.input_checks``). It runs before any view, so every page answers the same way
(the admin's filters and autocomplete, the Billing Export page, the API, the emulators)
instead of each view finding out from the database: PostgreSQL refuses a NUL in text with
a ``DataError``, which was a 500.

Form bodies, URL-encoded and multipart (uploads), are read here as Django's CSRF check
would read them anyway: every field name and value is checked (Django itself strips
control characters from uploaded files' names). A view that reads ``request.body``
itself, such as an emulator's JSON API, refuses a form body as not JSON. The API's bodies
(JSON, and forms sent with PUT or PATCH) are its parsers' to check
(``layer_sync.api.parsers``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    QueryDict,
)

from .input_checks import pairs_problem, text_problem

FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Where an answer in JSON suits the caller (scripts, platforms' clients) better than text.
JSON_PREFIXES = ("/api/", "/sandbox/")


def request_input_problem(request: HttpRequest) -> str:
    """Why the request's path, query string, form fields or cookies are refused, or ``""``."""
    problem = text_problem(request.path, where="The URL path")
    if problem:
        return problem
    problem = pairs_problem(_pairs(request.GET), kind="query string parameter")
    if problem:
        return problem
    if request.method == "POST" and request.content_type in FORM_CONTENT_TYPES:
        problem = pairs_problem(_pairs(request.POST), kind="form field")
        if problem:
            return problem
    return pairs_problem(request.COOKIES.items(), kind="cookie")


def _pairs(query: QueryDict) -> Iterator[tuple[str, str]]:
    return ((name, value) for name, values in query.lists() for value in values)


class BadInputMiddleware:
    """Answer 400 to a request carrying control characters, before any view sees it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = request_input_problem(request)
        if problem:
            return bad_request(request, problem)
        return self.get_response(request)


def bad_request(request: HttpRequest, problem: str) -> HttpResponse:
    """A 400 naming the problem: JSON for API callers, plain text for a browser."""
    if request.path.startswith(JSON_PREFIXES):
        return JsonResponse({"detail": f"Bad request: {problem}"}, status=400)
    return HttpResponseBadRequest(
        f"Bad request: {problem}\n", content_type="text/plain; charset=utf-8"
    )
