"""Runs that crash resume where they stopped and never apply twice to a wallet (spec 3, 8):
simulated crashes, on any database.

An exception that no ``except Exception`` catches is raised inside a chunk's transaction
(rolled back), between chunks, right after the redistribution plan is committed, or before the
run's finish. Every scenario ends with the same checks (``tests.support.run_crashes``): each
eligible wallet posted exactly once by the run, amounts equal to the reference model, the
run's figures equal to what was booked, and ``reconcile()`` clean."""

from __future__ import annotations

import math

import pytest
from django.db import connection

from saka.demo.seed import seed_population
from saka.engine import lifecycle
from saka.engine.spec import RunSpec
from saka.grains.models import (
    AccountKind,
    Run,
    RunChunk,
    RunChunkStep,
    RunFrozen,
    RunKind,
    RunStatus,
)
from saka.grains.runs import chunks
from saka.grains.runs.compost import COMPOST, compost_run_start
from saka.grains.runs.redistribution import REDISTRIBUTION, redistribution_run_start
from saka.grains.selectors import run_summary
from tests.support.clock import A
from tests.support.run_crashes import (
    assert_compost_exactly_once,
    assert_interrupted_cleanly,
    assert_redistribution_exactly_once,
    chunk_of,
    done,
    done_chunks,
    expected_compost_postings,
    patch_step,
    seed_accounts,
    seed_model,
)
from tests.support.runs_reference import (
    DAY,
    RedistributionRules,
    build_wallet,
    new_member,
    redistribution_plan,
    run_postings,
    system_balance,
)

# Simulated crashes run on any database.
pytestmark = pytest.mark.django_db


class Killed(BaseException):
    """A crash: not an Exception, so no ``except Exception`` in the code under test stops it."""


# --- simulated crashes (any database) ---------------------------------------------------------

N_SMALL = 300
CHUNK_SMALL = 25


# chunk geometry matters here: ids start at 1 (sequences are not rolled back on PostgreSQL)
ids_from_one = pytest.mark.django_db(transaction=True, reset_sequences=True)


