"""The compost run: each chunk takes floor(balance x rate) from the idle wallets of its key
range into the silo (one statement on PostgreSQL, a few portable ones elsewhere); a dry run
totals the same over every wallet. The rule itself lives in ``saka.grains.rules``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django.db import DataError, IntegrityError, connection
from django.db.models import F

from saka.core.clock import now
from saka.core.db import is_out_of_range
from saka.core.money import MAX_BALANCE, sql_rate
from saka.engine.spec import Chunked, RunSpec
from saka.grains.models import (
    AccountKind,
    EntryKind,
    Run,
    RunChunk,
    RunChunkStep,
    RunKind,
    RunTrigger,
    SakaAccount,
    SakaEntry,
    SakaPosting,
)
from saka.grains.rules import CompostRule
from saka.grains.run_statements import chunk_leaf_store, preimages, run_statement_publish
from saka.grains.runs.chunks import (
    DEFAULT_CHUNK_SIZE,
    chunk_end_pg,
    chunk_ranges,
    db_time,
    fetch,
    record_chunk,
    run_account_id,
    run_counts,
)
from saka.grains.runs.lifecycle import Progress, run_dry, run_live, validate_start
from saka.grains.runs.statements import hash_step, missing_leaf_ranges, statement_chunk_hash
from saka.grains.sql.compost import (
    COMPOST_CHUNK_PG,
    COMPOST_DRY_PG,
    COMPOST_ELIGIBLE_COUNT,
    COMPOST_SELECT,
)
from saka.grains.statements import compost_calculation
from saka.ledger.constraints import balance_check_error, is_balance_check
from saka.ledger.errors import BalanceLimitExceeded


def _compost_params(run: Run) -> dict[str, Any]:
    rule = CompostRule.of_run(run.parameters)
    return {
        "rate": sql_rate(rule.rate),
        "min_balance": rule.min_balance,
        "min_amount": rule.min_amount,
        "cutoff": db_time(rule.cutoff(run.as_of)),
        "as_of": db_time(run.as_of),
        "run": run.pk,
    }


def _compost_chunk(run: Run, lo: int, hi: int, worker: str) -> dict[str, int]:
    """Compost the idle wallets of ``(lo, hi]`` and mark the chunk done (the engine opened the
    chunk's transaction and locked its row). A silo that would pass ``MAX_BALANCE`` refuses the
    chunk with ``BalanceLimitExceeded`` (its transaction rolls back; the run is interrupted
    with that error and resumes from this chunk)."""
    try:
        return _compost_chunk_apply(run, lo, hi, worker)
    except IntegrityError as exc:
        if not is_balance_check(exc):
            raise  # the engine makes it ChunkFailed
        raise balance_check_error(exc, run_id=run.pk, lo=lo, hi=hi) from exc
    except DataError as exc:
        if not is_out_of_range(exc):
            raise
        # a chunk's total beyond a bigint: far above the silo's ceiling
        raise BalanceLimitExceeded(maximum=MAX_BALANCE, run_id=run.pk, lo=lo, hi=hi) from exc


def _compost_chunk_apply(run: Run, lo: int, hi: int, worker: str) -> dict[str, int]:
    silo_id = run_account_id(run, AccountKind.SILO)
    params = {
        **_compost_params(run),
        "lo": lo,
        "hi": hi,
        "silo": silo_id,
        "now": db_time(now()),
        "worker": worker,
    }
    calculation = compost_calculation(
        run_id=run.pk, period=run.period, as_of=run.as_of, parameters=run.parameters
    )
    if connection.vendor == "postgresql":
        params["calculation"] = json.dumps(calculation)
        wallets, grains, leaves = fetch(COMPOST_CHUNK_PG, params)[0]
        items = leaves.encode().split(b",") if leaves else []
        return chunk_end_pg(
            run,
            lo,
            hi,
            worker,
            account_id=silo_id,
            delta=int(grains),
            wallets=wallets,
            grains=grains,
            items=items,
        )
    rule = CompostRule.of_run(run.parameters)
    # (wallet, amount, basis, idle days)
    rows = [
        (acc_id, rule.amount(int(balance)), int(balance), _idle_days(run.as_of, last))
        for acc_id, balance, last in fetch(COMPOST_SELECT, params)
    ]
    rows = [row for row in rows if rule.amount_kept(row[1])]
    total = sum(row[1] for row in rows)
    if rows:
        entry = SakaEntry.objects.create(
            kind=EntryKind.COMPOST,
            amount=total,
            run_id=run.pk,
            created_at=run.as_of,
            calculation=calculation,
        )
        SakaPosting.objects.bulk_create(
            [
                SakaPosting(
                    entry_id=entry.pk,
                    account_id=a,
                    amount=-x,
                    run_id=run.pk,
                    basis=basis,
                    idle_days=idle,
                )
                for a, x, basis, idle in rows
            ]
            + [SakaPosting(entry_id=entry.pk, account_id=silo_id, amount=total)]
        )
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE grains_account SET balance = balance - %s, last_compost_amount = %s, "
                "lifetime_composted = lifetime_composted + %s, last_composted_at = %s "
                "WHERE id = %s",
                [(x, x, x, params["as_of"], a) for a, x, _, _ in rows],
            )
        SakaAccount.objects.filter(pk=silo_id).update(balance=F("balance") + total)
    chunk_leaf_store(run, lo, hi, preimages((a, x) for a, x, _, _ in rows), total)
    return record_chunk(COMPOST, run, RunChunkStep.APPLY, lo, hi, worker, len(rows), total)


def _idle_days(as_of: datetime, last_activity: Any) -> int | None:
    """Whole days from the last activity to the run's instant, as the PostgreSQL statement
    computes them (``floor(seconds / 86400)``); None when the wallet was never active."""
    if last_activity is None:
        return None
    if isinstance(last_activity, str):  # SQLite returns the stored text
        last_activity = datetime.fromisoformat(last_activity)
    if last_activity.tzinfo is None:
        last_activity = last_activity.replace(tzinfo=UTC)
    return int((as_of - last_activity).total_seconds() // 86400)


def _compost_finished(run: Run) -> None:
    """A compost that composted nothing records how many wallets were eligible before the
    minimum amount (idle, balance >= min balance): more than 0 means every amount rounded
    below ``min_amount`` (the ``compost_empty`` alert reads it). One count over the scope, only
    then: the chunks of a run that composts pay nothing for it. Nothing was composted, so the
    count sees the wallets as the run did, less members who acted since."""
    if run.wallets_done:
        return
    params = {**_compost_params(run), "lo": 0, "hi": run.max_id}
    (count,) = fetch(COMPOST_ELIGIBLE_COUNT, params)[0]
    Run.objects.filter(pk=run.pk).update(eligible_wallets=int(count))
    run.eligible_wallets = int(count)


def _hash(run: Run, lo: int, hi: int, worker: str) -> dict[str, int]:
    return statement_chunk_hash(COMPOST, run, lo, hi, worker)


def _compost_finish(run: Run) -> None:
    """In the finishing transaction: the empty run's eligible count, then the statement."""
    _compost_finished(run)
    run_statement_publish(run)


COMPOST = RunSpec(
    name="compost",
    run_model=Run,
    chunk_model=RunChunk,
    steps=[
        Chunked(
            "compost",
            RunChunkStep.APPLY,
            lambda run: chunk_ranges(run, RunChunkStep.APPLY),
            _compost_chunk,
        ),
        hash_step(missing_leaf_ranges, _hash),
    ],
    outcome=lambda run: "completed" if run.wallets_done else "nothing_to_compost",
    on_finish=_compost_finish,
    live={"kind": RunKind.COMPOST, "dry_run": False},
    counts=run_counts,
)


def _compost_dry(run: Run) -> tuple[str, dict[str, Any]]:
    """What the compost would take from every wallet: its outcome and totals."""
    params = {**_compost_params(run), "lo": 0, "hi": run.max_id}
    if connection.vendor == "postgresql":
        count, total = (int(x) for x in fetch(COMPOST_DRY_PG, params)[0])
    else:
        rule = CompostRule.of_run(run.parameters)
        amounts = [rule.amount(int(b)) for _, b, _ in fetch(COMPOST_SELECT, params)]
        kept = [a for a in amounts if rule.amount_kept(a)]
        count, total = len(kept), sum(kept)
    outcome = "completed" if count else "nothing_to_compost"
    return outcome, {"wallets_done": count, "amount_done": total}


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
    only its run record. An earlier unfinished compost is finished first. ``workers`` (default
    ``SAKA_RUN_WORKERS``) threads do the chunks on PostgreSQL; other processes may join.
    """
    at = validate_start(as_of, chunk_size, workers)
    if dry_run:
        return run_dry(RunKind.COMPOST, at, trigger, triggered_by_id, chunk_size, _compost_dry)

    return run_live(
        COMPOST,
        kind=RunKind.COMPOST,
        at=at,
        trigger=trigger,
        triggered_by_id=triggered_by_id,
        chunk_size=chunk_size,
        workers=workers,
        progress=progress,
    )
