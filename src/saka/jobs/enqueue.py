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


def settlement_run_enqueue(*, campaign_id: int, trigger: str, triggered_by_id: int | None) -> None:
    """Send the ``settlement_run`` task of a campaign (it finds or opens the campaign's
    settlement, sends the other workers and works on it) once the current transaction commits."""
    from saka.jobs import tasks

    transaction.on_commit(
        lambda: tasks.settlement_run.delay(
            campaign_id=campaign_id, trigger=trigger, triggered_by_id=triggered_by_id
        )
    )
