"""Celery tasks of the runs: thin wrappers around the batch engine (enqueued only by
``saka.jobs.enqueue``, or by beat by name).

- ``compost_run`` / ``redistribution_run`` (beat, or a command without a broker): finish any
  earlier unfinished run of the kind first, then open the period's run; each time send
  ``SAKA_RUN_WORKERS - 1`` ``run_work`` tasks and work on the run here too.
- ``run_work``: join a run (any kind, by name and id) and work on it until it is done. Any
  number of these, on any host, share one run; one SIGKILLed loses nothing (its chunk rolls
  back, its lease runs out, another worker takes the chunk).
- ``runs_resume`` (beat, every minute): interrupted or stalled runs of any period get workers.
- ``ledger_rollup`` (beat, every 10 s): fold the pending credits of the rolled-up accounts
  (EUR commission and project accounts) and the pending boosts of the projects' SAKA figures.
- ``heartbeat`` (beat, every 30 s): the workers' heartbeat (beat's is written when beat
  publishes it: ``saka.jobs.heartbeat``).
- ``alerts_check`` (beat, every 5 minutes) and ``books_reconcile`` (beat, nightly): the
  alerts' checks (``saka.jobs.alerts``).
- ``economy_snapshot`` (beat, every 15 minutes, and after each compost or redistribution
  task's run): the staff dashboard's snapshot (``saka.grains.economy``).

The engine owns its transactions (one short transaction per chunk), so a task never opens
one: a retry always starts outside any aborted transaction. A lock timeout or a conflict while
opening a run is retried with exponential backoff; any other error fails the task (the run
row keeps the error, and ``runs_resume`` sends workers again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import shared_task
from django.utils import timezone

from saka.core.clock import parse_instant
from saka.core.db import lock_errors_typed
from saka.core.errors import LockTimeout, ValidationError
from saka.engine import lifecycle as engine
from saka.engine.errors import RunConflict
from saka.engine.models import RunStatus
from saka.engine.spec import RunSpec
from saka.euro.accounts import euro_rollup
from saka.euro.selectors import settlement_summary
from saka.euro.settlement import SETTLEMENT, settlement_open
from saka.grains.economy import economy_snapshot_refresh
from saka.grains.models import Run, RunKind, RunTrigger
from saka.grains.runs.chunks import DEFAULT_CHUNK_SIZE
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.lifecycle import earlier_unfinished, open_live, validate_start
from saka.grains.runs.periods import period_of
from saka.grains.runs.redistribution import redistribution_run_start
from saka.grains.selectors import run_summary
from saka.jobs.alerts import alerts_check as alerts_check_all
from saka.jobs.alerts import books_check
from saka.jobs.enqueue import run_workers_enqueue
from saka.jobs.heartbeat import WORKER_KEY, heartbeat_record
from saka.jobs.runs import SPEC_OF_KIND, SPECS, workers
from saka.jobs.schedule import (
    ALERTS_TASK,
    COMPOST_TASK,
    ECONOMY_SNAPSHOT_TASK,
    HEARTBEAT_TASK,
    RECONCILE_TASK,
    REDISTRIBUTION_TASK,
    RESUME_TASK,
    ROLLUP_TASK,
    RUN_WORK_TASK,
    SETTLEMENT_TASK,
)
from saka.projects.services import project_scores_rollup

logger = logging.getLogger("saka.jobs")

TASK_OF_KIND = {
    RunKind.COMPOST.value: COMPOST_TASK,
    RunKind.REDISTRIBUTION.value: REDISTRIBUTION_TASK,
}

RETRY_ON = (LockTimeout, RunConflict)
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


def share(spec: RunSpec, run_id: int) -> Any:
    """Send the other workers to a run, then work on it here until it is done."""
    run_workers_enqueue(spec=spec.name, run_id=run_id, count=workers() - 1)
    return engine.drive(spec, run_id)


def _check(*, as_of: str | None, dry_run: bool, trigger: str) -> None:
    if trigger not in RunTrigger.values:
        raise ValidationError(f"Unknown trigger {trigger!r}.", field="trigger")
    if not isinstance(dry_run, bool):
        raise ValidationError("dry_run must be a boolean.", field="dry_run")
    if as_of is not None and not isinstance(as_of, str):
        raise ValidationError("as_of must be an ISO 8601 string.", field="as_of")


def _run(
    kind: str,
    dry: Callable[..., Run],
    *,
    as_of: str | None,
    dry_run: bool,
    trigger: str,
    triggered_by_id: int | None,
) -> dict[str, Any]:
    _check(as_of=as_of, dry_run=dry_run, trigger=trigger)
    at = None if as_of is None else parse_instant(as_of)
    # A row lock not granted within lock_timeout, retries exhausted: retryable.
    with lock_errors_typed():
        if dry_run:
            return run_summary(
                dry(as_of=at, dry_run=True, trigger=trigger, triggered_by_id=triggered_by_id)
            )
        spec = SPEC_OF_KIND[kind]
        at = validate_start(at, DEFAULT_CHUNK_SIZE, None)
        while (earlier := earlier_unfinished(kind, period_of(kind, at))) is not None:
            logger.warning("%s %s is unfinished: finishing it first", kind, earlier.period)
            share(spec, earlier.pk)
        run, _ = open_live(
            spec,
            kind=kind,
            at=at,
            trigger=trigger,
            triggered_by_id=triggered_by_id,
            chunk_size=DEFAULT_CHUNK_SIZE,
        )
        if run.status != RunStatus.DONE:
            run = share(spec, run.pk)
            _snapshot_after_run(run)
    return run_summary(run)


def _snapshot_after_run(run: Run) -> None:
    """The dashboard's snapshot after a run this task finished (balances moved). Its failure
    is logged, never the run's: the beat entry takes the next one."""
    if run.status != RunStatus.DONE:
        return
    try:
        economy_snapshot_refresh()
    except Exception:
        logger.exception("economy snapshot after run %s failed", run.pk)


