"""Compost and redistribution runs: exact, exactly-once, resumable, set-based.

A run is a row (:class:`~saka.grains.models.Run`). Live runs are unique per kind and period
(ISO week for compost, month for redistribution). The work goes by primary-key range in
chunks, each chunk one short transaction that also advances the run's cursor, so a run that
is killed resumes where it stopped; the unique (run, wallet) key on postings makes a second
application to a wallet impossible. No lock is held across chunks.

PostgreSQL does each chunk in one statement (``sql/``); SQLite does the same work with a few
simple statements inside its exclusive write transaction (correct, not fast).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max

from saka.core.clock import check_instant_range, ensure_aware, now
from saka.core.errors import ValidationError
from saka.core.money import floor_share
from saka.grains import sql
from saka.grains.books import SAKA_BOOK
from saka.grains.conf import SakaSettings, get_settings
from saka.grains.errors import RunInProgress, SakaDisabled
from saka.grains.lock_objects import system_account_id
from saka.grains.models import (
    AccountKind,
    EntryKind,
    Run,
    RunKind,
    RunStatus,
    RunTrigger,
    SakaAccount,
    SakaEntry,
    SakaPosting,
)
from saka.ledger.services import entry_post
from saka.ledger.transactions import durable, lock_rows

logger = logging.getLogger("saka.runs")

DEFAULT_CHUNK_SIZE = 10_000
Progress = Callable[[Run], None]


# --- periods and parameters -----------------------------------------------------------------


def period_of(kind: str, as_of: datetime) -> str:
    """Compost: ISO week (``2026-W48``); redistribution: month (``2026-11``), in UTC."""
    utc = ensure_aware(as_of).astimezone(UTC)
    if kind == RunKind.COMPOST:
        year, week, _ = utc.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{utc.year}-{utc.month:02d}"


def _parameters(kind: str, cfg: SakaSettings) -> dict[str, Any]:
    if kind == RunKind.COMPOST:
        return {
            "inactivity_days": cfg.compost_inactivity_days,
            "rate": str(cfg.compost_rate),
            "min_balance": cfg.compost_min_balance,
            "min_amount": cfg.compost_min_amount,
        }
    return {
        "rate": str(cfg.redistribution_rate),
        "min_harvested": cfg.redistribution_min_harvested,
        "active_days": cfg.redistribution_active_days,
    }


def _db_time(value: datetime) -> Any:
    """A datetime as the backend stores it (raw SQL parameters compare like the ORM's)."""
    return connection.ops.adapt_datetimefield_value(value)


def _compost_params(run: Run) -> dict[str, Any]:
    p = run.parameters
    cutoff = run.as_of - timedelta(days=int(p["inactivity_days"]))
    return {
        "rate": Decimal(p["rate"]),
        "min_balance": int(p["min_balance"]),
        "min_amount": int(p["min_amount"]),
        "cutoff": _db_time(cutoff),
        "as_of": _db_time(run.as_of),
        "run": run.pk,
    }


def _redistribution_params(run: Run) -> dict[str, Any]:
    p = run.parameters
    cutoff = run.as_of - timedelta(days=int(p["active_days"]))
    return {
        "min_harvested": int(p["min_harvested"]),
        "active_cutoff": _db_time(cutoff),
        "as_of": _db_time(run.as_of),
        "run": run.pk,
    }


def _activity_condition(run: Run) -> bool:
    return int(run.parameters["active_days"]) > 0


def _fetch(query: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return list(cursor.fetchall())


# --- claiming a run ---------------------------------------------------------------------------

_ADVISORY_NAMESPACE = 52_11  # fixed namespace of SAKA's advisory locks
_KIND_KEYS = {RunKind.COMPOST: 1, RunKind.REDISTRIBUTION: 2}


@contextmanager
def _kind_lease(kind: str) -> Iterator[None]:
    """One executing live run per kind across processes (PostgreSQL session advisory lock,
    released on exit or when the process dies). SQLite runs are single-process."""
    if connection.vendor != "postgresql":
        yield
        return
    key = _KIND_KEYS[RunKind(kind)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_ADVISORY_NAMESPACE, key])
        (acquired,) = cursor.fetchone()
    if not acquired:
        raise RunInProgress(kind=kind)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_ADVISORY_NAMESPACE, key])


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
        logger.info("run %s %s resumes at cursor %s", kind, period, existing.cursor)
        return existing, False
    cfg = get_settings()
    max_id = SakaAccount.objects.filter(kind=AccountKind.WALLET).aggregate(m=Max("id"))["m"] or 0
    try:
        with transaction.atomic():
            run = Run.objects.create(
                kind=kind,
                period=period,
                as_of=as_of,
                parameters=_parameters(kind, cfg),
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


def _validate(as_of: datetime | None, chunk_size: int) -> datetime:
    if not get_settings().enabled:
        raise SakaDisabled()
    if as_of is not None:
        check_instant_range(ensure_aware(as_of))
    if (
        isinstance(chunk_size, bool)
        or not isinstance(chunk_size, int)
        or not 1 <= chunk_size <= 1_000_000
    ):
        raise ValidationError("chunk_size must be an integer in 1..1000000.", field="chunk_size")
    return ensure_aware(as_of or now())


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


def _async_commit() -> None:
    """A chunk need not wait for its WAL flush: it commits together with its cursor, so a chunk
    lost in a server crash is lost with its cursor advance and done again on resume; any later
    synchronous commit (a member's) flushes it first. Saves one fsync per chunk."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _chunks(run: Run, progress: Progress | None, do_chunk: Callable[[int, int], None]) -> None:
    lo = run.cursor
    while lo < run.max_id:
        hi = min(lo + run.chunk_size, run.max_id)
        t0 = time.monotonic()
        # durable: a run is never part of a caller's transaction (each chunk commits alone)
        with durable():
            _async_commit()
            do_chunk(lo, hi)
        run.refresh_from_db(fields=["cursor", "chunks_done", "wallets_done", "amount_done"])
        logger.debug(
            "run %s chunk (%s, %s]: %.1f ms, %s wallets so far",
            run.pk,
            lo,
            hi,
            (time.monotonic() - t0) * 1000,
            run.wallets_done,
        )
        if progress is not None:
            progress(run)
        lo = hi


def _run_live(
    kind: str,
    at: datetime,
    trigger: str,
    triggered_by_id: int | None,
    chunk_size: int,
    work: Callable[[Run], str],
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


# --- compost ----------------------------------------------------------------------------------


def _compost_chunk(run: Run, lo: int, hi: int, silo_id: int) -> None:
    params = {**_compost_params(run), "lo": lo, "hi": hi, "silo": silo_id, "now": _db_time(now())}
    if connection.vendor == "postgresql":
        _fetch(sql.COMPOST_CHUNK_PG, params)
        return
    rate = params["rate"]
    rows = [
        (acc_id, floor_share(int(balance), rate))
        for acc_id, balance in _fetch(sql.COMPOST_SELECT, params)
    ]
    rows = [(acc_id, amount) for acc_id, amount in rows if amount >= params["min_amount"]]
    total = sum(amount for _, amount in rows)
    if rows:
        entry = SakaEntry.objects.create(
            kind=EntryKind.COMPOST, amount=total, run_id=run.pk, created_at=run.as_of
        )
        SakaPosting.objects.bulk_create(
            [
                SakaPosting(entry_id=entry.pk, account_id=a, amount=-x, run_id=run.pk)
                for a, x in rows
            ]
            + [SakaPosting(entry_id=entry.pk, account_id=silo_id, amount=total)]
        )
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE grains_account SET balance = balance - %s, last_compost_amount = %s, "
                "lifetime_composted = lifetime_composted + %s, last_composted_at = %s "
                "WHERE id = %s",
                [(x, x, x, params["as_of"], a) for a, x in rows],
            )
        SakaAccount.objects.filter(pk=silo_id).update(balance=F("balance") + total)
    Run.objects.filter(pk=run.pk).update(
        cursor=hi,
        chunks_done=F("chunks_done") + 1,
        wallets_done=F("wallets_done") + len(rows),
        amount_done=F("amount_done") + total,
        updated_at=now(),
    )


def _compost_dry(run: Run) -> tuple[int, int]:
    params = {**_compost_params(run), "lo": 0, "hi": run.max_id}
    if connection.vendor == "postgresql":
        count, total = _fetch(sql.COMPOST_DRY_PG, params)[0]
        return int(count), int(total)
    amounts = [floor_share(int(b), params["rate"]) for _, b in _fetch(sql.COMPOST_SELECT, params)]
    kept = [a for a in amounts if a >= params["min_amount"]]
    return len(kept), sum(kept)


def compost_run_start(
    *,
    as_of: datetime | None = None,
    dry_run: bool = False,
    trigger: str = RunTrigger.PYTHON,
    triggered_by_id: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | None = None,
) -> Run:
    """Run (or resume, or return the finished) compost of ``as_of``'s ISO week.

    A dry run computes exactly what a live run at the same ``as_of`` would do and writes
    only its run record. Raises ``RunInProgress`` when another process executes the run.
    """
    at = _validate(as_of, chunk_size)
    if dry_run:
        return _dry_run(RunKind.COMPOST, at, trigger, triggered_by_id, chunk_size)

    def work(run: Run) -> str:
        silo_id = system_account_id(AccountKind.SILO)
        _chunks(run, progress, lambda lo, hi: _compost_chunk(run, lo, hi, silo_id))
        return "completed" if run.wallets_done else "nothing_to_compost"

    return _run_live(RunKind.COMPOST, at, trigger, triggered_by_id, chunk_size, work)


# --- redistribution ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RedistributionPlan:
    silo_before: int
    pot: int
    eligible: int
    per_wallet: int
    reason: str  # "" when there is something to redistribute

    @property
    def total(self) -> int:
        return self.per_wallet * self.eligible


def _reason(*, pot: int, eligible: int, per_wallet: int) -> str:
    """Why a redistribution does nothing ("" when it does something)."""
    if pot <= 0:
        return "nothing_to_redistribute"
    if eligible == 0:
        return "no_eligible_wallets"
    if per_wallet == 0:
        return "share_rounds_to_zero"
    return ""


def _plan(run: Run, silo_balance: int, *, freeze: bool) -> RedistributionPlan:
    """pot, count and share at ``run.as_of``. With ``freeze`` (live runs, inside the prepare
    transaction) the counted wallets are written as the run's targets: the count *is* the
    number of rows frozen, and chunks credit exactly those rows."""
    rate = Decimal(run.parameters["rate"])
    pot = floor_share(silo_balance, rate)
    params = {**_redistribution_params(run), "lo": 0, "hi": run.max_id}
    cond = _activity_condition(run)
    if freeze and pot > 0:
        with connection.cursor() as cursor:
            cursor.execute(sql.redistribution_freeze(activity_condition=cond), params)
            count = int(cursor.rowcount)
    else:
        count = int(_fetch(sql.redistribution_count(activity_condition=cond), params)[0][0])
    per = pot // count if count else 0
    return RedistributionPlan(
        silo_before=silo_balance,
        pot=pot,
        eligible=count,
        per_wallet=per,
        reason=_reason(pot=pot, eligible=count, per_wallet=per),
    )


def _stored_plan(run: Run) -> RedistributionPlan:
    """The plan a previous attempt froze (resume)."""
    pot, eligible, per = int(run.pot or 0), int(run.eligible_wallets or 0), int(run.per_wallet or 0)
    return RedistributionPlan(
        silo_before=int(run.silo_before or 0),
        pot=pot,
        eligible=eligible,
        per_wallet=per,
        reason=_reason(pot=pot, eligible=eligible, per_wallet=per),
    )


def _redistribution_prepare(run: Run) -> RedistributionPlan:
    """Once per run: freeze the plan and move the pot from the silo to the pool."""
    silo_id = system_account_id(AccountKind.SILO)
    pool_id = system_account_id(AccountKind.POOL)
    with durable():
        (silo,) = lock_rows(SakaAccount.objects.filter(pk=silo_id))
        plan = _plan(run, silo.balance, freeze=True)
        fields: dict[str, Any] = {
            "silo_before": plan.silo_before,
            "pot": plan.pot,
            "eligible_wallets": plan.eligible,
            "per_wallet": plan.per_wallet,
            "silo_after": plan.silo_before - plan.total,
        }
        if not plan.reason:
            entry_post(
                book=SAKA_BOOK,
                entry=SakaEntry(
                    kind=EntryKind.REDISTRIBUTION,
                    reason="pot",
                    amount=plan.total,
                    run_id=run.pk,
                    created_at=run.as_of,
                ),
                postings=[(silo_id, -plan.total), (pool_id, plan.total)],
            )
        Run.objects.filter(pk=run.pk).update(updated_at=now(), **fields)
    run.refresh_from_db()
    return plan


def _redistribution_chunk(run: Run, lo: int, hi: int, pool_id: int) -> None:
    per = int(run.per_wallet or 0)
    params = {
        "run": run.pk,
        "as_of": _db_time(run.as_of),
        "lo": lo,
        "hi": hi,
        "per": per,
        "pool": pool_id,
        "now": _db_time(now()),
    }
    if connection.vendor == "postgresql":
        _fetch(sql.REDISTRIBUTION_CHUNK_PG, params)
        return
    ids = [row[0] for row in _fetch(sql.REDISTRIBUTION_TARGETS, params)]
    total = per * len(ids)
    if ids:
        entry = SakaEntry.objects.create(
            kind=EntryKind.REDISTRIBUTION, amount=total, run_id=run.pk, created_at=run.as_of
        )
        SakaPosting.objects.bulk_create(
            [SakaPosting(entry_id=entry.pk, account_id=a, amount=per, run_id=run.pk) for a in ids]
            + [SakaPosting(entry_id=entry.pk, account_id=pool_id, amount=-total)]
        )
        SakaAccount.objects.filter(pk__in=ids).update(
            balance=F("balance") + per, lifetime_redistributed=F("lifetime_redistributed") + per
        )
        SakaAccount.objects.filter(pk=pool_id).update(balance=F("balance") - total)
    Run.objects.filter(pk=run.pk).update(
        cursor=hi,
        chunks_done=F("chunks_done") + 1,
        wallets_done=F("wallets_done") + len(ids),
        amount_done=F("amount_done") + total,
        updated_at=now(),
    )


def _redistribution_settle(run: Run) -> str:
    """After the last chunk: anything not credited (only if a counted wallet vanished) goes
    back from the pool to the silo, booked; the outcome says so."""
    leftover = int(run.per_wallet or 0) * (int(run.eligible_wallets or 0) - run.wallets_done)
    if leftover == 0:
        return "completed"
    logger.error(
        "run %s credited %s of %s counted wallets", run.pk, run.wallets_done, run.eligible_wallets
    )
    with durable():
        # idempotent: a crash between this commit and the run's finish must not return twice
        if SakaEntry.objects.filter(run_id=run.pk, reason="pot_return").exists():
            return "completed_with_return"
        entry_post(
            book=SAKA_BOOK,
            entry=SakaEntry(
                kind=EntryKind.REDISTRIBUTION,
                reason="pot_return",
                amount=leftover,
                run_id=run.pk,
                created_at=run.as_of,
            ),
            postings=[
                (system_account_id(AccountKind.POOL), -leftover),
                (system_account_id(AccountKind.SILO), leftover),
            ],
        )
    return "completed_with_return"


def redistribution_run_start(
    *,
    as_of: datetime | None = None,
    dry_run: bool = False,
    trigger: str = RunTrigger.PYTHON,
    triggered_by_id: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | None = None,
) -> Run:
    """Run (or resume, or return the finished) redistribution of ``as_of``'s month.

    pot = floor(silo x rate); the eligible set is frozen at ``as_of``; each eligible wallet
    gets pot // count, the remainder stays in the silo. ``Run.outcome`` names why nothing
    happened when nothing did.
    """
    at = _validate(as_of, chunk_size)
    if dry_run:
        return _dry_run(RunKind.REDISTRIBUTION, at, trigger, triggered_by_id, chunk_size)

    def work(run: Run) -> str:
        # the plan is frozen once; a resumed run keeps it, including "nothing to do"
        plan = _redistribution_prepare(run) if run.per_wallet is None else _stored_plan(run)
        if plan.reason:
            return plan.reason
        pool_id = system_account_id(AccountKind.POOL)
        _chunks(run, progress, lambda lo, hi: _redistribution_chunk(run, lo, hi, pool_id))
        return _redistribution_settle(run)

    return _run_live(RunKind.REDISTRIBUTION, at, trigger, triggered_by_id, chunk_size, work)


# --- dry runs ---------------------------------------------------------------------------------


def _dry_run(
    kind: str, at: datetime, trigger: str, triggered_by_id: int | None, chunk_size: int
) -> Run:
    started = time.monotonic()
    max_id = SakaAccount.objects.filter(kind=AccountKind.WALLET).aggregate(m=Max("id"))["m"] or 0
    run = Run.objects.create(
        kind=kind,
        period=period_of(kind, at),
        dry_run=True,
        as_of=at,
        parameters=_parameters(kind, get_settings()),
        trigger=trigger,
        triggered_by_id=triggered_by_id,
        chunk_size=chunk_size,
        max_id=max_id,
        cursor=max_id,
    )
    if kind == RunKind.COMPOST:
        count, total = _compost_dry(run)
        return _finish(
            run,
            outcome="completed" if count else "nothing_to_compost",
            started=started,
            wallets_done=count,
            amount_done=total,
        )
    silo = (
        SakaAccount.objects.filter(kind=AccountKind.SILO).values_list("balance", flat=True).first()
    )
    plan = _plan(run, int(silo or 0), freeze=False)
    credited = 0 if plan.reason else plan.eligible
    return _finish(
        run,
        outcome=plan.reason or "completed",
        started=started,
        silo_before=plan.silo_before,
        pot=plan.pot,
        eligible_wallets=plan.eligible,
        per_wallet=plan.per_wallet,
        silo_after=plan.silo_before - (0 if plan.reason else plan.total),
        wallets_done=credited,
        amount_done=0 if plan.reason else plan.total,
    )
