"""Celery tasks of the SAKA runs: thin wrappers around the run services (enqueued only by
``saka.jobs.enqueue``, or by beat by name).

The services own their transactions (one short transaction per chunk), so a task never opens
one: a retry always starts outside any aborted transaction and resumes the interrupted run
from its cursor. A lock timeout or a run executed by another process is retried with
exponential backoff; any other error fails the task (the run row keeps the error).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import shared_task

from saka.core.clock import parse_instant
from saka.core.db import lock_errors_typed
from saka.core.errors import LockTimeout, ValidationError
from saka.grains.errors import RunInProgress
from saka.grains.models import Run, RunKind, RunTrigger
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from saka.grains.selectors import run_summary
from saka.jobs.schedule import COMPOST_TASK, REDISTRIBUTION_TASK

logger = logging.getLogger("saka.jobs")

TASK_OF_KIND = {
    RunKind.COMPOST.value: COMPOST_TASK,
    RunKind.REDISTRIBUTION.value: REDISTRIBUTION_TASK,
}

RETRY_ON = (LockTimeout, RunInProgress)
RUN_TASK_OPTIONS: dict[str, Any] = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": RETRY_ON,
    "retry_backoff": 30,  # seconds: 30, 60, 120, ... (full jitter), capped below
    "retry_backoff_max": 15 * 60,
    "retry_jitter": True,
    "max_retries": 8,
}


def _run(
    start: Callable[..., Run],
    *,
    as_of: str | None,
    dry_run: bool,
    trigger: str,
    triggered_by_id: int | None,
) -> dict[str, Any]:
    if trigger not in RunTrigger.values:
        raise ValidationError(f"Unknown trigger {trigger!r}.", field="trigger")
    if not isinstance(dry_run, bool):
        raise ValidationError("dry_run must be a boolean.", field="dry_run")
    if as_of is not None and not isinstance(as_of, str):
        raise ValidationError("as_of must be an ISO 8601 string.", field="as_of")
    # A row lock not granted within lock_timeout in a chunk statement: retryable.
    with lock_errors_typed():
        run = start(
            as_of=None if as_of is None else parse_instant(as_of),
            dry_run=dry_run,
            trigger=trigger,
            triggered_by_id=triggered_by_id,
        )
    return run_summary(run)


@shared_task(name=COMPOST_TASK, **RUN_TASK_OPTIONS)
def compost_run(
    self: Any,
    *,
    as_of: str | None = None,
    dry_run: bool = False,
    trigger: str = RunTrigger.BEAT.value,
    triggered_by_id: int | None = None,
) -> dict[str, Any]:
    """Compost of ``as_of``'s ISO week (default: now); resumes or returns a finished run."""
    logger.info("compost task %s (attempt %s)", self.request.id, self.request.retries + 1)
    return _run(
        compost_run_start,
        as_of=as_of,
        dry_run=dry_run,
        trigger=trigger,
        triggered_by_id=triggered_by_id,
    )


@shared_task(name=REDISTRIBUTION_TASK, **RUN_TASK_OPTIONS)
def redistribution_run(
    self: Any,
    *,
    as_of: str | None = None,
    dry_run: bool = False,
    trigger: str = RunTrigger.BEAT.value,
    triggered_by_id: int | None = None,
) -> dict[str, Any]:
    """Redistribution of ``as_of``'s month (default: now); resumes or returns a finished run."""
    logger.info("redistribution task %s (attempt %s)", self.request.id, self.request.retries + 1)
    return _run(
        redistribution_run_start,
        as_of=as_of,
        dry_run=dry_run,
        trigger=trigger,
        triggered_by_id=triggered_by_id,
    )
