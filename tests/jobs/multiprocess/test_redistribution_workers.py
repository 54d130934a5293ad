"""Three Celery worker processes share one 200,000-wallet redistribution started by beat's
task; one is SIGKILLed in the credit step while it holds a lease; the pot moved once, each
frozen target is credited once, the pool is back to 0 (spec 3, 6, 8).

The kill lands as in the compost test: one frozen target of each of three middle credit chunks
is held by the test, so each worker waits in one of them; the freeze and the plan are done by
then, and every credit chunk before the three."""

from __future__ import annotations

from typing import Any

import pytest

from saka.grains.models import AccountKind, Run, RunChunk, RunChunkStep, RunKind, RunStatus
from saka.grains.runs.chunks import DEFAULT_CHUNK_SIZE
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from saka.jobs.schedule import REDISTRIBUTION_TASK
from tests.support.celery_workers import (
    HeldRows,
    done_by,
    live_leases,
    one_per_chunk,
    send,
    wait_for,
    wait_for_row,
    wait_until,
)
from tests.support.clock import A
from tests.support.run_crashes import assert_redistribution_exactly_once, seed_model
from tests.support.run_scenarios import seed
from tests.support.runs_reference import (
    RedistributionRules,
    redistribution_plan,
    run_postings,
    system_balance,
)

N = 200_000  # wallet ids 2..200001: 41 credit chunks of 5,000
HELD = (19, 20, 21)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, reset_sequences=True)]


def test_three_workers_share_a_redistribution_and_survive_one_killed(workers: Any) -> None:
    # given the seeded population composted into the silo, and what an uninterrupted
    # redistribution does (a dry run, and the reference model's plan)
    seed(N)
    compost_run_start(as_of=A)
    silo = system_balance(AccountKind.SILO)
    dry = redistribution_run_start(as_of=A, dry_run=True)
    plan = redistribution_plan(seed_model(N), silo, RedistributionRules(), A)
    assert (dry.pot, dry.eligible_wallets, dry.per_wallet) == (
        plan.pot,
        len(plan.eligible),
        plan.per_wallet,
    )
    held = one_per_chunk(plan.eligible, DEFAULT_CHUNK_SIZE, HELD)
    pool = workers(3)
    with HeldRows("grains_account", held.values()) as rows:
        # when beat's redistribution task reaches the workers
        send(REDISTRIBUTION_TASK, as_of=A.isoformat())
        # then each of the three waits in one of the held credit chunks, holding its lease
        wait_until(lambda: len(rows.waiters()) == 3, what="three blocked workers", workers=pool)
        live = Run.objects.filter(kind=RunKind.REDISTRIBUTION, dry_run=False)
        run = wait_for_row(live, workers=pool)
        leases = live_leases(RunChunk, run.pk, RunChunkStep.APPLY)
        assert len({leases[k * DEFAULT_CHUNK_SIZE] for k in HELD}) == 3
        # and the pot is in the pool, less the credits of the chunks done so far
        run.refresh_from_db()
        assert run.per_wallet == plan.per_wallet
        credited = len(run_postings(run.pk))
        assert system_balance(AccountKind.POOL) == plan.per_wallet * (len(plan.eligible) - credited)
        # when the worker holding the middle one is SIGKILLed (then the rows are let go)
        victim = pool.by_lease(leases[HELD[1] * DEFAULT_CHUNK_SIZE])
        pool.kill(victim)
    # then the run finishes: the pot moved once, each frozen target credited once, the pool
    # empty again, the books reconcile
    run = wait_for(Run, run.pk, [RunStatus.DONE], workers=pool)
    assert_redistribution_exactly_once(run, N, silo)
    figures = ("outcome", "silo_before", "pot", "eligible_wallets", "per_wallet", "silo_after")
    assert {f: getattr(run, f) for f in figures} == {f: getattr(dry, f) for f in figures}
    assert (run.wallets_done, run.amount_done) == (dry.wallets_done, dry.amount_done)
    # and the killed worker's chunk was done by another one
    chunk = RunChunk.objects.get(
        run_id=run.pk, step=RunChunkStep.APPLY, lo=HELD[1] * DEFAULT_CHUNK_SIZE
    )
    assert chunk.worker != victim.lease_name
    assert chunk.claims >= 2
    # and the credits were done by at least two distinct worker processes
    assert len(done_by(RunChunk, run.pk, RunChunkStep.APPLY)) >= 2