@shared_task(name=COMPOST_TASK, **RUN_TASK_OPTIONS)
def compost_run(
    self: Any,
    *,
    as_of: str | None = None,
    dry_run: bool = False,
    trigger: str = RunTrigger.BEAT.value,
    triggered_by_id: int | None = None,
) -> dict[str, Any]:
    """Compost of ``as_of``'s ISO week (default: now), after any earlier unfinished compost;
    resumes it, or returns it when finished."""
    logger.info("compost task %s (attempt %s)", self.request.id, self.request.retries + 1)
    return _run(
        RunKind.COMPOST,
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
    """Redistribution of ``as_of``'s month (default: now), after any earlier unfinished one;
    resumes it, or returns it when finished."""
    logger.info("redistribution task %s (attempt %s)", self.request.id, self.request.retries + 1)
    return _run(
        RunKind.REDISTRIBUTION,
        redistribution_run_start,
        as_of=as_of,
        dry_run=dry_run,
        trigger=trigger,
        triggered_by_id=triggered_by_id,
    )


@shared_task(name=RUN_WORK_TASK, **RUN_TASK_OPTIONS)
def run_work(self: Any, *, spec: str, run_id: int) -> dict[str, Any]:
    """Join run ``run_id`` of kind ``spec`` and work on it until it is done."""
    if spec not in SPECS:
        raise ValidationError(f"Unknown run kind {spec!r}.", field="spec")
    logger.info("worker task %s joins %s run %s", self.request.id, spec, run_id)
    with lock_errors_typed():
        run = engine.drive(SPECS[spec], run_id)
    return {"spec": spec, "run_id": run.pk, "status": run.status, "outcome": run.outcome}


@shared_task(name=RESUME_TASK, bind=True)
def runs_resume(self: Any) -> list[dict[str, Any]]:
    """Send workers to every interrupted or stalled run, of any kind and period."""
    resumed = []
    for name, spec in SPECS.items():
        for run in engine.stalled(spec):
            logger.warning("%s run %s is %s: resuming it", name, run.pk, run.status)
            engine.resume(spec, run.pk)
            run_workers_enqueue(spec=name, run_id=run.pk, count=workers())
            resumed.append({"spec": name, "run_id": run.pk})
    return resumed


@shared_task(name=ROLLUP_TASK)
def ledger_rollup() -> dict[str, int]:
    """Fold pending credits and boosts into the cached figures (each in its own short
    transaction). A lock timeout (another rollup holds the rows) is left to the next beat."""
    folded = {"eur": 0, "projects": 0}
    try:
        folded["eur"] = euro_rollup()
        folded["projects"] = project_scores_rollup()
    except LockTimeout:
        logger.warning("ledger rollup skipped: another rollup holds the rows")
    return folded


@shared_task(name=HEARTBEAT_TASK)
def heartbeat() -> None:
    """A worker is alive and takes tasks (beat's sighting is recorded when it sends this)."""
    heartbeat_record(WORKER_KEY)


@shared_task(name=ALERTS_TASK)
def alerts_check() -> dict[str, str]:
    """The alerts' frequent checks (compost overdue or empty, stalled runs, the broker)."""
    return alerts_check_all(at=timezone.now())


@shared_task(name=RECONCILE_TASK)
def books_reconcile() -> str:
    """Reconcile the books; a discrepancy raises the ``books_discrepancy`` alert."""
    return books_check(at=timezone.now())


@shared_task(name=ECONOMY_SNAPSHOT_TASK)
def economy_snapshot() -> dict[str, Any]:
    """Take the staff dashboard's snapshot of the SAKA economy (reads, then one insert)."""
    snapshot = economy_snapshot_refresh()
    return {"id": snapshot.pk, "at": snapshot.at.isoformat(), "duration_ms": snapshot.duration_ms}


# --- campaign settlement ------------------------------------------------------------------------


@shared_task(name=SETTLEMENT_TASK, **RUN_TASK_OPTIONS)
def settlement_run(
    self: Any,
    *,
    campaign_id: int,
    as_of: str | None = None,
    trigger: str = RunTrigger.PYTHON.value,
    triggered_by_id: int | None = None,
    chunk_size: int | None = None,
) -> dict[str, Any]:
    """Settle a closed campaign: open its settlement (or find it: a finished one is returned
    as it is), send ``SAKA_RUN_WORKERS - 1`` ``run_work`` workers to it and work on it here."""
    logger.info(
        "settlement task %s of campaign %s (attempt %s)",
        self.request.id,
        campaign_id,
        self.request.retries + 1,
    )
    for name, value in (("campaign_id", campaign_id), ("triggered_by_id", triggered_by_id)):
        if isinstance(value, bool) or not isinstance(value, int | None):
            raise ValidationError(f"{name} must be an integer.", field=name)
    _check(as_of=as_of, dry_run=False, trigger=trigger)
    with lock_errors_typed():
        run, _ = settlement_open(
            campaign_id=campaign_id,
            as_of=None if as_of is None else parse_instant(as_of),
            trigger=trigger,
            triggered_by_id=triggered_by_id,
            chunk_size=chunk_size,
        )
        if run.status != RunStatus.DONE:
            run = share(SETTLEMENT, run.pk)
    return settlement_summary(run)
