"""Settings common to every environment of the SAKA reference project (not run on its own:
``local``, ``test`` and ``production`` start from it).

Environment: ``DATABASE_URL`` (read here, used by each environment's module), ``REDIS_URL``
(cache, Celery broker and result backend; without it a local-memory cache, and Celery tasks
run eagerly in-process), ``CELERY_TASK_ALWAYS_EAGER`` (``1``/``0``, overrides that default),
``SAKA_LOCK_TIMEOUT_MS``, ``SAKA_RUN_WORKERS``, ``SAKA_LOG_LEVEL``, ``SAKA_MEMBER_THROTTLE``,
``SAKA_PLATFORM_THROTTLE``, ``SAKA_PAYMENT_WEBHOOK_SECRET``, ``SAKA_HELLOASSO_WEBHOOK_SECRET``,
``SAKA_TEST_DB_NAME``,
``SAKA_DB_POOLER`` (``pgbouncer``: ``DATABASE_URL`` is a PgBouncer in transaction mode),
``SAKA_LOG_FORMAT`` (``plain`` here, ``json`` in production), ``SAKA_METRICS_TOKEN``,
``SAKA_DB_METRICS`` (see docs/observability.md), ``SAKA_ALERT_EMAILS`` (comma-separated:
docs/alerts.md).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from saka.api import settings as saka_api_settings

BASE_DIR = Path(__file__).resolve().parent.parent.parent  # the repository

DEBUG = False

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",  # beat's schedule in the database, edited in the admin
    "saka.ledger",
    "saka.audit",
    "saka.alerts",
    "saka.projects",
    "saka.polls",
    "saka.grains",
    "saka.euro",
    "saka.api",
    "saka.portal",
    "saka.dashboard",
    "saka.jobs",
    "saka.demo",
    "bench",
    "django_prometheus",
]

MIDDLEWARE = [
    # observability (saka.ops, docs/observability.md): metrics around everything, then the
    # request id and the one log line per request
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "saka.ops.logs.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files, from the WSGI server itself
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

LOCK_TIMEOUT_MS = int(os.environ.get("SAKA_LOCK_TIMEOUT_MS", "3000"))


# ``pgbouncer``: DATABASE_URL names a PgBouncer in transaction pooling mode (see
# docs/operations-workers.md); empty: a direct connection to PostgreSQL.
DB_POOLER = os.environ.get("SAKA_DB_POOLER", "").strip().lower()
DB_POOLERS = ("", "pgbouncer")
# ``1``: the database's queries are counted and timed in /metrics (django-prometheus's backend
# wrappers); production turns it on unless ``SAKA_DB_METRICS=0``.
DB_METRICS = os.environ.get("SAKA_DB_METRICS", "0") == "1"
DB_METRICS_ENGINES = {
    "django.db.backends.postgresql": "django_prometheus.db.backends.postgresql",
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
}


def database(url: str, *, pooler: str | None = None, metrics: bool | None = None) -> dict[str, Any]:
    """The ``DATABASES`` entry of a database URL, with the lock timeout and SQLite tuning.

    ``pooler`` (default ``SAKA_DB_POOLER``) ``"pgbouncer"``: the URL is a PgBouncer in
    transaction pooling mode, where consecutive transactions of one client may run on different
    server connections and nothing may outlive a transaction. So no ``options`` startup
    parameter (``lock_timeout`` and ``jit`` are then set on the server: ``ALTER ROLE ... SET``
    or PgBouncer's ``connect_query``), no server-side cursors (``.iterator()`` would open a
    ``WITH HOLD`` cursor), and client-side binding without prepared statements (Django's
    default with psycopg 3: ``prepare_threshold=None``, no ``server_side_binding``).

    ``metrics`` (default ``SAKA_DB_METRICS``): django-prometheus's wrapper of the same backend
    (``connection.vendor`` unchanged), counting queries, errors and their latency.
    """
    pooler = DB_POOLER if pooler is None else pooler
    if pooler not in DB_POOLERS:
        raise ImproperlyConfigured(f"SAKA_DB_POOLER must be one of {DB_POOLERS}, got {pooler!r}.")
    db: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    metrics = DB_METRICS if metrics is None else metrics
    if db["ENGINE"] == "django.db.backends.postgresql":
        options = db.setdefault("OPTIONS", {})
        if pooler == "pgbouncer":
            db["DISABLE_SERVER_SIDE_CURSORS"] = True
            options.pop("server_side_binding", None)
            options.pop("prepare_threshold", None)
        else:
            # Every lock wait is bounded; the ledger maps a timeout to a typed LockTimeout
            # error. JIT off: it compiles each short chunk statement again (tens of ms).
            options["options"] = f"-c lock_timeout={LOCK_TIMEOUT_MS} -c jit=off"
        db.setdefault("TEST", {})["NAME"] = os.environ.get(
            "SAKA_TEST_DB_NAME", f"test_{db['NAME']}"
        )
    elif db["ENGINE"] == "django.db.backends.sqlite3":
        db.setdefault("OPTIONS", {}).update(
            {
                "timeout": max(LOCK_TIMEOUT_MS / 1000, 5),
                # writers take the lock at BEGIN: no lock-upgrade deadlocks between writers
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            }
        )
        db["CONN_MAX_AGE"] = 0
    if metrics and db["ENGINE"] in DB_METRICS_ENGINES:
        db["ENGINE"] = DB_METRICS_ENGINES[db["ENGINE"]]
    return db


DATABASE_URL = os.environ.get("DATABASE_URL", "")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"IGNORE_EXCEPTIONS": False},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery (config/celery.py reads the CELERY_* settings). Without REDIS_URL there is no broker
# and no worker: tasks then run in the calling process (eager), and cron can use the commands.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = (
    os.environ.get("CELERY_TASK_ALWAYS_EAGER", "0" if REDIS_URL else "1") == "1"
)
CELERY_TASK_ACKS_LATE = True  # a task lost with its worker is delivered again (runs resume)
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # runs are long: never hold a second one in reserve
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
# Results on Redis (``celery -A config result <id>``), kept a day; none without a broker.
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_RESULT_EXTENDED = True  # the task's name and arguments are stored with its result
# Beat reads its schedule from the database (django-celery-beat: edited in the admin, nothing
# written to disk); migration saka.jobs 0001 installs saka.jobs.schedule.BEAT_SCHEDULE there.
# No CELERY_BEAT_SCHEDULE: the DatabaseScheduler would write it over the admin's edits at start.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# The member pages (saka.portal, docs/member-pages.md): Django's log-in and log-out views at
# /accounts/ with the browser session; after logging in, staff who read the staff views go to
# /dashboard/ (saka.dashboard, docs/dashboard.md), everyone else to /me/
# (saka.portal.views.home). Log-out is a POST.
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/accounts/home/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Files installed from the npm registry (package-lock.json, ``make install`` runs ``npm ci``),
# served as published: Chart.js's UMD build for the staff dashboard (docs/dashboard.md).
STATICFILES_DIRS = [("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist")]


def logging_config(log_format: str) -> dict[str, Any]:
    """One handler, on the root logger: every logger (``saka.*``, Django's, Celery's, which
    config/celery.py keeps from installing its own) writes each line once. ``json``: one JSON
    object a line (python-json-logger; fields in docs/observability.md); ``plain``: text."""
    if log_format not in ("json", "plain"):
        raise ImproperlyConfigured(f"SAKA_LOG_FORMAT must be json or plain, got {log_format!r}.")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": "saka.ops.logs.RequestContextFilter"}},
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(levelname)s %(name)s %(message)s",
                "rename_fields": {"levelname": "level", "name": "logger"},
                "timestamp": "time",
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["request"],
            }
        },
        "root": {"handlers": ["console"], "level": "WARNING"},
        "loggers": {
            "saka": {"level": os.environ.get("SAKA_LOG_LEVEL", "INFO")},
            "celery": {"level": "INFO"},
            # Django's own handlers off (its console one doubles lines under DEBUG); 4xx are
            # in the request line already, 5xx keep their traceback here
            "django": {"handlers": [], "level": "INFO"},
            "django.request": {"level": "ERROR"},
        },
    }


LOGGING = logging_config(os.environ.get("SAKA_LOG_FORMAT", "plain").strip().lower())

# GET /metrics: a bearer token; empty, only loopback clients (docs/observability.md)
SAKA_METRICS_TOKEN = os.environ.get("SAKA_METRICS_TOKEN", "")
# GET /healthz: beat's heartbeat older than this is "degraded" (it beats every 30 s)
SAKA_BEAT_STALE_SECONDS = int(os.environ.get("SAKA_BEAT_STALE_SECONDS", "120"))

# Alerts (saka.alerts, docs/alerts.md): e-mailed, when they open, to these addresses
# (comma-separated in the environment; none: no e-mail, the alerts are still recorded)
SAKA_ALERT_EMAILS = [
    a.strip() for a in os.environ.get("SAKA_ALERT_EMAILS", "").split(",") if a.strip()
]

# A token (POST /api/v1/auth/token/) is refused this long after it was issued (default 7 days);
# POST /api/v1/auth/logout/ deletes it sooner.
SAKA_TOKEN_TTL_SECONDS = int(os.environ.get("SAKA_TOKEN_TTL_SECONDS", str(7 * 24 * 3600)))

# The API's DRF and drf-spectacular settings, with their defaults (saka.api.settings, the same
# helpers an embedding project calls: docs/embedding.md); throttle rates from the environment.
_THROTTLE_ENV = {
    "member": "SAKA_MEMBER_THROTTLE",  # default 120/min
    "platform": "SAKA_PLATFORM_THROTTLE",  # default 6000/min
    "login_username": "SAKA_LOGIN_USERNAME_THROTTLE",  # default 10/hour
    "login_address": "SAKA_LOGIN_ADDRESS_THROTTLE",  # default 60/hour
}
REST_FRAMEWORK = saka_api_settings.rest_framework(
    throttle_rates={
        scope: os.environ[env] for scope, env in _THROTTLE_ENV.items() if env in os.environ
    },
    # behind N proxies: the client address is the Nth from the right of X-Forwarded-For
    NUM_PROXIES=int(os.environ.get("SAKA_NUM_PROXIES", "0")),
)
SPECTACULAR_SETTINGS = saka_api_settings.spectacular()

# SAKA rules (spec section 3); validated at start-up.
SAKA_ENABLED = True
SAKA_COMPOST_INACTIVITY_DAYS = 90
SAKA_COMPOST_RATE = "0.10"
SAKA_COMPOST_MIN_BALANCE = 50
SAKA_COMPOST_MIN_AMOUNT = 10
SAKA_REDISTRIBUTION_RATE = "0.05"
SAKA_REDISTRIBUTION_MIN_HARVESTED = 1
SAKA_REDISTRIBUTION_ACTIVE_DAYS = 90
SAKA_TIME_ZONE = "UTC"
# Workers a run is shared by: Celery worker processes for a run started by beat, the API or
# the admin; threads for a command (each holds one database connection while the run lasts).
# 2 suits 2 cores; SQLite always runs one chunk at a time.
SAKA_RUN_WORKERS = int(os.environ.get("SAKA_RUN_WORKERS", "2"))
# The batch engine (saka.engine.conf): a chunk lease lasts this long; a run with no live lease
# and no progress for SAKA_RUN_STALL_SECONDS is stalled and resumed by the beat task.
SAKA_RUN_LEASE_SECONDS = int(os.environ.get("SAKA_RUN_LEASE_SECONDS", "30"))
SAKA_RUN_STALL_SECONDS = int(os.environ.get("SAKA_RUN_STALL_SECONDS", "120"))

# EUR wallets (spec section 4); validated at start-up. Without a webhook secret the payment
# webhook refuses every event.
SAKA_PAYMENT_WEBHOOK_SECRET = os.environ.get("SAKA_PAYMENT_WEBHOOK_SECRET", "")
SAKA_PAYMENT_WEBHOOK_TOLERANCE_SECONDS = 300
# The HelloAsso webhook (docs/providers.md): its secret, and the fee estimated for a payment
# whose event carries none (0.8 % + 0.25 EUR).
SAKA_HELLOASSO_WEBHOOK_SECRET = os.environ.get("SAKA_HELLOASSO_WEBHOOK_SECRET", "")
SAKA_HELLOASSO_FEE_RATE = "0.008"
SAKA_HELLOASSO_FEE_FIXED_CENTS = 25
SAKA_PLATFORM_COMMISSION_RATE = "0.05"
SAKA_EQUITY_PLEDGES_ENABLED = False
SAKA_SETTLEMENT_BATCH_SIZE = 500
