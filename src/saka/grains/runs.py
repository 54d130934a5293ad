"""Compost and redistribution runs: exact, exactly-once, resumable, set-based.

A run is a row (:class:`~saka.grains.models.Run`). Live runs are unique per kind and period
(ISO week for compost, month for redistribution). The work goes by primary-key range in
chunks, each chunk one short transaction that also records the chunk as done
(:class:`~saka.grains.models.RunChunk`, whose primary key makes a chunk happen at most once),
so a run that is killed resumes with the chunks still pending; the unique (run, wallet) key on
postings makes a second application to a wallet impossible. No lock is held across chunks.

On PostgreSQL each chunk is one statement (``sql/``) and ``workers`` threads, each with its
own connection, take chunks in parallel (disjoint key ranges never wait on each other's
rows). SQLite does the same work one chunk at a time with a few simple statements inside its
exclusive write transaction (correct, not fast).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, connections, transaction
from django.db.models import Count, F, Max, Sum
from django.db.models.functions import Greatest

from saka.core.clock import as_of_or_now, ensure_aware, now
from saka.core.db import AdvisoryNamespace, advisory_lease, durable, lock_rows
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
    RunChunk,
    RunChunkStep,
    RunKind,
    RunStatus,
    RunTrigger,
    SakaAccount,
    SakaEntry,
    SakaPosting,
)
from saka.ledger.posting import entry_post

logger = logging.getLogger("saka.runs")

# A chunk's statement holds its wallets' row locks until it commits: 5,000 ids (about 15 ms
# at 1M wallets) keeps a member who meets a chunk waiting briefly; 10,000 measured a member p99
# of 50-94 ms during a 1M compost with two workers, 5,000 about 35-40 ms, at the same speed.
DEFAULT_CHUNK_SIZE = 5_000
# The redistribution's freeze locks no row (it reads wallets and writes targets), so its
# chunks are this many times larger: fewer statements, the same resumability. Part of every
# run's chunk geometry: changed while a redistribution is interrupted, its resume would
# freeze a range again and fail on the targets' key (an error, nothing booked twice).
FREEZE_CHUNK_FACTOR = 10
MAX_WORKERS = 32
Progress = Callable[[Run], None]
# A chunk's work: (lo, hi] -> (wallets, grains); it runs inside the chunk's transaction.
ChunkWork = Callable[[int, int], tuple[int, int]]


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


def _check_int(value: Any, name: str, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise ValidationError(f"{name} must be an integer in 1..{high}.", field=name)


def _validate(as_of: datetime | None, chunk_size: int, workers: int | None) -> datetime:
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


def _async_commit() -> None:
    """A chunk need not wait for its WAL flush: it commits together with its chunk record, so a
    chunk lost in a server crash is lost with its record and done again on resume; any later
    synchronous commit (a member's) flushes it first. Saves one fsync per chunk."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


# --- chunks: pending, done, in parallel ---------------------------------------------------------


def chunk_ranges(run: Run, step: int) -> list[tuple[int, int]]:
    """Every key range ``(lo, hi]`` of ``step``, in key order: ``(0, size]``, ``(size,
    2 size]``, ... up to ``max_id`` (size: the run's chunk size, times ``FREEZE_CHUNK_FACTOR``
    for the freeze)."""
    size = run.chunk_size * (FREEZE_CHUNK_FACTOR if step == RunChunkStep.FREEZE else 1)
    return [(lo, min(lo + size, run.max_id)) for lo in range(0, run.max_id, size)]


def _pending(run: Run, step: int) -> list[tuple[int, int]]:
    """The key ranges of ``step`` not done yet, in key order."""
    done = set(RunChunk.objects.filter(run_id=run.pk, step=step).values_list("lo", flat=True))
    # a run begun before chunks were recorded advanced only its cursor, in key order
    legacy = run.cursor if step == RunChunkStep.APPLY and not done else 0
    return [(lo, hi) for lo, hi in chunk_ranges(run, step) if lo not in done and hi > legacy]


def _in_parallel(
    ranges: list[tuple[int, int]],
    one: Callable[[int, int], tuple[int, int]],
    workers: int,
    on_done: Callable[[int, int, int], None],
) -> None:
    """``one`` over ``ranges`` in ``workers`` threads (each its own database connection).
    ``on_done(hi, wallets, grains)`` runs in the calling thread. The first error stops the
    other workers after their current chunk (it rolls back, or commits whole) and is raised."""
    todo: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
    for key_range in ranges:
        todo.put(key_range)
    results: queue.SimpleQueue[tuple[int, int, int] | BaseException | None] = queue.SimpleQueue()
    stop = threading.Event()

    def worker() -> None:
        try:
            while not stop.is_set():
                try:
                    lo, hi = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    wallets, grains = one(lo, hi)
                except BaseException as exc:  # handed to the calling thread, raised there
                    stop.set()
                    results.put(exc)
                    return
                results.put((hi, wallets, grains))
        finally:
            connections.close_all()  # this thread's connections
            results.put(None)

    threads = [
        threading.Thread(target=worker, name=f"saka-run-worker-{i}", daemon=True)
        for i in range(min(workers, len(ranges)))
    ]
    for thread in threads:
        thread.start()
    alive, error = len(threads), None
    try:
        while alive:
            result = results.get()
            if result is None:
                alive -= 1
            elif isinstance(result, BaseException):
                error = error or result
            else:
                on_done(*result)
    except BaseException:
        stop.set()
        for thread in threads:
            thread.join()
        raise
    if error is not None:
        raise error


def _chunks(
    run: Run,
    step: int,
    work: ChunkWork,
    *,
    workers: int | None,
    progress: Progress | None = None,
) -> None:
    """Do the pending chunks of ``step``, each in its own transaction; in parallel on
    PostgreSQL when ``workers`` (default ``SAKA_RUN_WORKERS``) > 1, never inside a caller's
    transaction, whose data other connections could not see."""
    ranges = _pending(run, step)
    workers = workers or get_settings().run_workers

    def one(lo: int, hi: int) -> tuple[int, int]:
        t0 = time.monotonic()
        # durable: a run is never part of a caller's transaction (each chunk commits alone)
        with durable():
            _async_commit()
            wallets, grains = work(lo, hi)
        logger.debug(
            "run %s %s chunk (%s, %s]: %.1f ms, %s wallets",
            run.pk,
            RunChunkStep(step).label,
            lo,
            hi,
            (time.monotonic() - t0) * 1000,
            wallets,
        )
        return wallets, grains

    def on_done(hi: int, wallets: int, grains: int) -> None:
        if step != RunChunkStep.APPLY:
            return
        # the row holds the same totals (each chunk adds to it); no read back per chunk
        run.cursor = max(run.cursor, hi)
        run.chunks_done += 1
        run.wallets_done += wallets
        run.amount_done += grains
        if progress is not None:
            progress(run)

    parallel = (
        workers > 1
        and len(ranges) > 1
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
    )
    if parallel:
        _in_parallel(ranges, one, workers, on_done)
    else:
        for lo, hi in ranges:
            on_done(hi, *one(lo, hi))
    run.refresh_from_db()


def _record_chunk(run: Run, step: int, lo: int, hi: int, wallets: int, grains: int) -> None:
    """Portable path: the chunk's record and, for the apply step, the run's totals."""
    RunChunk.objects.create(
        run_id=run.pk, step=step, lo=lo, hi=hi, wallets=wallets, amount=grains, done_at=now()
    )
    if step == RunChunkStep.APPLY:
        Run.objects.filter(pk=run.pk).update(
            cursor=Greatest(F("cursor"), hi),
            chunks_done=F("chunks_done") + 1,
            wallets_done=F("wallets_done") + wallets,
            amount_done=F("amount_done") + grains,
            updated_at=now(),
        )


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


def _compost_chunk(run: Run, lo: int, hi: int, silo_id: int) -> tuple[int, int]:
    params = {**_compost_params(run), "lo": lo, "hi": hi, "silo": silo_id, "now": _db_time(now())}
    if connection.vendor == "postgresql":
        wallets, grains = _fetch(sql.COMPOST_CHUNK_PG, params)[0]
        return int(wallets), int(grains)
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
    _record_chunk(run, RunChunkStep.APPLY, lo, hi, len(rows), total)
    return len(rows), total


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
    workers: int | None = None,
    progress: Progress | None = None,
) -> Run:
    """Run (or resume, or return the finished) compost of ``as_of``'s ISO week.

    A dry run computes exactly what a live run at the same ``as_of`` would do and writes
    only its run record. Raises ``RunInProgress`` when another process executes the run.
    ``workers`` (default ``SAKA_RUN_WORKERS``) threads do the chunks on PostgreSQL.
    """
    at = _validate(as_of, chunk_size, workers)
    if dry_run:
        return _dry_run(RunKind.COMPOST, at, trigger, triggered_by_id, chunk_size)

    def work(run: Run) -> str:
        silo_id = system_account_id(AccountKind.SILO)
        _chunks(
            run,
            RunChunkStep.APPLY,
            lambda lo, hi: _compost_chunk(run, lo, hi, silo_id),
            workers=workers,
            progress=progress,
        )
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


