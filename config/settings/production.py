"""Settings of a deployment: DEBUG off, nothing insecure by default, TLS ended by a proxy.

Required environment (start-up refuses without it): ``DJANGO_SECRET_KEY``,
``DJANGO_ALLOWED_HOSTS`` (comma-separated), ``DATABASE_URL`` and ``REDIS_URL`` (cache, Celery
broker and result backend: tasks go to a worker, never run eagerly in the web process). The
proxy in front must set ``X-Forwarded-Proto`` and strip it from clients' requests.

Optional: ``DJANGO_CSRF_TRUSTED_ORIGINS`` (comma-separated ``https://host``: when the proxy
does not pass the public Host header on), ``DJANGO_STATIC_ROOT`` (``staticfiles/`` in the
repository: where ``collectstatic`` writes), ``SAKA_SECURE_SSL_REDIRECT`` (``1`` by default;
``0`` serves plain HTTP without redirecting to HTTPS: ``make serve`` on 127.0.0.1 for a trial,
never behind a public address), the alerts' mail server (``DJANGO_EMAIL_HOST``, default
``localhost``; ``DJANGO_EMAIL_PORT`` 25; ``DJANGO_EMAIL_HOST_USER``,
``DJANGO_EMAIL_HOST_PASSWORD``; ``DJANGO_EMAIL_USE_TLS`` ``1`` for STARTTLS;
``DJANGO_DEFAULT_FROM_EMAIL``) and ``SAKA_ALERT_EMAILS`` (base, docs/alerts.md).
Static files: ``manage.py collectstatic`` into ``STATIC_ROOT``, compressed and with hashed
names, served by WhiteNoise (far-future cache headers) from the WSGI server (config/gunicorn.py).

Logs are JSON lines unless ``SAKA_LOG_FORMAT=plain``; the database's queries are in /metrics
unless ``SAKA_DB_METRICS=0`` (docs/observability.md).
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import BASE_DIR, DATABASE_URL, REDIS_URL, database, logging_config


def _required(name: str, value: str | None) -> str:
    if not value or not value.strip():
        raise ImproperlyConfigured(f"{name} must be set in production.")
    return value


DEBUG = False
SECRET_KEY = _required("DJANGO_SECRET_KEY", os.environ.get("DJANGO_SECRET_KEY"))
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip()
]
_required("DJANGO_ALLOWED_HOSTS", ",".join(ALLOWED_HOSTS))
# origins of forms posted through a proxy that changes the Host header (the admin's log-in)
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
DATABASES = {
    "default": database(
        _required("DATABASE_URL", DATABASE_URL),
        metrics=os.environ.get("SAKA_DB_METRICS", "1") == "1",
    )
}
LOGGING = logging_config(os.environ.get("SAKA_LOG_FORMAT", "json").strip().lower())
_required("REDIS_URL", REDIS_URL)  # base's CACHES, CELERY_BROKER_URL and result backend use it
CELERY_TASK_ALWAYS_EAGER = False

STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # collectstatic writes name.<hash>.ext and a .gz copy; a file missing from it is an error
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# HTTPS only, ended by the proxy: Django trusts its X-Forwarded-Proto header.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = os.environ.get("SAKA_SECURE_SSL_REDIRECT", "1") != "0"
# probes and scrapers reach a server directly, without the proxy's TLS (docs/observability.md)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# SECURE_HSTS_PRELOAD stays off: joining the browsers' preload list is the domain owner's
# decision and hard to undo (months to leave it). So check --deploy's reminder of it is
# silenced; every other deployment check must pass (CI: scripts/serve_smoke.sh).
SILENCED_SYSTEM_CHECKS = ["security.W021"]

# The alerts' e-mail (SAKA_ALERT_EMAILS, docs/alerts.md) goes through this SMTP server.
EMAIL_HOST = os.environ.get("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("DJANGO_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("DJANGO_EMAIL_USE_TLS", "0") == "1"
EMAIL_TIMEOUT = 10  # seconds: a mail server that hangs never holds a worker for long
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "saka@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
