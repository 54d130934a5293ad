"""Nothing is ever stranded (spec 3, 8): a redistribution of month M whose only worker was
SIGKILLed after the pot moved into the pool is finished -- by the beat tick of month M+1 before
M+1 runs, or by the resume task -- and M's members are paid exactly once.

M is stranded for real: one worker process takes beat's task for M, freezes, moves the pot and
credits the first chunks, then waits in a chunk whose target the test holds, and is killed
there. New worker processes then get the next tick."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import override_settings

from saka.engine import lifecycle as engine
from saka.grains.models import AccountKind, Run, RunChunk, RunChunkStep, RunKind, RunStatus
from saka.grains.runs.chunks import DEFAULT_CHUNK_SIZE
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import REDISTRIBUTION
from saka.jobs.schedule import REDISTRIBUTION_TASK, RESUME_TASK
from saka.ledger.reconcile import reconcile
from tests.support.celery_workers import (
    HeldRows,
    Workers,
    live_leases,
    one_per_chunk,
    send,
    wait_for,
    wait_for_row,
    wait_until,
)
from tests.support.clock import A
from tests.support.run_crashes import seed_model
from tests.support.run_scenarios import seed
from tests.support.runs_reference import (
    RedistributionPlan,
    RedistributionRules,
    redistribution_plan,
    run_postings,
    system_balance,
)

N = 20_000  # wallet ids 2..20001: 5 credit chunks of 5,000
HELD_CHUNK = 2  # chunks 0 and 1 are credited before the kill
NEXT_TICK = datetime(2026, 4, 1, 4, 0, tzinfo=UTC)  # beat's slot of the month after A's

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, reset_sequences=True)]


def _strand_redistribution(workers: Any) -> tuple[Run, RedistributionPlan]:
    """The seeded population composted at ``A``, and A's redistribution left running after its
    only worker was SIGKILLed in the credit step: ``(run, the reference plan)``."""
    seed(N)
    compost_run_start(as_of=A)
    plan = redistribution_plan(
        seed_model(N), system_balance(AccountKind.SILO), RedistributionRules(), A
    )
    held = one_per_chunk(plan.eligible, DEFAULT_CHUNK_SIZE, [HELD_CHUNK])
    pool: Workers = workers(1)
    with HeldRows("grains_account", held.values()) as rows:
        send(REDISTRIBUTION_TASK, as_of=A.isoformat())
        wait_until(lambda: len(rows.waiters()) == 1, what="a blocked worker", workers=pool)
        run = wait_for_row(Run.objects.filter(kind=RunKind.REDISTRIBUTION, dry_run=False))
        leases = live_leases(RunChunk, run.pk, RunChunkStep.APPLY)
        pool.kill(pool.by_lease(leases[HELD_CHUNK * DEFAULT_CHUNK_SIZE]))
    pool.stop()
    run.refresh_from_db()
    # the pot is in the pool, the first chunks' members are paid, the rest wait
    assert (run.status, run.per_wallet) == (RunStatus.RUNNING, plan.per_wallet)
    paid = run_postings(run.pk)
    assert len(paid) == run.wallets_done < len(plan.eligible)
    assert system_balance(AccountKind.POOL) == plan.per_wallet * (len(plan.eligible) - len(paid))
    return run, plan


def _assert_paid_once(run: Run, plan: RedistributionPlan) -> None:
    assert (run.status, run.outcome) == (RunStatus.DONE, "completed")
    assert (run.pot, run.eligible_wallets, run.per_wallet) == (
        plan.pot,
        len(plan.eligible),
        plan.per_wallet,
    )
    assert run_postings(run.pk) == dict.fromkeys(plan.eligible, plan.per_wallet)
    assert (run.wallets_done, run.amount_done, run.silo_after) == (
        len(plan.eligible),
        plan.total,
        plan.silo_after,
    )


def test_next_months_tick_finishes_the_stranded_month_first(workers: Any) -> None:
    # given month M's redistribution stranded after its pot moved into the pool
    stranded, plan = _strand_redistribution(workers)
    # when beat's tick of month M+1 reaches new worker processes
    pool = workers(2)
    send(REDISTRIBUTION_TASK, as_of=NEXT_TICK.isoformat())
    later = Run.objects.filter(kind=RunKind.REDISTRIBUTION, dry_run=False, period="2026-04")
    following = wait_for(Run, wait_for_row(later, workers=pool).pk, [RunStatus.DONE], workers=pool)
    # then M finished first: its members paid exactly once, with the pot it had moved
    stranded.refresh_from_db()
    _assert_paid_once(stranded, plan)
    assert stranded.finished_at is not None
    assert stranded.finished_at <= following.created_at
    # and M+1 ran on what M left in the silo (nothing of M's pot stayed in the pool)
    next_plan = redistribution_plan(
        seed_model(N), plan.silo_after, RedistributionRules(), NEXT_TICK
    )
    assert next_plan.reason == ""
    assert following.silo_before == plan.silo_after
    _assert_paid_once(following, next_plan)
    assert system_balance(AccountKind.POOL) == 0
    assert system_balance(AccountKind.SILO) == next_plan.silo_after
    report = reconcile()
    assert report.ok, [d.message for d in report.discrepancies]


def test_the_resume_task_sends_workers_that_finish_a_stalled_old_run(workers: Any) -> None:
    # given month M's redistribution stranded after its pot moved, and stalled: no live lease
    # and no progress for longer than the stall limit
    stranded, plan = _strand_redistribution(workers)
    with override_settings(SAKA_RUN_STALL_SECONDS=1):
        wait_until(
            lambda: engine.is_stalled(REDISTRIBUTION, stranded), what="the run to be stalled"
        )
    # when beat's resume task reaches new worker processes (same stall limit)
    pool = workers(2, stall_seconds=1)
    send(RESUME_TASK)
    # then they finish it: M's members paid exactly once, the pool empty
    done = wait_for(Run, stranded.pk, [RunStatus.DONE], workers=pool)
    _assert_paid_once(done, plan)
    assert done.attempts == 2
    assert system_balance(AccountKind.POOL) == 0
    assert system_balance(AccountKind.SILO) == plan.silo_after
    report = reconcile()
    assert report.ok, [d.message for d in report.discrepancies]
