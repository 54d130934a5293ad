"""The lifecycle of a SAKA run on the batch engine: validate a start, open the live run of a
period (after any earlier unfinished run of the kind), drive it; record a dry run.

A run is a row (:class:`~saka.grains.models.Run`). Live runs are unique per kind and period
(ISO week for compost, month for redistribution), and a kind has at most one unfinished live
run: a new period's run waits until the earlier one is finished -- resumed, never skipped, or
its members would never be paid. A finished run is returned as it is. A dry run computes what
a live run at the same ``as_of`` would do and writes only its own record.

A run (live or dry) is linked to the season whose ``[starts_at, ends_at)`` contains its
``as_of`` -- the season it is about, not the one active when it is started: a run resumed or
replayed later, or started for a past instant, still counts in its own season.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max

from saka.audit.services import audit_record, staff_require
from saka.core.clock import as_of_or_now, now
from saka.core.errors import ValidationError
from saka.engine import lifecycle as engine
from saka.engine.models import UNFINISHED
from saka.engine.spec import RunSpec
from saka.grains.accounts import system_account_id
from saka.grains.conf import get_settings
from saka.grains.errors import SakaDisabled
from saka.grains.models import AccountKind, Run, RunStatus, SakaAccount
from saka.grains.policy import policy_current
from saka.grains.runs.chunks import MAX_WORKERS
from saka.grains.runs.periods import period_of, run_parameters
from saka.grains.seasons.selectors import season_id_at

logger = logging.getLogger("saka.runs")
DRY_ACTION = "saka.run.dry"
LIVE_ACTION = "saka.run.live"
Progress = Callable[[Run], None]
# A dry run's work: the outcome and the figures to record, computed without writing.
DryWork = Callable[[Run], tuple[str, dict[str, Any]]]


def _check_int(value: Any, name: str, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise ValidationError(f"{name} must be an integer in 1..{high}.", field=name)


def validate_start(as_of: datetime | None, chunk_size: int, workers: int | None) -> datetime:
    """The instant of a run being started (now when ``as_of`` is ``None``), once SAKA is on and
    the start's chunk size and workers are in range."""
    if not get_settings().enabled:
        raise SakaDisabled()
    at = as_of_or_now(as_of)
    _check_int(chunk_size, "chunk_size", 1_000_000)
    if workers is not None:
        _check_int(workers, "workers", MAX_WORKERS)
    return at


def _max_wallet_id() -> int:
    found = SakaAccount.objects.filter(kind=AccountKind.WALLET).aggregate(m=Max("id"))["m"]
    return int(found or 0)


def earlier_unfinished(kind: str, period: str) -> Run | None:
    """The unfinished live run of ``kind`` of another period, if any (at most one)."""
    return (
        Run.objects.filter(kind=kind, dry_run=False, status__in=UNFINISHED)
        .exclude(period=period)
        .order_by("as_of")
        .first()
    )


def open_live(
    spec: RunSpec,
    *,
    kind: str,
    at: datetime,
    trigger: str,
    triggered_by_id: int | None,
    chunk_size: int,
    audit_action: str | None = None,
) -> tuple[Run, bool]:
    """The live run of ``at``'s period: ``(run, created)``, created queued when there is none.
    Raises ``EarlierRunUnfinished`` (naming it) while an earlier run of the kind is unfinished.
    With ``audit_action`` (an operator's request, checked by the caller) the opening is
    recorded in the audit trail in the run's own transaction."""
    period = period_of(kind, at)

    def create() -> Run:
        # The silo and the pool exist before any chunk: a chunk never creates an account (a
        # chunk retried after a rollback would book to the id of an account rolled back).
        system_account_id(AccountKind.SILO)
        system_account_id(AccountKind.POOL)
        policy = policy_current(at=at)
        run = Run.objects.create(
            kind=kind,
            period=period,
            as_of=at,
            parameters=run_parameters(kind, policy),
            policy_version_id=policy.version_id,
            trigger=trigger,
            triggered_by_id=engine.known_user_id(triggered_by_id),
            chunk_size=chunk_size,
            max_id=_max_wallet_id(),
            status=RunStatus.QUEUED,
            season_id=season_id_at(at),
        )
        if audit_action is not None:
            audit_record(
                actor_id=run.triggered_by_id,
                action=audit_action,
                target_type="run",
                target_id=run.pk,
                payload={"kind": kind, "period": period, "as_of": at, "trigger": trigger},
            )
        return run

    run, created = engine.open_run(
        spec,
        find=lambda: Run.objects.filter(kind=kind, period=period, dry_run=False).first(),
        create=create,
        earlier=lambda: earlier_unfinished(kind, period),
    )
    return run, created


