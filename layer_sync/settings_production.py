"""Production settings: the same environment-driven settings, hardened.

Start-up fails loudly (ImproperlyConfigured) rather than running insecurely:
DEBUG on, a missing, default or weak secret key, a platform URL left unset
(production never mounts the sandbox emulators) or no Celery broker (work
would run inside web requests) all refuse to start.
"""

from django.core.exceptions import ImproperlyConfigured

from .settings import *  # noqa: F403
from .settings import env

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SANDBOX_EMULATORS_ENABLED = False

MIN_SECRET_KEY_LENGTH = 50
MIN_SECRET_KEY_UNIQUE_CHARACTERS = 5


def _refuse_insecure_configuration() -> None:
    problems = []
    if DEBUG:
        problems.append("DJANGO_DEBUG must be off in production.")
    if (
        SECRET_KEY == INSECURE_DEFAULT_SECRET_KEY  # noqa: F405
        or SECRET_KEY.startswith("django-insecure")  # noqa: F405
        or len(SECRET_KEY) < MIN_SECRET_KEY_LENGTH  # noqa: F405
        or len(set(SECRET_KEY)) < MIN_SECRET_KEY_UNIQUE_CHARACTERS  # noqa: F405
    ):
        problems.append(
            "DJANGO_SECRET_KEY is missing or weak: set a random value of at least "
            f"{MIN_SECRET_KEY_LENGTH} characters."
        )
    for name in ("ABILLITY_API_URL", "AFFINITY_API_URL", "CONNECT_API_URL"):
        if not globals()[name]:
            problems.append(
                f"{name} is not set (the sandbox emulators are not served in production)."
            )
    if not CELERY_BROKER_URL:  # noqa: F405
        problems.append(
            "CELERY_BROKER_URL is not set (without a broker, sync work would run inside "
            "web requests)."
        )
    if problems:
        raise ImproperlyConfigured("Refusing to start: " + " ".join(problems))


_refuse_insecure_configuration()

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
