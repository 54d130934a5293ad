"""The redistribution run: freeze the eligible set at ``as_of`` (chunk by chunk), fix the plan
and move the pot from the silo to the pool once, credit each frozen wallet its share (chunk by
chunk), settle what was not credited; a dry run computes the same plan without writing."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import F, Sum

from saka.core.clock import now
from saka.core.db import lock_rows, require_atomic
from saka.core.money import MAX_BALANCE
from saka.engine.chunks import step_state
from saka.engine.spec import Chunked, RunSpec, Single
from saka.grains.accounts import SAKA_BOOK, system_account_id
from saka.grains.models import (
    AccountKind,
    EntryKind,
    Run,
    RunChunk,
    RunChunkStep,
    RunFrozen,
    RunKind,
    RunTrigger,
    SakaAccount,
    SakaEntry,
    SakaPosting,
)
from saka.grains.rules import RedistributionPlan, RedistributionRule, redistribution_refusal
from saka.grains.run_statements import chunk_leaf_store, preimages, run_statement_publish
from saka.grains.runs.chunks import (
    DEFAULT_CHUNK_SIZE,
    chunk_counts,
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
from saka.grains.sql.redistribution import (
    REDISTRIBUTION_CHUNK_PG,
    REDISTRIBUTION_CREDITABLE,
    redistribution_count,
    redistribution_count_at_ceiling,
    redistribution_freeze,
    redistribution_freeze_portable,
)
from saka.grains.statements import redistribution_calculation
from saka.ledger.posting import entry_post

logger = logging.getLogger("saka.runs")


def _redistribution_params(run: Run) -> dict[str, Any]:
    rule = RedistributionRule.of_run(run.parameters)
    return {
        "min_harvested": rule.min_harvested,
        "active_cutoff": db_time(rule.active_cutoff(run.as_of)),
        "as_of": db_time(run.as_of),
        "run": run.pk,
    }


def _activity_condition(run: Run) -> bool:
    return RedistributionRule.of_run(run.parameters).active_days > 0


# --- the plan ---------------------------------------------------------------------------------


def _plan(run: Run, silo_balance: int, count: int) -> RedistributionPlan:
    """pot and share at ``run.as_of`` for ``count`` eligible wallets (``grains.rules``)."""
    return RedistributionRule.of_run(run.parameters).plan(silo=silo_balance, eligible=count)


def _stored_plan(run: Run) -> RedistributionPlan:
    """The plan a previous attempt froze (resume)."""
    pot, eligible, per = int(run.pot or 0), int(run.eligible_wallets or 0), int(run.per_wallet or 0)
    return RedistributionPlan(
        silo_before=int(run.silo_before or 0),
        pot=pot,
        eligible=eligible,
        per_wallet=per,
        reason=redistribution_refusal(pot=pot, eligible=eligible, per_wallet=per),
    )


# --- freeze, prepare, credit, settle ---------------------------------------------------------


def _freeze_chunk(run: Run, lo: int, hi: int, worker: str) -> dict[str, int]:
    """Write the chunk's eligible wallets as the run's frozen set (one sorted array per credit
    chunk range inside it), and the chunk as frozen."""
    size = run.chunk_size
    params = {
        **_redistribution_params(run),
        "lo": lo,
        "hi": hi,
        "size": size,
        "now": db_time(now()),
        "worker": worker,
    }
    cond = _activity_condition(run)
    if connection.vendor == "postgresql":
        return chunk_counts(fetch(redistribution_freeze(activity_condition=cond), params)[0][0])
    ranges: dict[int, list[int]] = {}
    for (account_id,) in fetch(redistribution_freeze_portable(activity_condition=cond), params):
        ranges.setdefault(lo + (account_id - lo - 1) // size * size, []).append(account_id)
    RunFrozen.objects.bulk_create(
        RunFrozen(run_id=run.pk, lo=sub, hi=min(sub + size, hi), ids=ids)
        for sub, ids in ranges.items()
    )
    frozen = sum(len(ids) for ids in ranges.values())
    return record_chunk(REDISTRIBUTION, run, RunChunkStep.FREEZE, lo, hi, worker, frozen, 0)


def _frozen_count(run: Run) -> int:
    """The targets of a completely frozen run (each freeze chunk recorded its count in the
    transaction that wrote its targets)."""
    state = step_state(REDISTRIBUTION, run.pk, RunChunkStep.FREEZE)
    if not state.finished:  # never: the engine prepares after every freeze chunk is done
        raise RuntimeError(f"run {run.pk}: {state.done} of {state.total} chunks frozen")
    chunks = RunChunk.objects.filter(run_id=run.pk, step=RunChunkStep.FREEZE)
    return int(chunks.aggregate(wallets=Sum("wallets"))["wallets"] or 0)


def _redistribution_prepare(run: Run) -> None:
    """Once per run, after the freeze (the engine holds the run's row lock): count the
    targets, fix the share and move the pot from the silo to the pool. A run whose plan is
    fixed (resumed after this step) keeps it."""
    require_atomic()
    if run.per_wallet is not None:
        return
    silo_id = system_account_id(AccountKind.SILO)
    pool_id = system_account_id(AccountKind.POOL)
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
    for name, value in fields.items():
        setattr(run, name, value)


def _redistribution_chunk(run: Run, lo: int, hi: int, worker: str) -> dict[str, int]:
    """Credit the chunk's frozen targets their share and mark the chunk done."""
    pool_id = run_account_id(run, AccountKind.POOL)
    per = int(run.per_wallet or 0)
    params = {
        "worker": worker,
        "run": run.pk,
        "as_of": db_time(run.as_of),
        "lo": lo,
        "hi": hi,
        "per": per,
        "credit_limit": MAX_BALANCE - per,
        "pool": pool_id,
        "now": db_time(now()),
    }
    calculation = redistribution_calculation(
        run_id=run.pk,
        period=run.period,
        as_of=run.as_of,
        parameters=run.parameters,
        silo_before=int(run.silo_before or 0),
        pot=int(run.pot or 0),
        members=int(run.eligible_wallets or 0),
        share=per,
    )
    if connection.vendor == "postgresql":
        params["calculation"] = json.dumps(calculation)
        wallets, grains, credited = fetch(REDISTRIBUTION_CHUNK_PG, params)[0]
        suffix = f":{per}".encode()
        items = [a + suffix for a in credited.encode().split(b",")] if credited else []
        return chunk_end_pg(
            run,
            lo,
            hi,
            worker,
            account_id=pool_id,
            delta=-int(grains),
            wallets=wallets,
            grains=grains,
            items=items,
        )
    frozen = RunFrozen.objects.filter(run_id=run.pk, lo=lo).values_list("ids", flat=True).first()
    counted = set(frozen or ())
    ids = [row[0] for row in fetch(REDISTRIBUTION_CREDITABLE, params) if row[0] in counted]
    total = per * len(ids)
    if ids:
        entry = SakaEntry.objects.create(
            kind=EntryKind.REDISTRIBUTION,
            amount=total,
            run_id=run.pk,
            created_at=run.as_of,
            calculation=calculation,
        )
        SakaPosting.objects.bulk_create(
            [SakaPosting(entry_id=entry.pk, account_id=a, amount=per, run_id=run.pk) for a in ids]
            + [SakaPosting(entry_id=entry.pk, account_id=pool_id, amount=-total)]
        )
        SakaAccount.objects.filter(pk__in=ids).update(
            balance=F("balance") + per, lifetime_redistributed=F("lifetime_redistributed") + per
        )
        SakaAccount.objects.filter(pk=pool_id).update(balance=F("balance") - total)
    chunk_leaf_store(run, lo, hi, preimages((a, per) for a in ids), total)
    return record_chunk(REDISTRIBUTION, run, RunChunkStep.APPLY, lo, hi, worker, len(ids), total)


def _credit_ranges(run: Run) -> list[tuple[int, int]]:
    """The credit step's chunks: none when the plan does nothing."""
    return [] if _stored_plan(run).reason else chunk_ranges(run, RunChunkStep.APPLY)


def _redistribution_settle(run: Run) -> None:
    """After the last chunk (the engine holds the run's row lock): anything not credited (a
    counted wallet vanished, or its share would have taken it above ``MAX_BALANCE``) goes back
    from the pool to the silo, booked (and ``silo_after`` says so)."""
    require_atomic()
    if _stored_plan(run).reason:
        return
    leftover = int(run.per_wallet or 0) * (int(run.eligible_wallets or 0) - run.wallets_done)
    if leftover == 0:
        return
    logger.warning(
        "run %s credited %s of %s counted wallets (the others vanished or are at the ceiling)",
        run.pk,
        run.wallets_done,
        run.eligible_wallets,
    )
    if SakaEntry.objects.filter(run_id=run.pk, reason="pot_return").exists():
        return
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
    # the silo after the run: what was returned is in it again
    Run.objects.filter(pk=run.pk).update(silo_after=F("silo_after") + leftover)


def _redistribution_outcome(run: Run) -> str:
    reason = _stored_plan(run).reason
    if reason:
        return reason
    if SakaEntry.objects.filter(run_id=run.pk, reason="pot_return").exists():
        return "completed_with_return"
    return "completed"


def _hash(run: Run, lo: int, hi: int, worker: str) -> dict[str, int]:
    return statement_chunk_hash(REDISTRIBUTION, run, lo, hi, worker)


def _redistribution_finish(run: Run) -> None:
    """In the finishing transaction: the run's statement (never done without it)."""
    run_statement_publish(run)


REDISTRIBUTION = RunSpec(
    name="redistribution",
    run_model=Run,
    chunk_model=RunChunk,
    steps=[
        Chunked(
            "freeze",
            RunChunkStep.FREEZE,
            lambda run: chunk_ranges(run, RunChunkStep.FREEZE),
            _freeze_chunk,
        ),
        Single("prepare", _redistribution_prepare),
        Chunked("credit", RunChunkStep.APPLY, _credit_ranges, _redistribution_chunk),
        Single("settle", _redistribution_settle),
        hash_step(missing_leaf_ranges, _hash),
    ],
    outcome=_redistribution_outcome,
    on_finish=_redistribution_finish,
    live={"kind": RunKind.REDISTRIBUTION, "dry_run": False},
    counts=run_counts,
)


def _redistribution_dry(run: Run) -> tuple[str, dict[str, Any]]:
    """The plan a redistribution at ``run.as_of`` would make: its outcome and figures."""
    silo = (
        SakaAccount.objects.filter(kind=AccountKind.SILO).values_list("balance", flat=True).first()
    )
    params = {**_redistribution_params(run), "lo": 0, "hi": run.max_id}
    sql_count = redistribution_count(activity_condition=_activity_condition(run))
    plan = _plan(run, int(silo or 0), int(fetch(sql_count, params)[0][0]))
    if plan.reason:
        credited = 0
    else:  # a wallet its share would take above MAX_BALANCE is not credited (see settle)
        cond = _activity_condition(run)
        limit = {**params, "credit_limit": MAX_BALANCE - plan.per_wallet}
        at_ceiling = int(
            fetch(redistribution_count_at_ceiling(activity_condition=cond), limit)[0][0]
        )
        credited = plan.eligible - at_ceiling
    figures = {
        "silo_before": plan.silo_before,
        "pot": plan.pot,
        "eligible_wallets": plan.eligible,
        "per_wallet": plan.per_wallet,
        "silo_after": plan.silo_before - plan.per_wallet * credited,
        "wallets_done": credited,
        "amount_done": plan.per_wallet * credited,
    }
    if plan.reason:
        return plan.reason, figures
    return ("completed" if credited == plan.eligible else "completed_with_return"), figures


# --- the run ---------------------------------------------------------------------------------


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
    at = validate_start(as_of, chunk_size, workers)
    if dry_run:
        return run_dry(
            RunKind.REDISTRIBUTION, at, trigger, triggered_by_id, chunk_size, _redistribution_dry
        )

    return run_live(
        REDISTRIBUTION,
        kind=RunKind.REDISTRIBUTION,
        at=at,
        trigger=trigger,
        triggered_by_id=triggered_by_id,
        chunk_size=chunk_size,
        workers=workers,
        progress=progress,
    )
