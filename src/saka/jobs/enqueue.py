"""Enqueueing tasks: the one place that sends a Celery task, always once the caller's
transaction commits (``transaction.on_commit``), so a rolled-back caller enqueues nothing.
The API, the admin and the tasks call it; beat sends the scheduled tasks by name."""

from __future__ import annotations

from django.db import transaction

from saka.core.errors import ValidationError


def run_workers_enqueue(*, spec: str, run_id: int, count: int) -> None:
    """Send ``count`` workers (``run_work`` tasks) to run ``run_id`` of kind ``spec`` once the
    current transaction commits (immediately when there is none)."""
    from saka.jobs import tasks  # the tasks enqueue too: imported when first used

    if spec not in tasks.SPECS:
        raise ValidationError(f"Unknown run kind {spec!r}.", field="spec")
    for _ in range(max(count, 0)):
        transaction.on_commit(lambda: tasks.run_work.delay(spec=spec, run_id=run_id))
