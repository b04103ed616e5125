"""Smarketing settings: one module, driven by environment variables.

With nothing set, the app runs embedded: SQLite and a file-system Celery broker under ./var/, e-mail
to the console, DEBUG on. Production sets DJANGO_DEBUG=0, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and
REDIS_URL. Every variable is parsed strictly: a value we cannot read raises ImproperlyConfigured naming
the variable, it is never silently taken as false.
"""

import os
import zoneinfo
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SMARKETING_VAR_DIR", BASE_DIR / "var"))

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_required(name: str) -> str:
    raw = os.environ.get(name, "").strip()
    if not raw:
        raise ImproperlyConfigured(f"{name} must be set when DJANGO_DEBUG is off.")
    return raw


DEBUG = env_bool("DJANGO_DEBUG", True)

if DEBUG:
    # Only for the embedded/dev default; production refuses to start without its own secret.
    SECRET_KEY = os.environ.get("SECRET_KEY") or "dev-only-insecure-key-do-not-use-in-production-7c1f0e9b"
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
else:
    SECRET_KEY = env_required("SECRET_KEY")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DJANGO_DEBUG is off.")

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "smarketing",
    "leads",
    "scoring",
    "sla",
    "dashboards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a sign-in that the throttle refused into the lock page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "smarketing.urls"
WSGI_APPLICATION = "smarketing.wsgi.application"

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
                "smarketing.context_processors.navigation",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
# DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/smarketing) or SQLite in ./var/.
_database_url = os.environ.get("DATABASE_URL", "").strip()
if _database_url:
    try:
        DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60, conn_health_checks=True)}
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "smarketing.sqlite3",
            # The web server, the worker and beat share one file: wait for a lock instead of failing.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "smarketing.User"

# --- Redis: Celery broker and cache -------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "").strip()

