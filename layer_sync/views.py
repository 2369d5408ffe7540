"""Project-level views."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.http import require_GET

from .middleware import JSON_PREFIXES


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers and compose health checks."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def request_problem(exception: Exception | None) -> tuple[int, str]:
    """The status and the plain words for a request Django refused while reading it."""
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return 413, (
            f"The request body is larger than the {_megabytes(limit)} accepted "
            "(files are sent as multipart uploads, which have their own limit)."
        )
    if isinstance(exception, TooManyFieldsSent):
        return 400, (f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields.")
    if isinstance(exception, TooManyFilesSent):
        return 400, f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files."
    return 400, "The request could not be read."


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 400 page (``handler400``), in JSON under the API and the emulators, and a 413
    that says so for a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` wherever it was sent."""
    status, problem = request_problem(exception)
    if request.path.startswith(JSON_PREFIXES):
        return JsonResponse({"detail": problem}, status=status)
    if status == 413:
        return HttpResponse(problem + "\n", status=413, content_type="text/plain; charset=utf-8")
    return defaults.bad_request(request, exception)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 404 page (``handler404``), in JSON under the API and the emulators, as the
    API's own 404s are (an unknown path there is an API client's mistake too)."""
    if request.path.startswith(JSON_PREFIXES):
        return JsonResponse({"detail": f"There is no such address: {request.path}"}, status=404)
    return defaults.page_not_found(request, exception)
