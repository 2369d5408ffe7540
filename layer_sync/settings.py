"""Settings for layer_sync, driven by environment variables (and a `.env` file).

Every variable is listed in `.env.example`. With nothing set, the product runs
in its embedded mode: SQLite, Celery tasks run eagerly on commit, and each
platform URL points at that platform's in-process sandbox emulator.
Production deployments use `layer_sync.settings_production`, which refuses to
start with DEBUG on, a weak secret or a platform URL left unset.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def secret(name: str, default: str = "") -> str:
    """A secret setting exactly as given: django-environ reads a value starting with "$" as
    the name of another variable, which would silently swap a random key or password that
    happens to start with one (about 1 in 50 of Django's own keys) for something else."""
    return os.environ.get(name, default)


# A development-only key, deliberately public so the embedded mode needs no
# setup; production settings refuse it.
INSECURE_DEFAULT_SECRET_KEY = "django-insecure-layer-sync-embedded-default-do-not-deploy"  # noqa: S105

SECRET_KEY = secret("DJANGO_SECRET_KEY", INSECURE_DEFAULT_SECRET_KEY)
DEBUG = env.bool("DJANGO_DEBUG", default=True)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before staticfiles: its runserver records the address it serves on.
    "layer_sync.server",
    "django.contrib.staticfiles",
    "rest_framework",
    "layer_sync.accounts.apps.ApiTokensConfig",  # django-rest-knox
    "layer_sync.accounts.apps.LoginLockoutConfig",  # django-axes
    "csp",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    # After knox and django.contrib.auth: its admin replaces theirs for tokens and users.
    "layer_sync.accounts",
    "customers",
    "billing",
    "connectors",
    # The platform packages, after the engine (their apps register into its registry).
    "connectors.abillity.apps.AbillityConfig",
    "connectors.affinity.apps.AffinityConfig",
    "connectors.connect.apps.ConnectConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Control characters in a path, query string, form or cookie: 400 before any view.
    "layer_sync.middleware.BadInputMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "layer_sync.urls"
WSGI_APPLICATION = "layer_sync.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the dev server and an eager task share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes first: it refuses a locked-out login before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")

LOGIN_URL = "admin:login"

# Shared state of the API's rate limits (django-axes keeps its lockouts in the database).
# Unset: memory of each process, so with several web processes each counts on its own;
# set a shared cache (redis://host:6379/1) to count across them.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# How many proxies in front of the app set X-Forwarded-For (the TLS proxy: 1). The client
# address of the login lockout and the API's rate limits is read past them
# (layer_sync.client_address); 0 trusts no X-Forwarded-For.
TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=0)

# --- Sign-in protection: the admin login lockout (django-axes) ----------------------
# After AXES_FAILURE_LIMIT wrong passwords for one user name from one address, that pair
# is locked out (429, the lockout page) for AXES_COOLOFF_MINUTES (0: until reset with
# `manage.py axes_reset_username USER` or `axes_reset`), even with the right password.
# A successful login before the limit starts the count again. docs/security.md.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
_axes_cooloff_minutes = env.int("AXES_COOLOFF_MINUTES", default=30)
AXES_COOLOFF_TIME = timedelta(minutes=_axes_cooloff_minutes) if _axes_cooloff_minutes else None
# What a lockout is counted by: alternatives separated by commas, each one or more of
# username, ip_address, user_agent joined by "+" ("username+ip_address": the pair).
AXES_LOCKOUT_PARAMETERS = [
    alternative.split("+")
    for alternative in env.list("AXES_LOCKOUT_PARAMETERS", default=["username+ip_address"])
]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "layer_sync.client_address.client_address"
AXES_LOCKOUT_TEMPLATE = "admin/accounts/locked_out.html"
if AXES_FAILURE_LIMIT < 1 or _axes_cooloff_minutes < 0:
    raise ImproperlyConfigured(
        "AXES_FAILURE_LIMIT must be at least 1 and AXES_COOLOFF_MINUTES 0 or more."
    )
_lockout_fields = {"username", "ip_address", "user_agent"}
if not AXES_LOCKOUT_PARAMETERS or any(
    not set(alternative) <= _lockout_fields for alternative in AXES_LOCKOUT_PARAMETERS
):
    raise ImproperlyConfigured(
        "AXES_LOCKOUT_PARAMETERS lists alternatives separated by commas, each of username, "
        'ip_address and user_agent joined by "+" (e.g. username+ip_address).'
    )