def run_live(
    spec: RunSpec,
    *,
    kind: str,
    at: datetime,
    trigger: str,
    triggered_by_id: int | None,
    chunk_size: int,
    workers: int | None,
    progress: Progress | None,
) -> Run:
    """In this process: finish any earlier unfinished run of the kind first, then open (or
    find) the live run of ``at``'s period and drive it with ``workers`` threads."""
    threads = workers or get_settings().run_workers
    while (earlier := earlier_unfinished(kind, period_of(kind, at))) is not None:
        logger.warning(
            "run %s %s is unfinished: resuming it before %s", kind, earlier.period, at.isoformat()
        )
        engine.drive(spec, earlier.pk, threads=threads)
    run, _ = open_live(
        spec,
        kind=kind,
        at=at,
        trigger=trigger,
        triggered_by_id=triggered_by_id,
        chunk_size=chunk_size,
    )
    if run.status == RunStatus.DONE:
        return run
    result: Run = engine.drive(spec, run.pk, threads=threads, progress=progress)
    return result


def run_dry(
    kind: str,
    at: datetime,
    trigger: str,
    triggered_by_id: int | None,
    chunk_size: int,
    work: DryWork,
) -> Run:
    """Record a dry run of ``kind`` at ``at`` over every wallet, do ``work`` (it computes the
    outcome and figures, writing nothing), finish it with them. A staff ``triggered_by_id``
    needs ``operate_runs`` (``RoleRequired``); the run's record and its audit record commit
    together."""
    payload = {"kind": kind, "as_of": at, "trigger": trigger, "dry_run": True}
    staff_require(actor_id=triggered_by_id, action=DRY_ACTION, target_type="run", payload=payload)
    started = time.monotonic()
    max_id = _max_wallet_id()
    season = season_id_at(at)
    policy = policy_current(at=at)
    with transaction.atomic():
        run = Run.objects.create(
            kind=kind,
            period=period_of(kind, at),
            dry_run=True,
            as_of=at,
            parameters=run_parameters(kind, policy),
            policy_version_id=policy.version_id,
            trigger=trigger,
            triggered_by_id=engine.known_user_id(triggered_by_id),
            chunk_size=chunk_size,
            max_id=max_id,
            cursor=max_id,
            status=RunStatus.RUNNING,
            season_id=season,
        )
        audit_record(
            actor_id=run.triggered_by_id,
            action=DRY_ACTION,
            target_type="run",
            target_id=run.pk,
            payload=payload,
        )
    outcome, fields = work(run)
    done_at = now()
    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.DONE,
        outcome=outcome,
        finished_at=done_at,
        updated_at=done_at,
        duration_ms=int((time.monotonic() - started) * 1000),
        **fields,
    )
    run.refresh_from_db()
    logger.info(
        "run %s %s (dry) done: %s, %s",
        kind,
        run.period,
        outcome,
        fields,
        extra={
            "event": "run.dry",
            "run": kind,
            "run_id": run.pk,
            "kind": kind,
            "period": run.period,
            "outcome": outcome,
            "duration_ms": run.duration_ms,
            "counts": fields,
        },
    )
    return run