if REDIS_URL:
    # Redis unreachable (refused, or stalled past the socket timeout): the cache answers from this process'
    # memory for a while instead of failing the request (smarketing/cache.py).
    CACHES = {"default": {"BACKEND": "smarketing.cache.RedisCacheWithFallback", "LOCATION": REDIS_URL,
                          "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A stalled or refused broker must not hold a request: give up on a connection quickly (enqueue()
        # then stops trying for a while: smarketing/tasks.py).
        "socket_connect_timeout": 2,
        "socket_timeout": 2,
        "max_retries": 1,
        # Longer than any countdown/ETA we use, so a delayed task is never delivered twice.
        "visibility_timeout": 2 * 60 * 60,
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("out", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    # kombu's file-system transport: a broker that needs no server (the embedded default).
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "data_folder_processed": str(_broker_dir / "processed"),
        # Broadcast messages (worker remote control) would otherwise land in ./control/.
        "control_folder": str(_broker_dir / "control"),
    }

CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A hard limit for tasks that set none. No global soft limit: Celery refuses a task whose own
# time_limit is below an inherited soft_time_limit.
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Task modules beyond each app's `tasks` (autodiscovery finds only those): the SLA contract's watch.
CELERY_INCLUDE = ["sla.contract_tasks"]
CELERY_BEAT_SCHEDULE: dict = {
    # The SLA watch: deadlines that passed unmet become breaches within a minute or two (level-triggered).
    "sla-check-breaches": {"task": "sla.contract_tasks.check_breaches_task", "schedule": 60.0},
    # Nightly: every deadline of the last 35 days, not only those due since the last run.
    "sla-check-breaches-full": {"task": "sla.contract_tasks.check_breaches_task", "schedule": crontab(hour=3, minute=10),
                                "kwargs": {"full": True}},
    "sla-flag-stale-leads": {"task": "sla.contract_tasks.flag_stale_leads_task", "schedule": crontab(minute=20)},
    # Daily, so a month missed by a stopped scheduler is still closed; the unique constraint keeps it once.
    "sla-close-marketing-month": {"task": "sla.contract_tasks.close_marketing_month_task",
                                  "schedule": crontab(hour=0, minute=30)},
    "sla-review-reminders": {"task": "sla.contract_tasks.send_review_reminders_task",
                             "schedule": crontab(hour=7, minute=0)},
    # Level-triggered: finds leads whose score is stale, so a new activity shows in the score within a
    # minute or two and a lost message never loses work.
    "rescore-stale": {"task": "scoring.tasks.rescore_stale_task", "schedule": 60.0},
    # Decay moves every score a little each day.
    "rescore-full-nightly": {"task": "scoring.tasks.rescore_full_task", "schedule": crontab(hour=2, minute=0),
                             "kwargs": {"reason": "nightly decay"}},
    # Level-triggered: new MQLs without a handoff go to a rep by the routing rules, when auto-routing is on.
    "route-new-mqls": {"task": "sla.tasks.route_new_mqls_task", "schedule": 60.0},
    # Handoffs whose lead left sales by another path (the stage API, an import) are closed with its outcome.
    "close-finished-handoffs": {"task": "sla.tasks.close_finished_handoffs_task", "schedule": 300.0},
    # Notification e-mails whose message was lost (broker down, worker killed) are sent again.
    "notification-emails-due": {"task": "smarketing.tasks.send_due_notification_emails_task", "schedule": 120.0},
    # Level-triggered: webhook deliveries whose message was lost (broker down, worker killed) go out again.
    "webhooks-retry-overdue": {"task": "smarketing.tasks.retry_overdue_webhooks_task", "schedule": 60.0},
    # Dashboards: yesterday's funnel (and the two days before, for late edits) after midnight; every quarter hour
    # any day never rolled up (a fresh install, a missed night), so pages read rollups, not the stage history.
    "dashboards-rollup-nightly": {"task": "dashboards.tasks.rollup_funnel_task", "schedule": crontab(hour=0, minute=20)},
    "dashboards-rollup-missing": {"task": "dashboards.tasks.rollup_funnel_task", "schedule": 900.0,
                                  "kwargs": {"lookback_days": 0}},
    # Scoring calibration against both outcomes, after the nightly rescore (it reads every known outcome).
    "dashboards-calibrate": {"task": "dashboards.tasks.calibrate_scoring_task", "schedule": crontab(hour=3, minute=40)},
    # Hourly: the Monday digest and the monthly report go out when due in the organisation's time zone.
    "dashboards-digests": {"task": "dashboards.tasks.send_digests_task", "schedule": crontab(minute=5)},
    # Level-triggered: imports whose message was lost or whose worker died start again.
    "imports-resume-stalled": {"task": "leads.tasks.resume_stalled_imports_task", "schedule": 60.0},
}

# --- Auth ---------------------------------------------------------------------------------------
# Every password a person sets (their own change, the admin's forms, createsuperuser) passes these.
# At least 12 characters, as OWASP ASVS V2.1.1 asks; common and all-digit passwords are refused.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes refuses a sign-in before the password is even checked when its account or address is locked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "smarketing.auth_backends.UserWithTeamBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# The minute's incremental rescore scores this many batches of touched leads at once, each on its own
# database connection (threads in the worker; PostgreSQL does the work on as many cores).
RESCORE_WORKERS = env_int("RESCORE_WORKERS", 2)
if RESCORE_WORKERS < 1:
    raise ImproperlyConfigured(f"RESCORE_WORKERS={RESCORE_WORKERS} must be at least 1.")
# A CSV import is split into this many parts, imported at once by as many worker processes.
IMPORT_PARTS = env_int("IMPORT_PARTS", 2)
if not 1 <= IMPORT_PARTS <= 16:
    raise ImproperlyConfigured(f"IMPORT_PARTS={IMPORT_PARTS} must be between 1 and 16.")

# --- Sign-in throttling (django-axes) -------------------------------------------------------------
# Password guessing is throttled on two counts at once (smarketing.login_throttle): failed sign-ins per
# account, from any address, and per client address, on any account. OWASP ASVS V2.2.1 allows at most
# 100 failures an hour per account; an address gets fewer, since one client guessing across many accounts
# is the usual attack. A lock lifts an hour after it began: attempts while locked are refused and not
# counted, so nobody can keep a colleague's account locked for ever by trying on.
LOGIN_FAILURES_PER_ACCOUNT = env_int("LOGIN_FAILURES_PER_ACCOUNT", 100)
LOGIN_FAILURES_PER_ADDRESS = env_int("LOGIN_FAILURES_PER_ADDRESS", 20)
if not 0 < LOGIN_FAILURES_PER_ACCOUNT <= 100:
    raise ImproperlyConfigured(f"LOGIN_FAILURES_PER_ACCOUNT={LOGIN_FAILURES_PER_ACCOUNT} must be between 1 and 100 "
                               "(OWASP ASVS V2.2.1).")
if LOGIN_FAILURES_PER_ADDRESS <= 0:
    raise ImproperlyConfigured(f"LOGIN_FAILURES_PER_ADDRESS={LOGIN_FAILURES_PER_ADDRESS} must be a positive number.")
AXES_HANDLER = "smarketing.login_throttle.LoginThrottleHandler"
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]  # LoginThrottleHandler reads the counts in this order
AXES_FAILURE_LIMIT = LOGIN_FAILURES_PER_ACCOUNT
AXES_COOLOFF_TIME = timedelta(hours=1)
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# The sign-in form's field is "username" (it holds the e-mail); counted lower-case, as the e-mail is stored.
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "smarketing.login_throttle.login_username"
AXES_CLIENT_IP_CALLABLE = "smarketing.login_throttle.client_address"
AXES_LOCKOUT_CALLABLE = "smarketing.login_throttle.lockout_response"
# Never store what people typed as a password, even a wrong one, in the attempt log.
AXES_SENSITIVE_PARAMETERS = ["password", "old_password", "new_password1", "new_password2"]
# Lockouts are still logged as warnings; every successful sign-in and the start-up banner are not.
AXES_VERBOSE = False

# --- I18N ---------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"TIME_ZONE={TIME_ZONE!r} is not a time zone, e.g. Europe/Berlin.") from None
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = False

# --- Static files -------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Uploaded files (CSV imports) ------------------------------------------------------------------
# The web process stores an upload here and the worker reads it: one machine, or a shared volume.
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

# --- E-mail -------------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# Seconds before an SMTP connection gives up: shorter than the notification e-mail's claim (two minutes),
# so a slow mail server never lets a second worker send the same e-mail.
EMAIL_TIMEOUT = 30
EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Smarketing <smarketing@localhost>")
# Where people open the app: the links in notification e-mails start with it.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").strip()
if not SITE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"SITE_URL={SITE_URL!r} is not an address; use e.g. https://smarketing.example.com.")

