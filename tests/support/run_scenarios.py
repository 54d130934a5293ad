"""Books for the run tests, built through the Python API, and an eager Celery switch.

- ``idle(user, times, at)``: ``times`` harvests of 50 grains 120 days before ``at`` (the
  wallet composts at ``at``: idle longer than the 90-day window).
- ``active(user, at)``: one harvest of 50 grains a day before ``at`` (redistribution-eligible).
- ``eager_tasks()``: Celery tasks run in-process while the block runs, whatever the broker.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from config.celery import app as celery_app
from saka.grains.services import wallet_harvest

IDLE_DAYS = 120


def idle(user: Any, times: int, at: datetime) -> None:
    for _ in range(times):
        wallet_harvest(
            member_id=user.pk, reason="invite_accepted", as_of=at - timedelta(days=IDLE_DAYS)
        )


def active(user: Any, at: datetime) -> None:
    wallet_harvest(member_id=user.pk, reason="invite_accepted", as_of=at - timedelta(days=1))


@contextmanager
def eager_tasks() -> Iterator[None]:
    saved = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved
