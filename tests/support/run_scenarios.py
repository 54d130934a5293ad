"""Books for the run tests, built through the Python API or the seed command, and an eager
Celery switch.

- ``idle(user, times, at)``: ``times`` harvests of 50 grains 120 days before ``at`` (the
  wallet composts at ``at``: idle longer than the 90-day window).
- ``active(user, at)``: one harvest of 50 grains a day before ``at`` (redistribution-eligible).
- ``eager_tasks()``: Celery tasks run in-process while the block runs, whatever the broker.
- ``run_json(command, ...)``: a management command run with ``--json``, its output parsed.
- ``seed(n, at)``: ``n`` wallets of the ``saka_seed`` population, seeded at ``at`` (``A``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.core.management import call_command

from config.celery import app as celery_app
from saka.grains.services import wallet_harvest
from tests.support.clock import A

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


def run_json(name: str, *args: str, **options: Any) -> dict[str, Any]:
    out = io.StringIO()
    call_command(name, *args, json=True, stdout=out, stderr=io.StringIO(), **options)
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


def seed(n: int, at: datetime = A) -> dict[str, Any]:
    return run_json("saka_seed", wallets=n, as_of=at.isoformat())
