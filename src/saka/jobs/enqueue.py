"""Enqueueing tasks: the one place that sends a Celery task, always once the caller's
transaction commits (``transaction.on_commit``), so a rolled-back caller enqueues nothing.
The API and the admin call it; beat sends the scheduled tasks by name."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from saka.core.errors import ValidationError
from saka.grains.models import RunKind
from saka.jobs.tasks import compost_run, redistribution_run


def run_enqueue(
    *, kind: str, as_of: datetime, trigger: str, triggered_by_id: int | None = None
) -> None:
    """Enqueue the live run of ``kind`` at ``as_of`` once the current transaction commits
    (immediately when there is none): a rolled-back caller enqueues nothing."""
    tasks = {RunKind.COMPOST.value: compost_run, RunKind.REDISTRIBUTION.value: redistribution_run}
    if kind not in tasks:
        raise ValidationError(f"kind must be one of {', '.join(tasks)}.", field="kind")
    task = tasks[kind]
    kwargs = {
        "as_of": as_of.isoformat(),
        "dry_run": False,
        "trigger": trigger,
        "triggered_by_id": triggered_by_id,
    }
    transaction.on_commit(lambda: task.delay(**kwargs))
