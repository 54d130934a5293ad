"""Settings of a host project that embeds the SAKA apps (docs/embedding.md): only what the
apps need on top of a plain Django project. Every ``SAKA_*`` setting has a default; this
project sets the one without a usable default (the payment webhook's secret).

``DATABASE_URL`` (default: an SQLite file next to this project; the tests' database is
``test_<name>``), ``REDIS_URL`` (Celery broker; without it tasks run in-process).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

from saka.api import settings as saka_api

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("EMBED_SECRET_KEY", "embed-example-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # the host's own app, with its user model
    "accounts",
    # what the SAKA apps need
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",  # saka.jobs installs the runs' schedule in its tables
    # the SAKA apps (saka.demo is the reference project's demo data: not here)
    "saka.ledger",
    "saka.audit",
    "saka.alerts",  # the jobs' checks raise alerts; the staff API lists them
    "saka.projects",
    "saka.polls",
    "saka.grains",
    "saka.euro",
    "saka.api",
    "saka.jobs",
]
AUTH_USER_MODEL = "accounts.User"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "embedsite.urls"
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

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # every row-lock wait is bounded: the apps turn a timeout into a typed 409/503
    DATABASES["default"]["OPTIONS"] = {"options": "-c lock_timeout=3000"}
else:
    # writers take SQLite's lock at BEGIN (no lock-upgrade deadlocks between writers)
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 5}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"

# The API: the REST_FRAMEWORK and SPECTACULAR_SETTINGS it is built for, with a project's own
# choices on top (here a stricter member rate and the project's title).
REST_FRAMEWORK = saka_api.rest_framework(throttle_rates={"member": "60/min"})
SPECTACULAR_SETTINGS = saka_api.spectacular(TITLE="Embed example: wallets API")

# The payment provider's webhook secret: without one every payment webhook is refused (503).
SAKA_PAYMENT_WEBHOOK_SECRET = os.environ.get("EMBED_WEBHOOK_SECRET", "whsec_embed_example")

# Celery: the host's app (embedsite/celery.py) reads CELERY_*; beat reads the runs' schedule
# from the database (saka.jobs' migration installs it; editable in the admin).
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