# --- API tokens (django-rest-knox: stored hashed, shown once, expiring) --------------
# A new token's lifetime unless one is chosen, and the longest one may have (days).
API_TOKEN_TTL_DAYS = env.int("API_TOKEN_TTL_DAYS", default=90)
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=366)
if not 1 <= API_TOKEN_TTL_DAYS <= API_TOKEN_MAX_DAYS:
    raise ImproperlyConfigured(
        "API_TOKEN_TTL_DAYS must be from 1 to API_TOKEN_MAX_DAYS "
        f"({API_TOKEN_TTL_DAYS} and {API_TOKEN_MAX_DAYS} given)."
    )
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=API_TOKEN_TTL_DAYS),
    "AUTH_HEADER_PREFIX": "Token",  # DRF's scheme, which outside clients use
    "AUTO_REFRESH": False,
}

# --- Content-Security-Policy (django-csp) ----------------------------------------------
# Scripts only from this site (Swagger UI's included: drf-spectacular-sidecar serves it)
# or inline with the request's nonce; no plugins, no framing, forms post here only.
# Inline styles are allowed: the admin's own templates and Swagger UI use them, and
# they cannot run code. Enforced with DEBUG off (production, tests); with DEBUG on only
# reported in the browser console, so Django's debug pages (inline scripts) still work.
CSP_DIRECTIVES = {
    "default-src": [SELF],
    "script-src": [SELF, NONCE],
    "style-src": [SELF, "'unsafe-inline'"],
    "img-src": [SELF, "data:"],
    "font-src": [SELF, "data:"],
    "connect-src": [SELF],
    "object-src": [NONE],
    "base-uri": [SELF],
    "form-action": [SELF],
    "frame-ancestors": [NONE],
}
if DEBUG:
    CONTENT_SECURITY_POLICY = None
    CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": CSP_DIRECTIVES}
else:
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": CSP_DIRECTIVES}
    CONTENT_SECURITY_POLICY_REPORT_ONLY = None

# --- REST API ---------------------------------------------------------------
REST_FRAMEWORK = {
    # "Authorization: Token <key>" against hashed, expiring keys; or the admin's session.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "layer_sync.accounts.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Bodies refused with a 400 when holding control characters or (JSON) nested too deep.
    "DEFAULT_PARSER_CLASSES": [
        "layer_sync.api.parsers.CheckedJSONParser",
        "layer_sync.api.parsers.CheckedFormParser",
        "layer_sync.api.parsers.CheckedMultiPartParser",
    ],
    # Rate limits per signed-in user and per anonymous address (refused authentications
    # count against the anonymous rate: layer_sync.api.throttling). 429 past them.
    "DEFAULT_THROTTLE_CLASSES": [
        "layer_sync.api.throttling.AnonymousRateThrottle",
        "layer_sync.api.throttling.SignedInUserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON_RATE", default="30/minute"),
        "user": env.str("API_THROTTLE_USER_RATE", default="600/minute"),
    },
    "DEFAULT_PERMISSION_CLASSES": [
        "layer_sync.api.permissions.StrictModelPermissions",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "layer_sync.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "layer_sync.api.exceptions.json_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "layer_sync API",
    "DESCRIPTION": (
        "Customers, sites, addresses, contacts, inventory, sales orders and assets of a UK "
        "telecoms reseller, and their one-way sync into Abillity, Affinity and essensys Connect."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files: users may be offline, and a CDN
    # script would also need a looser content security policy.
    "SWAGGER_UI_DIST": "SIDECAR",
    # No badge fetched from swagger.io's validator (offline users, and the CSP's img-src).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Tags and operation ids from the resource ("customers_list"), not the version.
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    # One schema enum per choice set that several fields share.
    "ENUM_NAME_OVERRIDES": {
        "PlatformCodeEnum": "billing.choices.PlatformCode",
        "BillStatusEnum": "billing.choices.BillStatus",
        "CustomerStatusEnum": "customers.choices.CustomerStatus",
        "AssetStatusEnum": "billing.choices.AssetStatus",
        "QuoteStatusEnum": "customers.choices.QuoteStatus",
        "SyncJobStatusEnum": "connectors.choices.JobStatus",
        "SyncEntityEnum": "connectors.choices.Entity",
        "SyncErrorKindEnum": "connectors.choices.ErrorKind",
        "SyncOperationEnum": "connectors.choices.Operation",
    },
}

# --- Celery ------------------------------------------------------------------
# With no broker configured, tasks run eagerly (in-process) once the
# transaction that queued them commits: see layer_sync.tasks.enqueue_on_commit.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
# No results are kept, so none expire: beat's DatabaseScheduler then adds no daily
# celery.backend_cleanup task.
CELERY_RESULT_EXPIRES = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes a worker's database connections around every task unless
# this is set, and then every 2 x this many tasks only: connections are kept by Django's
# own rule instead, as for a request (DATABASE_CONN_MAX_AGE; see layer_sync/celery.py).
CELERY_DB_REUSE_MAX = 1000
CELERY_TIMEZONE = TIME_ZONE
# Longer than any backoff the sync engine schedules, so the broker never
# redelivers a message that is only waiting for its retry time.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3 * 60 * 60)
}