def _plan(run: Run, silo_balance: int, count: int) -> RedistributionPlan:
    """pot and share at ``run.as_of`` for ``count`` eligible wallets."""
    rate = Decimal(run.parameters["rate"])
    pot = floor_share(silo_balance, rate)
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


def _freeze_chunk(run: Run, lo: int, hi: int) -> tuple[int, int]:
    """Write the chunk's eligible wallets as the run's targets, and the chunk as frozen."""
    params = {**_redistribution_params(run), "lo": lo, "hi": hi, "now": _db_time(now())}
    cond = _activity_condition(run)
    if connection.vendor == "postgresql":
        (frozen,) = _fetch(sql.redistribution_freeze(activity_condition=cond), params)[0]
        return int(frozen), 0
    with connection.cursor() as cursor:
        cursor.execute(sql.redistribution_freeze_portable(activity_condition=cond), params)
        frozen = int(cursor.rowcount)
    _record_chunk(run, RunChunkStep.FREEZE, lo, hi, frozen, 0)
    return frozen, 0


def _frozen_count(run: Run) -> int:
    """The targets of a completely frozen run (each freeze chunk recorded its count in the
    transaction that wrote its targets)."""
    chunks = RunChunk.objects.filter(run_id=run.pk, step=RunChunkStep.FREEZE)
    agg = chunks.aggregate(n=Count("lo"), wallets=Sum("wallets"))
    total = len(chunk_ranges(run, RunChunkStep.FREEZE))
    if agg["n"] != total:  # never: prepare runs after every freeze chunk
        raise RuntimeError(f"run {run.pk}: {agg['n']} of {total} chunks frozen")
    return int(agg["wallets"] or 0)