def parallel_runs() -> bool:
    """Whether runs here take chunks in parallel (PostgreSQL, outside a test transaction)."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


@pytest.fixture
def seeded():
    seed_population(wallets=N_SMALL, as_of=A)
    return N_SMALL


def _crash_in_chunk(
    monkeypatch, spec: RunSpec, step: str, k: int, *, after_work: bool = True, size_factor: int = 1
) -> None:
    """Make the chunked step ``step`` of ``spec`` raise ``Killed`` in chunk k (0-based), after
    doing the chunk's work (inside the chunk's transaction, so the work and the chunk's done
    mark are rolled back) or before it."""

    def chunk(run, lo, hi, worker):
        # the k-th chunk by key range, whichever worker takes it
        crash = lo == k * run.chunk_size * size_factor
        if crash and not after_work:
            raise Killed
        real(run, lo, hi, worker)
        if crash:
            raise Killed

    real = patch_step(monkeypatch, spec, step, chunk)


def _chunks_to_crash(run_max: int, size: int = CHUNK_SMALL) -> dict[str, int]:
    last = math.ceil(run_max / size) - 1
    return {"first": 0, "middle": last // 2, "last": last}


@ids_from_one
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_compost_crashed_inside_a_chunk_resumes_and_composts_each_wallet_once(
    seeded, monkeypatch, where
):
    # given a compost run that dies inside a chunk's transaction
    max_id = max(seed_accounts().values())
    k = _chunks_to_crash(max_id)[where]
    _crash_in_chunk(monkeypatch, COMPOST, "compost", k)
    with pytest.raises(Killed):
        compost_run_start(as_of=A, chunk_size=CHUNK_SMALL)
    run = Run.objects.get(kind=RunKind.COMPOST, dry_run=False)
    # then the crashed chunk left nothing behind, the chunks done are booked, the run is
    # interrupted (one worker: exactly the chunks before k are done)
    assert run.status == RunStatus.INTERRUPTED
    assert "Killed" in run.error
    assert_interrupted_cleanly(run, expected_compost_postings(seeded), k)
    if not parallel_runs():
        assert done_chunks(run) == set(range(k))
    # and, like a dead process, the crashed worker left chunk k pending under its lease
    crashed = RunChunk.objects.get(run_id=run.pk, step=RunChunkStep.APPLY, lo=k * CHUNK_SMALL)
    assert (crashed.done_at, crashed.claims) == (None, 1)
    assert crashed.lease_until is not None
    # when it is started again
    monkeypatch.undo()
    resumed = compost_run_start(as_of=A, chunk_size=CHUNK_SMALL)
    # then it is the same run, finished, each eligible wallet composted exactly once; the
    # resumed run freed the dead lease and took chunk k again
    assert resumed.pk == run.pk
    assert resumed.attempts == 2
    assert_compost_exactly_once(resumed, seeded)
    crashed.refresh_from_db()
    assert crashed.done_at is not None
    assert crashed.claims >= 2


@ids_from_one
def test_compost_crashed_between_chunks_resumes_after_the_last_committed_chunk(seeded):
    # given a compost run that dies right after its 5th chunk committed
    def die_after_five(run: Run) -> None:
        # (parallel workers: this thread may see 4 then 6 chunks done)
        if run.chunks_done >= 5:
            raise Killed

    with pytest.raises(Killed):
        compost_run_start(as_of=A, chunk_size=CHUNK_SMALL, progress=die_after_five)
    run = Run.objects.get(kind=RunKind.COMPOST, dry_run=False)
    assert run.status == RunStatus.INTERRUPTED
    assert_interrupted_cleanly(run, expected_compost_postings(seeded), None)
    assert run.chunks_done >= 5  # (parallel workers: the others finish their current chunk)
    if not parallel_runs():
        assert done_chunks(run) == set(range(5))
    # when it is started again (twice: the second call returns the finished run)
    resumed = compost_run_start(as_of=A)
    again = compost_run_start(as_of=A)
    # then every eligible wallet is composted exactly once
    assert resumed.pk == again.pk == run.pk
    assert (resumed.chunk_size, resumed.attempts) == (CHUNK_SMALL, 2)
    assert_compost_exactly_once(again, seeded)


def _fill_silo() -> int:
    compost_run_start(as_of=A)
    return system_balance(AccountKind.SILO)


@ids_from_one
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_redistribution_crashed_inside_a_chunk_credits_the_counted_set_once(
    seeded, monkeypatch, where
):
    # given a silo, and a redistribution that dies inside a chunk's transaction
    silo = _fill_silo()
    max_id = max(seed_accounts().values())
    k = _chunks_to_crash(max_id)[where]
    _crash_in_chunk(monkeypatch, REDISTRIBUTION, "credit", k)
    with pytest.raises(Killed):
        redistribution_run_start(as_of=A, chunk_size=CHUNK_SMALL)
    run = Run.objects.get(kind=RunKind.REDISTRIBUTION, dry_run=False)
    # then the plan is frozen, the chunks done are paid and the rest of the pot waits in the pool
    assert run.status == RunStatus.INTERRUPTED
    plan = redistribution_plan(seed_model(seeded), silo, RedistributionRules(), A)
    assert_interrupted_cleanly(run, dict.fromkeys(plan.eligible, plan.per_wallet), k)
    assert system_balance(AccountKind.POOL) == run.per_wallet * run.eligible_wallets - sum(
        run_postings(run.pk).values()
    )
    # when it is started again
    monkeypatch.undo()
    resumed = redistribution_run_start(as_of=A, chunk_size=CHUNK_SMALL)
    # then the counted set is credited exactly once
    assert (resumed.pk, resumed.attempts) == (run.pk, 2)
    assert_redistribution_exactly_once(resumed, seeded, silo)


@ids_from_one
@pytest.mark.parametrize("where", ["first", "last"])  # 2 freeze chunks of 250 ids here
def test_redistribution_crashed_while_freezing_its_set_resumes_and_counts_it_once(
    seeded, monkeypatch, where
):
    # given a silo, and a redistribution that dies inside a freeze chunk's transaction
    silo = _fill_silo()
    size = CHUNK_SMALL * chunks.FREEZE_CHUNK_FACTOR  # the freeze's chunks
    k = _chunks_to_crash(max(seed_accounts().values()), size)[where]
    _crash_in_chunk(
        monkeypatch, REDISTRIBUTION, "freeze", k, size_factor=chunks.FREEZE_CHUNK_FACTOR
    )
    with pytest.raises(Killed):
        redistribution_run_start(as_of=A, chunk_size=CHUNK_SMALL)
    run = Run.objects.get(kind=RunKind.REDISTRIBUTION, dry_run=False)
    # then nothing is planned nor moved, and the targets are exactly the eligible wallets of
    # the chunks recorded as frozen (never chunk k)
    assert (run.status, run.per_wallet, run.chunks_done) == (RunStatus.INTERRUPTED, None, 0)
    assert system_balance(AccountKind.SILO) == silo
    frozen = {
        lo // size: wallets
        for lo, wallets in done(run.pk, RunChunkStep.FREEZE).values_list("lo", "wallets")
    }
    assert k not in frozen
    plan = redistribution_plan(seed_model(seeded), silo, RedistributionRules(), A)
    arrays = RunFrozen.objects.filter(run_id=run.pk).values_list("ids", flat=True)
    targets = {account_id for ids in arrays for account_id in ids}
    assert targets == {a for a in plan.eligible if chunk_of(a, size) in frozen}
    assert sum(frozen.values()) == len(targets)
    # when it is started again
    monkeypatch.undo()
    resumed = redistribution_run_start(as_of=A, chunk_size=CHUNK_SMALL)
    # then the whole set is counted once and credited once
    assert (resumed.pk, resumed.attempts) == (run.pk, 2)
    assert_redistribution_exactly_once(resumed, seeded, silo)


@ids_from_one
def test_redistribution_crashed_after_its_plan_resumes_with_the_same_plan(seeded, monkeypatch):
    # given a redistribution that dies right after its plan and pot were committed
    silo = _fill_silo()
    _crash_in_chunk(monkeypatch, REDISTRIBUTION, "credit", 0, after_work=False)
    with pytest.raises(Killed):
        redistribution_run_start(as_of=A, chunk_size=CHUNK_SMALL)
    run = Run.objects.get(kind=RunKind.REDISTRIBUTION, dry_run=False)
    assert run.per_wallet is not None
    # (one worker: nothing paid yet; parallel workers finished the chunks they had taken)
    assert system_balance(AccountKind.POOL) == run.per_wallet * run.eligible_wallets - sum(
        run_postings(run.pk).values()
    )
    if not parallel_runs():
        assert run_postings(run.pk) == {}
    # when it is started again
    monkeypatch.undo()
    resumed = redistribution_run_start(as_of=A)
    # then the frozen plan is paid, not a new one
    assert (resumed.pk, resumed.per_wallet, resumed.pot) == (run.pk, run.per_wallet, run.pot)
    assert_redistribution_exactly_once(resumed, seeded, silo)


@ids_from_one
def test_redistribution_crashed_before_its_finish_finishes_without_paying_again(
    seeded, monkeypatch
):
    # given a redistribution that dies after its last chunk, before it is marked done
    silo = _fill_silo()

    def die(run):
        raise Killed

    patch_step(monkeypatch, REDISTRIBUTION, "settle", die)
    with pytest.raises(Killed):
        redistribution_run_start(as_of=A, chunk_size=CHUNK_SMALL)
    run = Run.objects.get(kind=RunKind.REDISTRIBUTION, dry_run=False)
    assert (run.status, run.wallets_done) == (RunStatus.INTERRUPTED, run.eligible_wallets)
    monkeypatch.undo()
    # when it is started again
    resumed = redistribution_run_start(as_of=A)
    # then nothing more is credited and the run is done
    assert resumed.attempts == 2
    assert_redistribution_exactly_once(resumed, seeded, silo)


@pytest.mark.parametrize(
    ("silo_balances", "active", "reason"),
    [
        pytest.param([190], 3, "nothing_to_redistribute"),
        pytest.param([2000], 11, "share_rounds_to_zero"),
        pytest.param([4000], 0, "no_eligible_wallets"),
    ],
)
def test_redistribution_with_nothing_to_do_crashed_before_its_finish_keeps_its_reason(
    staff_user, monkeypatch, silo_balances, active, reason
):
    # given a silo and active members such that nothing is redistributed
    for i, b in enumerate(silo_balances):
        build_wallet(
            member_id=new_member(f"idle{i}").pk, balance=b, at=A - 200 * DAY, staff_id=staff_user.pk
        )
    for i in range(active):
        build_wallet(
            member_id=new_member(f"act{i}").pk, balance=60, at=A - DAY, staff_id=staff_user.pk
        )
    silo = _fill_silo()
    # and a redistribution that dies right after its plan committed, before it is marked done
    # (the engine's finish: the last step done, the run's outcome not yet recorded)
    real, calls = lifecycle._finish, []

    def finish(*args, **kwargs):
        if not calls:
            calls.append(1)
            raise Killed
        return real(*args, **kwargs)

    monkeypatch.setattr(lifecycle, "_finish", finish)
    with pytest.raises(Killed):
        redistribution_run_start(as_of=A)
    # when it is started again
    resumed = redistribution_run_start(as_of=A)
    # then it finishes with the same reason and moves nothing
    assert (resumed.status, resumed.outcome) == (RunStatus.DONE, reason)
    assert run_summary(resumed)["reason"] == reason
    assert run_postings(resumed.pk) == {}
    assert system_balance(AccountKind.SILO) == silo