# --- Billing platforms -----------------------------------------------------
# Unset URLs point at the in-process sandbox emulators (embedded mode only).
ABILLITY_API_URL = env.str("ABILLITY_API_URL", default="")
ABILLITY_SYSTEM_INFORMATION = env.str("ABILLITY_SYSTEM_INFORMATION", default="")
ABILLITY_USERNAME = env.str("ABILLITY_USERNAME", default="")
ABILLITY_PASSWORD = secret("ABILLITY_PASSWORD")
# The customer class `import_abillity` gives the customers it brings in (a class code;
# empty: none, unless the command names one).
ABILLITY_IMPORT_CUSTOMER_CLASS = env.str("ABILLITY_IMPORT_CUSTOMER_CLASS", default="")
AFFINITY_API_URL = env.str("AFFINITY_API_URL", default="")
AFFINITY_API_KEY = secret("AFFINITY_API_KEY")
# Affinity's rules (docs/affinity.md): make an inventory item whose External SKU is not in
# Affinity's price book as a custom product (else the line fails until it is added there);
# which base-category identifiers are CLIs; at which stages (quote, sales_order,
# data_capture) a CLI and the customer's billing details must be present, and which
# billing details.
AFFINITY_CREATE_CUSTOM_PRODUCTS = env.bool("AFFINITY_CREATE_CUSTOM_PRODUCTS", default=True)
AFFINITY_CLI_IDENTIFIER_FIELDS = env.list(
    "AFFINITY_CLI_IDENTIFIER_FIELDS", default=["CLI", "MSISDN", "Number"]
)
AFFINITY_CLI_REQUIRED_STAGES = env.list(
    "AFFINITY_CLI_REQUIRED_STAGES", default=["quote", "sales_order", "data_capture"]
)
AFFINITY_BILLING_DETAILS_STAGES = env.list(
    "AFFINITY_BILLING_DETAILS_STAGES", default=["quote", "sales_order", "data_capture"]
)
AFFINITY_REQUIRED_BILLING_FIELDS = env.list(
    "AFFINITY_REQUIRED_BILLING_FIELDS", default=["payment_terms", "payment_method"]
)
# The Entity Type numbers of Affinity's link import (19 = site, as The Layer's; 1 and 3 ours).
AFFINITY_LINK_ENTITY_TYPES = env.dict(
    "AFFINITY_LINK_ENTITY_TYPES", default={"19": "site", "1": "customer", "3": "contact"}
)
CONNECT_API_URL = env.str("CONNECT_API_URL", default="")
CONNECT_API_TOKEN = secret("CONNECT_API_TOKEN")

# Mount the sandbox emulators under /sandbox/<platform>/ (never in production).
SANDBOX_EMULATORS_ENABLED = env.bool("SANDBOX_EMULATORS_ENABLED", default=True)
# Where the connectors reach the emulators when a platform URL is unset. Unset: this
# server's own address, whatever host and port runserver or gunicorn was started on
# (layer_sync.server); a worker or command run beside the server sets it to the server's.
SANDBOX_BASE_URL = env.str("SANDBOX_BASE_URL", default="")

