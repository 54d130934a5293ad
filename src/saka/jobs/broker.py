"""Can the broker be reached? One connection attempt with a short timeout (``/healthz`` and
the broker alert both ask here)."""

from __future__ import annotations

from django.conf import settings
from kombu import Connection

BROKER_TIMEOUT_SECONDS = 2.0


def broker_eager() -> bool:
    """Tasks run in the calling process (``CELERY_TASK_ALWAYS_EAGER``): no broker to reach."""
    return bool(getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False))


def broker_ping(*, url: str | None = None, timeout: float = BROKER_TIMEOUT_SECONDS) -> None:
    """Connect to ``url`` (default ``CELERY_BROKER_URL``) once, without retrying; raises what
    the transport raises when it cannot (the caller keeps only the exception's type: its text
    may hold a host or a user name)."""
    with Connection(url or settings.CELERY_BROKER_URL, connect_timeout=timeout) as conn:
        conn.ensure_connection(max_retries=0, timeout=timeout)
