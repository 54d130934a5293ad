"""Runs racing runs (PostgreSQL, real threads on their own connections): a compost and a
redistribution at once compost the current balance; two processes starting the same run share
it (one live run, each chunk done once by one of them); many callers starting it at once all
get it, booked once."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.test import override_settings

from saka.demo.seed import seed_population
from saka.grains.models import AccountKind, Run, RunChunk, RunChunkStep, RunKind, RunStatus
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from saka.ledger.reconcile import reconcile
from tests.support.clock import A
from tests.support.run_races import CHUNK, GUARD_SECONDS, History, N, seed_model
from tests.support.runs_reference import (
    DAY,
    CompostRules,
    RedistributionRules,
    compost_plan,
    db_wallets,
    redistribution_plan,
    run_postings,
    share,
    system_balance,
)
from tests.support.threads import Worker, settle

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, reset_sequences=True),
]


# --- compost and redistribution at once -------------------------------------------------------


@override_settings(SAKA_REDISTRIBUTION_ACTIVE_DAYS=180)
def test_compost_and_redistribution_at_once_compost_the_current_balance():
    # given last week's compost (a silo), then wallets that this week's compost takes and the
    # month's redistribution credits alike (idle 90..96 days, active within 180 days)
    seed_population(wallets=N, as_of=A)
    compost_run_start(as_of=A - 7 * DAY)
    model = db_wallets()
    silo = system_balance(AccountKind.SILO)
    compost_eligible = {
        acc
        for acc, w in model.items()
        if w.last_activity_at <= A - 90 * DAY
        and (w.last_composted_at is None or w.last_composted_at <= A - 90 * DAY)
    }
    redistribution = redistribution_plan(model, silo, RedistributionRules(active_days=180), A)
    both = compost_eligible & redistribution.eligible
    assert len(both) > 20
    # when both runs execute at once, in chunks of 50, in step: neither starts chunk k + 1
    # before the other finished chunk k, so both work on the same wallets at the same time
    chunks = {"compost": 0, "redistribution": 0}
    done = {"compost": False, "redistribution": False}
    step = threading.Condition()

    def start(kind: str, fn: Callable[..., Run]) -> Callable[[], Run]:
        other = "redistribution" if kind == "compost" else "compost"

        def progress(run: Run) -> None:
            with step:
                chunks[kind] = run.chunks_done
                step.notify_all()
                assert step.wait_for(
                    lambda: done[other] or chunks[other] >= chunks[kind], GUARD_SECONDS
                ), f"{other} run stalled"

        def go() -> Run:
            try:
                return fn(as_of=A, chunk_size=CHUNK, workers=1, progress=progress)
            finally:
                with step:
                    done[kind] = True
                    step.notify_all()

        return go

    compost = Worker(
        start("compost", compost_run_start), name="compost", guard_seconds=GUARD_SECONDS
    )
    redistribute = Worker(
        start("redistribution", redistribution_run_start),
        name="redistribution",
        guard_seconds=GUARD_SECONDS,
    )
    compost.start()
    redistribute.start()
    c_run, r_run = settle(compost), settle(redistribute)
    # then each wallet composts floor(its balance just before x 10%), credit or not, and a
    # wallet whose balance passes the thresholds without the credit always composts
    report = reconcile()
    assert report.ok, [d.message for d in report.discrepancies]
    history = History(0)
    taken = {a: -x for a, x in run_postings(c_run.pk).items()}
    assert set(taken) <= compost_eligible
    for acc, amount in taken.items():
        posting = history.run_posting(acc, c_run.pk)
        before = history.balance_before(acc, posting[0])
        assert before in (model[acc].balance, model[acc].balance + r_run.per_wallet), acc
        assert amount == share(before, "0.10") >= 10, acc
    for acc in compost_eligible:
        if model[acc].balance >= 100:
            assert acc in taken, acc
    # and the redistribution credited its counted set, its pot taken from the silo it saw
    credited = run_postings(r_run.pk)
    assert set(credited) == redistribution.eligible
    assert r_run.pot == share(r_run.silo_before, "0.05")
    assert silo <= r_run.silo_before <= silo + c_run.amount_done
    assert system_balance(AccountKind.SILO) == (
        silo + c_run.amount_done - r_run.per_wallet * r_run.eligible_wallets
    )


# --- processes starting the same run share it ------------------------------------------------


def test_two_processes_starting_the_same_run_share_it():
    # given a population of 12 chunks, and two callers asking for this week's compost at once
    # (two processes: each its own connection, one worker thread each), each of which, after
    # its first chunk, waits until the other has done one too
    seed_population(wallets=600, as_of=A)
    barrier = threading.Barrier(2)
    did: dict[str, int] = {"a": 0, "b": 0}
    step = threading.Condition()

    def ask(name: str) -> Callable[[], Run]:
        other = "b" if name == "a" else "a"

        def progress(run: Run) -> None:  # after each chunk this caller did
            with step:
                did[name] += 1
                step.notify_all()
                assert step.wait_for(lambda: did[other] > 0, GUARD_SECONDS), f"{other} never joined"

        def go() -> Run:
            barrier.wait()
            return compost_run_start(as_of=A, chunk_size=CHUNK, workers=1, progress=progress)

        return go

    callers = [Worker(ask(n), name=n, guard_seconds=GUARD_SECONDS) for n in ("a", "b")]
    for w in callers:
        w.start()
    a, b = (settle(w) for w in callers)
    # then one live run exists, both callers got it finished, and they shared its chunks:
    # each did some, every chunk was done once (by the caller that reported it): the
    # compost's, one per key range (each stores its statement leaf: the hash step has none)
    run = Run.objects.get(kind=RunKind.COMPOST, dry_run=False)
    assert a.pk == b.pk == run.pk
    assert (a.status, b.status, run.status) == (RunStatus.DONE,) * 3
    assert min(did.values()) >= 1
    assert run.chunks_done == run.chunks_total
    assert did["a"] + did["b"] == RunChunk.objects.filter(run_id=run.pk).count()
    assert did["a"] + did["b"] == run.chunks_total
    assert not RunChunk.objects.filter(run_id=run.pk, step=RunChunkStep.HASH).exists()
    assert run.attempts == 1  # joining a running run is not a new attempt
    # and each eligible wallet was composted once
    plan = compost_plan(seed_model(), CompostRules(), A)
    assert {acc: -x for acc, x in run_postings(run.pk).items()} == plan
    assert (run.wallets_done, run.amount_done) == (len(plan), sum(plan.values()))


def test_eight_callers_starting_the_same_run_book_it_once():
    # given a population and eight threads asking for this week's compost at once
    seed_population(wallets=600, as_of=A)
    barrier = threading.Barrier(8)

    def ask() -> int:
        barrier.wait()
        return compost_run_start(as_of=A, chunk_size=CHUNK, workers=1).pk

    workers = [Worker(ask, name=f"ask-{i}", guard_seconds=GUARD_SECONDS) for i in range(8)]
    for w in workers:
        w.start()
    run_ids = {settle(w) for w in workers}
    # then every caller got the one live run (the openers that lost the race found it)
    run = Run.objects.get(kind=RunKind.COMPOST, dry_run=False)
    assert run_ids == {run.pk}
    assert (run.status, run.attempts) == (RunStatus.DONE, 1)
    # and each eligible wallet was composted once; asked once more, it is returned as it is
    plan = compost_plan(seed_model(), CompostRules(), A)
    assert {a: -x for a, x in run_postings(run.pk).items()} == plan
    again = compost_run_start(as_of=A)
    assert (again.pk, again.chunks_done, again.attempts) == (run.pk, run.chunks_done, 1)
    # and a dry run at the same instant still computes and records, booking nothing
    dry = compost_run_start(as_of=A, dry_run=True)
    assert (dry.dry_run, dry.status) == (True, RunStatus.DONE)
    assert {a: -x for a, x in run_postings(run.pk).items()} == plan
