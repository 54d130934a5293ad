"""Settings of a deployment: DEBUG off, nothing insecure by default, TLS ended by a proxy.

Required environment (start-up refuses without it): ``DJANGO_SECRET_KEY``,
``DJANGO_ALLOWED_HOSTS`` (comma-separated), ``DATABASE_URL`` and ``REDIS_URL`` (cache and
Celery broker: tasks go to a worker, never run eagerly in the web process). The proxy in front
must set ``X-Forwarded-Proto`` and strip it from clients' requests.

Logs are JSON lines unless ``SAKA_LOG_FORMAT=plain``; the database's queries are in /metrics
unless ``SAKA_DB_METRICS=0`` (docs/observability.md).
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASE_URL, REDIS_URL, database, logging_config


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
DATABASES = {
    "default": database(
        _required("DATABASE_URL", DATABASE_URL),
        metrics=os.environ.get("SAKA_DB_METRICS", "1") == "1",
    )
}
LOGGING = logging_config(os.environ.get("SAKA_LOG_FORMAT", "json").strip().lower())
_required("REDIS_URL", REDIS_URL)  # base's CACHES and CELERY_BROKER_URL use it
CELERY_TASK_ALWAYS_EAGER = False

# HTTPS only, ended by the proxy: Django trusts its X-Forwarded-Proto header.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = True
# probes and scrapers reach a server directly, without the proxy's TLS (docs/observability.md)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# SECURE_HSTS_PRELOAD stays off: joining the browsers' preload list is the domain owner's
# decision and hard to undo (check --deploy reports security.W021 until then).