# --- REST framework -----------------------------------------------------------------------------
# Integrations send `Authorization: Bearer <API token>`; the browser's own pages use the session.
# The largest API request body: a full bulk request (1,000 leads, 5,000 activities) is 1–3 MB with properties.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 10 * 1024 * 1024)
API_TOKEN_THROTTLE_RATE = os.environ.get("API_TOKEN_THROTTLE_RATE", "600/min").strip()
try:
    _count, _period = API_TOKEN_THROTTLE_RATE.split("/")
    if int(_count) <= 0 or _period[:1] not in {"s", "m", "h", "d"}:
        raise ValueError
except ValueError:
    raise ImproperlyConfigured(
        f"API_TOKEN_THROTTLE_RATE={API_TOKEN_THROTTLE_RATE!r} is not a rate like 600/min or 20/s."
    ) from None
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "smarketing.api_auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "smarketing.api_auth.TokenScopePermission",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["smarketing.api_auth.ApiTokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_token": API_TOKEN_THROTTLE_RATE},
    # JSON only: every body the API takes is nested (bulk items, properties), which form encodings cannot carry,
    # so a form or multipart body is a 415 with a clear message, and the schema documents one media type.
    "DEFAULT_PARSER_CLASSES": ["smarketing.api_parsers.BoundedJSONParser"],
    "EXCEPTION_HANDLER": "smarketing.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# The OpenAPI schema at /api/v1/schema/ and its docs page; Swagger UI comes from the sidecar package,
# served by our own static files (no CDN).
SPECTACULAR_SETTINGS = {
    "TITLE": "Smarketing API",
    "DESCRIPTION": (
        "Leads, activities and their stages, for integrations. Authenticate with "
        "`Authorization: Bearer <API token>` (an admin creates tokens under Integrations → API tokens). "
        "Every 4xx answers `{\"error\": {\"status\", \"code\", \"message\", \"fields\"}}`."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # smarketing.converters: a row id, at most 18 digits.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}},
    # One name per choice set that several serializers share.
    "ENUM_NAME_OVERRIDES": {"StageEnum": "leads.models.Stage", "SeniorityEnum": "leads.models.Seniority",
                            "ActivityTypeEnum": "leads.models.ActivityType"},
}

# --- Security (production) ----------------------------------------------------------------------
# Production is served over HTTPS (behind a proxy that sets X-Forwarded-Proto). DJANGO_HTTPS=0 is only
# for trying the production stack on plain http://localhost (docker-compose); check --deploy warns then.
HTTPS = env_bool("DJANGO_HTTPS", not DEBUG)
if HTTPS:
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]  # the container's own health check speaks plain HTTP
# Proxies in front of the app that append the client's address to X-Forwarded-For; sign-in throttling
# counts per client address (smarketing.login_throttle.client_address). Behind a proxy REMOTE_ADDR is the
# proxy, shared by everyone, so with HTTPS (served behind the proxy that sets X-Forwarded-Proto) the
# default is 1; 0 means clients connect directly and REMOTE_ADDR is theirs.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1 if HTTPS else 0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured(f"TRUSTED_PROXY_COUNT={TRUSTED_PROXY_COUNT} cannot be negative.")
# Sessions are read from the cache (Redis) and written through to the database: a page needs no query to
# know who is signed in, and a flushed cache signs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp), in every mode so development meets the same rules as production.
# Scripts come only from our own static files: no inline <script>, no on*= attributes, no eval (htmx runs
# with allowEval off; its indicator CSS is in app.css rather than injected, see base.html). Style sheets
# too come only from our own files; style="" attributes stay allowed (style-src-attr), because templates
# set computed widths and colours with them (progress and funnel bars) and an attribute cannot run code.
# Framing is refused by X-Frame-Options, which the shared dashboard view lifts on purpose to be embedded;
# a frame-ancestors directive here would overrule that.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
    },
}

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL={LOG_LEVEL!r} is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
