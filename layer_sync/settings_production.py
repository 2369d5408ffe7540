"""Production settings: the same environment-driven settings, hardened.

Start-up fails loudly (ImproperlyConfigured) rather than running insecurely:
DEBUG on, a missing, default or weak secret key (short, few distinct characters, or a
short pattern repeated), a platform URL left unset
(production never mounts the sandbox emulators) or no Celery broker (work
would run inside web requests) all refuse to start.
"""

from django.core.exceptions import ImproperlyConfigured

from .settings import *  # noqa: F403
from .settings import CSP_DIRECTIVES, env

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SANDBOX_EMULATORS_ENABLED = False

MIN_SECRET_KEY_LENGTH = 50
MIN_SECRET_KEY_UNIQUE_CHARACTERS = 16


def secret_key_weakness(key: str) -> str:
    """Why ``key`` is too weak to sign production sessions and tokens ("" when it is not)."""
    if key == INSECURE_DEFAULT_SECRET_KEY or key.startswith("django-insecure"):  # noqa: F405
        return "it is the public development key"
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return f"it is shorter than {MIN_SECRET_KEY_LENGTH} characters"
    if len(set(key)) < MIN_SECRET_KEY_UNIQUE_CHARACTERS:
        return f"it has fewer than {MIN_SECRET_KEY_UNIQUE_CHARACTERS} distinct characters"
    # A pattern repeated to make up the length is no more random than the pattern.
    pattern = _repeated_pattern_length(key)
    if pattern:
        return f"it repeats a pattern of {pattern} characters"
    return ""


def _repeated_pattern_length(text: str) -> int:
    """The length p of the shortest pattern ``text`` repeats at least twice (the last time
    possibly cut short): text[i] == text[i + p] for every i. 0 when it repeats none."""
    for period in range(1, len(text) // 2 + 1):
        if text[period:] == text[:-period]:
            return period
    return 0


def _refuse_insecure_configuration() -> None:
    problems = []
    if DEBUG:
        problems.append("DJANGO_DEBUG must be off in production.")
    weakness = secret_key_weakness(SECRET_KEY)  # noqa: F405
    if weakness:
        problems.append(
            f"DJANGO_SECRET_KEY is missing or weak ({weakness}): set a random value of at "
            f"least {MIN_SECRET_KEY_LENGTH} characters."
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
# The Content-Security-Policy of layer_sync.settings, always enforced here.
CONTENT_SECURITY_POLICY = {"DIRECTIVES": CSP_DIRECTIVES}
CONTENT_SECURITY_POLICY_REPORT_ONLY = None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
