"""Runs racing runs (PostgreSQL, real threads and processes): a compost and a redistribution at
once compost the current balance; one executing run per kind, another process's run is
refused (a dry run is not), two processes starting the same run book it once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from saka.core.db import AdvisoryNamespace, advisory_key
from saka.demo.seed import seed_population
from saka.grains.errors import RunInProgress
from saka.grains.models import AccountKind, EntryKind, Run, RunKind, SakaEntry
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from saka.ledger.reconcile import reconcile
from tests.support.clock import A
from tests.support.db import pg_connect
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


# --- one executing run per kind -------------------------------------------------------------


def _backend_alive(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone() is not None


def test_a_run_another_process_executes_is_refused_and_a_dry_run_is_not():
    # given another process executing this week's compost (it holds the kind's lease)
    seed_population(wallets=200, as_of=A)
    other = pg_connect(autocommit=True)
    (other_pid,) = other.execute("SELECT pg_backend_pid()").fetchone()
    try:
        other.execute(
            "SELECT pg_advisory_lock(%s)", [advisory_key(AdvisoryNamespace.GRAINS_RUN_KIND, 1)]
        )
        # when this process asks for the live run, then it is refused, and nothing is booked
        with pytest.raises(RunInProgress):
            compost_run_start(as_of=A)
        assert not SakaEntry.objects.filter(kind=EntryKind.COMPOST).exists()
        # and a dry run or a redistribution is not blocked
        assert compost_run_start(as_of=A, dry_run=True).wallets_done > 0
        redistribution_run_start(as_of=A)
    finally:
        other.close()  # the lease goes with the session ...
    deadline = time.monotonic() + GUARD_SECONDS
    while _backend_alive(other_pid):  # ... once its backend has ended
        assert time.monotonic() < deadline, "the other session never ended"
        time.sleep(0.01)
    # when the other process is gone, the run executes
    run = compost_run_start(as_of=A)
    assert run.wallets_done > 0


def test_two_processes_starting_the_same_run_book_it_once():
    # given a population and eight threads asking for this week's compost at once
    seed_population(wallets=600, as_of=A)
    barrier = threading.Barrier(8)

    def ask() -> Any:
        barrier.wait()
        try:
            return compost_run_start(as_of=A, chunk_size=CHUNK).pk
        except RunInProgress as exc:
            return exc

    workers = [Worker(ask, name=f"ask-{i}", guard_seconds=GUARD_SECONDS) for i in range(8)]
    for w in workers:
        w.start()
    outcomes = [settle(w) for w in workers]
    # then each got the run or a RunInProgress; one live run exists
    run_ids = {o for o in outcomes if isinstance(o, int)}
    assert len(run_ids) >= 1
    assert all(isinstance(o, int | RunInProgress) for o in outcomes)
    run = Run.objects.get(kind=RunKind.COMPOST, dry_run=False)
    assert run_ids == {run.pk}
    # when it is asked once more, it is finished; each eligible wallet composted once
    run = compost_run_start(as_of=A)
    plan = compost_plan(seed_model(), CompostRules(), A)
    assert {a: -x for a, x in run_postings(run.pk).items()} == plan
