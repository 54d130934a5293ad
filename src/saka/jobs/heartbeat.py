"""Heartbeats of beat and of the workers, for ``/healthz`` (``saka.ops.health``).

Beat reports nothing by itself, so its schedule sends ``saka.jobs.tasks.heartbeat`` every
``HEARTBEAT_EVERY_SECONDS``: when beat *publishes* it (Celery's ``after_task_publish``
signal, in the beat process) the time is written to the cache as beat's last sighting; when a
worker *executes* it, as the workers' (a worker busy with a long run takes it later: that age
is informational). The cache is the project's (Redis in production, shared by every process).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from celery.signals import after_task_publish
from django.core.cache import cache
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from saka.jobs.schedule import HEARTBEAT_TASK

logger = logging.getLogger("saka.jobs")

BEAT_KEY = "saka:heartbeat:beat"
WORKER_KEY = "saka:heartbeat:worker"


def heartbeat_record(key: str, *, at: datetime | None = None) -> None:
    """Write ``at`` (default now) as the last sighting under ``key``; a cache that fails is
    logged, never raised (publishing or running the task must not fail for it)."""
    try:
        cache.set(key, (at or timezone.now()).isoformat(), timeout=None)
    except Exception:
        logger.warning("heartbeat %s not recorded: the cache failed", key, exc_info=True)


def heartbeat_last_seen(key: str) -> datetime | None:
    """The last sighting under ``key`` (``None``: never seen, or the cache forgot it)."""
    value = cache.get(key)
    return parse_datetime(value) if isinstance(value, str) else None


@after_task_publish.connect
def _beat_published(sender: str | None = None, **_: Any) -> None:
    # only beat's schedule sends the heartbeat task, so its publication is beat's sighting
    if sender == HEARTBEAT_TASK:
        heartbeat_record(BEAT_KEY)
