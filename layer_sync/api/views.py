"""Project-level API views."""

from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseBase
from django.urls import reverse
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI for signed-in users.

    Its start-up script is served from this same URL (``?script``) rather than inline,
    so the page runs under the Content-Security-Policy's ``script-src 'self'``.

    A person who opens the docs in a browser before signing in is sent to the
    admin login and back, rather than shown a bare 401; scripts still get 401.
    """

    def handle_exception(self, exc: Exception) -> HttpResponseBase:
        wants_page = "text/html" in self.request.headers.get("Accept", "")
        if wants_page and isinstance(exc, NotAuthenticated | AuthenticationFailed):
            return redirect_to_login(self.request.get_full_path(), reverse("admin:login"))
        return super().handle_exception(exc)