def _redistribution_prepare(run: Run) -> RedistributionPlan:
    """Once per run, after the freeze: count the targets, fix the share and move the pot from
    the silo to the pool."""
    silo_id = system_account_id(AccountKind.SILO)
    pool_id = system_account_id(AccountKind.POOL)
    with durable():
        (silo,) = lock_rows(SakaAccount.objects.filter(pk=silo_id))
        plan = _plan(run, silo.balance, _frozen_count(run))
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


def _redistribution_chunk(run: Run, lo: int, hi: int, pool_id: int) -> tuple[int, int]:
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
        wallets, grains = _fetch(sql.REDISTRIBUTION_CHUNK_PG, params)[0]
        return int(wallets), int(grains)
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
    _record_chunk(run, RunChunkStep.APPLY, lo, hi, len(ids), total)
    return len(ids), total


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
    workers: int | None = None,
    progress: Progress | None = None,
) -> Run:
    """Run (or resume, or return the finished) redistribution of ``as_of``'s month.

    pot = floor(silo x rate); the eligible set is frozen at ``as_of`` (chunk by chunk, in
    parallel like the credits); each eligible wallet gets pot // count, the remainder stays in
    the silo. ``Run.outcome`` names why nothing happened when nothing did.
    """
    at = _validate(as_of, chunk_size, workers)
    if dry_run:
        return _dry_run(RunKind.REDISTRIBUTION, at, trigger, triggered_by_id, chunk_size)

    def work(run: Run) -> str:
        # the plan is fixed once; a resumed run keeps it, including "nothing to do"
        if run.per_wallet is None:
            _chunks(
                run,
                RunChunkStep.FREEZE,
                lambda lo, hi: _freeze_chunk(run, lo, hi),
                workers=workers,
            )
            plan = _redistribution_prepare(run)
        else:
            plan = _stored_plan(run)
        if plan.reason:
            return plan.reason
        pool_id = system_account_id(AccountKind.POOL)
        _chunks(
            run,
            RunChunkStep.APPLY,
            lambda lo, hi: _redistribution_chunk(run, lo, hi, pool_id),
            workers=workers,
            progress=progress,
        )
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
    params = {**_redistribution_params(run), "lo": 0, "hi": run.max_id}
    sql_count = sql.redistribution_count(activity_condition=_activity_condition(run))
    plan = _plan(run, int(silo or 0), int(_fetch(sql_count, params)[0][0]))
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