# --- Sync engine --------------------------------------------------------------
# Extra modules that register a connector (and its emulator) when imported, beside the
# platform packages' apps (connectors.apps.PlatformConfig); the engine imports them in its
# AppConfig.ready.
SYNC_CONNECTOR_MODULES = env.list("SYNC_CONNECTOR_MODULES", default=[])
# A job is tried this many times (recoverable errors) before it is aborted.
SYNC_MAX_ATTEMPTS = env.int("SYNC_MAX_ATTEMPTS", default=8)
# Exponential backoff with full jitter: uniform in [0, min(cap, base * 2 ** (n - 1))].
SYNC_BACKOFF_BASE = env.float("SYNC_BACKOFF_BASE", default=30.0)
SYNC_BACKOFF_CAP = env.float("SYNC_BACKOFF_CAP", default=60.0 * 60)
# A delayed publish never waits longer than this in the broker (the job row keeps the
# real time; the sweeper covers longer waits).
SYNC_MAX_COUNTDOWN = env.float("SYNC_MAX_COUNTDOWN", default=5.0 * 60)
# An in-flight job's lease, renewed at each HTTP call; the sweeper releases it after.
SYNC_LEASE_SECONDS = env.float("SYNC_LEASE_SECONDS", default=120.0)
# How long a job waits when its record is in flight in another worker.
SYNC_BUSY_DELAY = env.float("SYNC_BUSY_DELAY", default=2.0)
# The sweeper: how often it runs, how old a due job must be before it is republished,
# and how many it publishes per run.
SYNC_SWEEP_INTERVAL = env.float("SYNC_SWEEP_INTERVAL", default=30.0)
SYNC_PUBLISH_GRACE = env.float("SYNC_PUBLISH_GRACE", default=60.0)
SYNC_SWEEP_BATCH = env.int("SYNC_SWEEP_BATCH", default=5000)
# Platform calls in flight at once from one process, per platform (0: no limit). With
# jobs run on several threads of a process (``sync --process --threads 2``, or Celery's
# threads pool), 1 keeps a worker to one call on the wire while its other jobs do their
# database work and mapping: the platform sees no more calls at once than workers.
SYNC_CALLS_PER_PROCESS = env.int("SYNC_CALLS_PER_PROCESS", default=0)
# Platform calls: seconds to connect, and to wait for an answer.
SYNC_CONNECT_TIMEOUT = env.float("SYNC_CONNECT_TIMEOUT", default=5.0)
SYNC_READ_TIMEOUT = env.float("SYNC_READ_TIMEOUT", default=30.0)
# A write whose answer never came (a read timeout) may still be done by the platform:
# its retry waits at least this long, so the look-up before a create finds it.
SYNC_UNCERTAIN_WRITE_DELAY = env.float("SYNC_UNCERTAIN_WRITE_DELAY", default=120.0)
# Sync History retention (connectors.retention): finished jobs and HTTP attempt rows older
# than this many days are pruned, keeping each record's latest job and the error queue;
# 0 keeps everything. How often beat prunes (seconds), and rows removed per transaction.
SYNC_HISTORY_RETENTION_DAYS = env.float("SYNC_HISTORY_RETENTION_DAYS", default=90.0)
SYNC_HISTORY_PRUNE_INTERVAL = env.float("SYNC_HISTORY_PRUNE_INTERVAL", default=24.0 * 60 * 60)
SYNC_HISTORY_PRUNE_BATCH = env.int("SYNC_HISTORY_PRUNE_BATCH", default=5000)

# Beat reads its schedule from the database (django-celery-beat): staff's sync schedules
# (connectors.SyncSchedule) are periodic tasks there. The entries below stay the source of
# truth for the engine's own tasks: the DatabaseScheduler writes them into its table each
# time beat starts, so a changed interval here takes effect at the next start.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "sync-sweep": {"task": "connectors.sync_sweep", "schedule": SYNC_SWEEP_INTERVAL},
    "sync-history-prune": {
        "task": "connectors.sync_history_prune",
        "schedule": SYNC_HISTORY_PRUNE_INTERVAL,
    },
    # File imports whose task was lost (broker down when queued, worker killed).
    "background-imports-sweep": {"task": "billing.background_imports_sweep", "schedule": 300.0},
}
_visibility_timeout = CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
if max(SYNC_MAX_COUNTDOWN, SYNC_BACKOFF_CAP) >= _visibility_timeout:
    raise ImproperlyConfigured(
        "CELERY_VISIBILITY_TIMEOUT must exceed SYNC_MAX_COUNTDOWN and the backoff cap, or the "
        "broker would redeliver messages that are only waiting."
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redact": {"()": "connectors.redaction.RedactingFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
