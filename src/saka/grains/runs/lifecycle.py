"""The lifecycle of a run: validate a start, claim the live run of a period under the kind's
lease, do its work, finish it or record the interruption; record and finish a dry run.

A run is a row (:class:`~saka.grains.models.Run`). Live runs are unique per kind and period
(ISO week for compost, month for redistribution); a run that is interrupted is resumed by the
next start of its period, a finished one is returned as it is. A dry run computes what a live
run at the same ``as_of`` would do and writes only its own record.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Max

from saka.core.clock import as_of_or_now, now
from saka.core.db import AdvisoryNamespace, advisory_lease
from saka.core.errors import ValidationError
from saka.grains.conf import get_settings
from saka.grains.errors import RunInProgress, SakaDisabled
from saka.grains.models import AccountKind, Run, RunKind, RunStatus, SakaAccount
from saka.grains.runs.chunks import MAX_WORKERS
from saka.grains.runs.periods import period_of, run_parameters

logger = logging.getLogger("saka.runs")
# A live run's work: it does the run's chunks and returns the outcome.
LiveWork = Callable[[Run], str]
# A dry run's work: the outcome and the figures to record, computed without writing.
DryWork = Callable[[Run], tuple[str, dict[str, Any]]]


# --- claiming a run ---------------------------------------------------------------------------

_KIND_KEYS = {RunKind.COMPOST: 1, RunKind.REDISTRIBUTION: 2}


def _kind_lease(kind: str) -> AbstractContextManager[None]:
    """One executing live run per kind across processes (released on exit or when the
    process dies)."""
    return advisory_lease(
        AdvisoryNamespace.GRAINS_RUN_KIND,
        _KIND_KEYS[RunKind(kind)],
        busy=lambda: RunInProgress(kind=kind),
    )


def _claim(
    *, kind: str, as_of: datetime, trigger: str, triggered_by_id: int | None, chunk_size: int
) -> tuple[Run, bool]:
    """The live run of ``as_of``'s period: ``(run, finished)``; created when there is none."""
    period = period_of(kind, as_of)
    existing = Run.objects.filter(kind=kind, period=period, dry_run=False).first()
    if existing is not None:
        if existing.status == RunStatus.DONE:
            return existing, True
        Run.objects.filter(pk=existing.pk).update(
            status=RunStatus.RUNNING, attempts=F("attempts") + 1, updated_at=now()
        )
        existing.refresh_from_db()
        logger.info(
            "run %s %s resumes: %s of %s chunks done",
            kind,
            period,
            existing.chunks_done,
            existing.chunks_total,
        )
        return existing, False
    cfg = get_settings()
    max_id = SakaAccount.objects.filter(kind=AccountKind.WALLET).aggregate(m=Max("id"))["m"] or 0
    try:
        with transaction.atomic():
            run = Run.objects.create(
                kind=kind,
                period=period,
                as_of=as_of,
                parameters=run_parameters(kind, cfg),
                trigger=trigger,
                triggered_by_id=triggered_by_id,
                chunk_size=chunk_size,
                max_id=max_id,
            )
    except IntegrityError:
        return _claim(
            kind=kind,
            as_of=as_of,
            trigger=trigger,
            triggered_by_id=triggered_by_id,
            chunk_size=chunk_size,
        )
    return run, False


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


def _finish(run: Run, *, outcome: str, started: float, **fields: Any) -> Run:
    done_at = now()
    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.DONE,
        outcome=outcome,
        finished_at=done_at,
        updated_at=done_at,
        duration_ms=(run.duration_ms or 0) + int((time.monotonic() - started) * 1000),
        error="",
        **fields,
    )
    run.refresh_from_db()
    logger.info(
        "run %s %s%s done: %s, %s wallets, %s grains, %s chunks, %s ms",
        run.kind,
        run.period,
        " (dry)" if run.dry_run else "",
        outcome,
        run.wallets_done,
        run.amount_done,
        run.chunks_done,
        run.duration_ms,
    )
    return run


def _interrupted(run: Run, exc: BaseException, started: float) -> None:
    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.INTERRUPTED,
        error=f"{type(exc).__name__}: {exc}"[:2000],
        updated_at=now(),
        duration_ms=(run.duration_ms or 0) + int((time.monotonic() - started) * 1000),
    )


# --- live and dry runs -----------------------------------------------------------------------


def run_live(
    kind: str,
    at: datetime,
    trigger: str,
    triggered_by_id: int | None,
    chunk_size: int,
    work: LiveWork,
) -> Run:
    """Claim the live run of ``at``'s period (or return it when done), do ``work`` (it returns
    the outcome), record an interruption on any error, finish."""
    with _kind_lease(kind):
        run, finished = _claim(
            kind=kind,
            as_of=at,
            trigger=trigger,
            triggered_by_id=triggered_by_id,
            chunk_size=chunk_size,
        )
        if finished:
            return run
        started = time.monotonic()
        try:
            outcome = work(run)
        except BaseException as exc:
            _interrupted(run, exc, started)
            raise
        return _finish(run, outcome=outcome, started=started)


def run_dry(
    kind: str,
    at: datetime,
    trigger: str,
    triggered_by_id: int | None,
    chunk_size: int,
    work: DryWork,
) -> Run:
    """Record a dry run of ``kind`` at ``at`` over every wallet, do ``work`` (it computes the
    outcome and figures, writing nothing), finish it with them."""
    started = time.monotonic()
    max_id = SakaAccount.objects.filter(kind=AccountKind.WALLET).aggregate(m=Max("id"))["m"] or 0
    run = Run.objects.create(
        kind=kind,
        period=period_of(kind, at),
        dry_run=True,
        as_of=at,
        parameters=run_parameters(kind, get_settings()),
        trigger=trigger,
        triggered_by_id=triggered_by_id,
        chunk_size=chunk_size,
        max_id=max_id,
        cursor=max_id,
    )
    outcome, fields = work(run)
    return _finish(run, outcome=outcome, started=started, **fields)
