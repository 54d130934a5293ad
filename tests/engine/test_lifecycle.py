"""A run's lifecycle (``saka.engine.lifecycle``): which runs are stalled, resuming one (an
attempt more), an interruption keeping why and how long, the chunk figures operators see, and
many workers on one run (every chunk done once, every phase moved once)."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from saka.demo.seed import seed_population
from saka.engine import chunks, lifecycle
from saka.engine.errors import ChunkFailed
from saka.engine.spec import Chunked
from saka.grains.models import (
    AccountKind,
    Run,
    RunChunk,
    RunChunkStep,
    RunKind,
    RunStatus,
    SakaEntry,
)
from saka.grains.runs.compost import COMPOST, compost_run_start
from saka.grains.runs.lifecycle import open_live
from saka.grains.runs.redistribution import REDISTRIBUTION
from tests.engine.tiny import SIZE, STEP, Tiny
from tests.support.clock import A
from tests.support.run_crashes import assert_redistribution_exactly_once
from tests.support.runs_reference import DAY, build_wallet, new_member, system_balance
from tests.support.threads import Worker, run_all, settle

pytestmark = pytest.mark.django_db


def _set(run: Any, **fields: Any) -> None:
    Run.objects.filter(pk=run.pk).update(**fields)
    run.refresh_from_db()


def _long_ago() -> Any:
    return timezone.now() - timedelta(seconds=settings.SAKA_RUN_STALL_SECONDS + 60)


def _stalled(tiny: Tiny) -> list[int]:
    return list(lifecycle.stalled(tiny.spec).values_list("pk", flat=True))


# --- stalled runs ---------------------------------------------------------------------------


def test_which_runs_are_stalled(tiny: Tiny) -> None:
    run = tiny.open(3)
    step = tiny.spec.steps[0]
    # a run just opened (queued) or running with recent progress is not stalled
    assert _stalled(tiny) == []
    _set(run, status=RunStatus.RUNNING)
    assert _stalled(tiny) == []
    # a running run with no live lease and no progress for SAKA_RUN_STALL_SECONDS is
    _set(run, updated_at=_long_ago())
    assert _stalled(tiny) == [run.pk]
    assert lifecycle.is_stalled(tiny.spec, run)
    # ... and so is one still queued that long (its workers were lost)
    _set(run, status=RunStatus.QUEUED)
    assert _stalled(tiny) == [run.pk]
    # but not while a worker holds a live lease on one of its chunks, however old its progress
    _set(run, status=RunStatus.RUNNING)
    chunks.claim(tiny.spec, run.pk, step, "alive")
    assert _stalled(tiny) == []
    # an interrupted run (a worker failed) is not either while another worker holds a lease
    # (it goes on with the run) ...
    _set(run, status=RunStatus.INTERRUPTED, updated_at=timezone.now())
    assert _stalled(tiny) == []
    # ... and is stalled as soon as nobody does, however recent its progress
    chunks.release(tiny.spec, run.pk, STEP, 0)
    assert _stalled(tiny) == [run.pk]
    # a done run never is
    _set(run, status=RunStatus.DONE, updated_at=_long_ago())
    assert _stalled(tiny) == []
    assert not lifecycle.is_stalled(tiny.spec, run)


def test_a_dry_run_is_never_stalled(tiny: Tiny) -> None:
    # given a dry run left "running" long ago (its process died)
    dry = Run.objects.create(
        kind=tiny.kind,
        period="tiny-dry",
        dry_run=True,
        status=RunStatus.RUNNING,
        as_of=timezone.now(),
        trigger="python",
        updated_at=_long_ago(),
    )
    # then it is not a live run's business: nothing resumes it
    assert _stalled(tiny) == []
    assert not lifecycle.is_stalled(tiny.spec, dry)


# --- resume, attempts, interruptions -------------------------------------------------------------


def test_resume_marks_a_stalled_run_and_its_next_worker_counts_an_attempt(tiny: Tiny) -> None:
    # given a run "running" but stalled (its workers died), one chunk done
    run = tiny.open(3)
    assert chunks.do(tiny.spec, run, tiny.spec.steps[0], 0, 10, "gone") is True
    _set(run, status=RunStatus.RUNNING, updated_at=_long_ago())
    # when it is resumed, then it is marked interrupted (resumable), nothing else changes
    resumed = lifecycle.resume(tiny.spec, run.pk)
    assert (resumed.status, resumed.attempts, resumed.phase) == (RunStatus.INTERRUPTED, 1, 0)
    # and resuming it again (a second operator) changes nothing more
    assert lifecycle.resume(tiny.spec, run.pk).attempts == 1
    # when a worker joins, then that is its second attempt, and it finishes the run
    done = lifecycle.drive(tiny.spec, run.pk)
    assert (done.status, done.attempts, done.outcome, done.error) == (
        RunStatus.DONE,
        2,
        "completed",
        "",
    )
    assert tiny.calls[("count", 0)] == 1  # the chunk done before was not done again
    assert tiny.calls[("count", 10)] == tiny.calls[("count", 20)] == 1
    # and a done run is left as it is by resume and by a late worker
    assert lifecycle.resume(tiny.spec, run.pk).status == RunStatus.DONE
    assert lifecycle.drive(tiny.spec, run.pk).attempts == 2
    assert tiny.calls["finish"] == 1


def test_joining_a_queued_or_running_run_is_the_same_attempt(tiny: Tiny) -> None:
    run = tiny.open(2)
    lifecycle._join(tiny.spec, run.pk)
    run.refresh_from_db()
    assert (run.status, run.attempts) == (RunStatus.RUNNING, 1)
    assert run.started_at is not None
    lifecycle._join(tiny.spec, run.pk)  # a second worker
    run.refresh_from_db()
    assert (run.status, run.attempts) == (RunStatus.RUNNING, 1)


def test_interrupt_keeps_the_error_and_the_time_spent(tiny: Tiny) -> None:
    # given a run that has been running for 5 seconds
    run = tiny.open(2)
    lifecycle._join(tiny.spec, run.pk)
    _set(run, started_at=timezone.now() - timedelta(seconds=5))
    # when its worker fails
    lifecycle.interrupt(tiny.spec, run.pk, RuntimeError("disk full"))
    # then the run says why, and counts the time spent (no attempt running now)
    run.refresh_from_db()
    assert (run.status, run.error, run.started_at) == (
        RunStatus.INTERRUPTED,
        "RuntimeError: disk full",
        None,
    )
    first = run.duration_ms
    assert first >= 5000
    # when another worker of the same attempt fails too, the error is the latest, the time
    # is not counted twice
    lifecycle.interrupt(tiny.spec, run.pk, ValueError("bad"))
    run.refresh_from_db()
    assert (run.error, run.duration_ms) == ("ValueError: bad", first)
    # when it is resumed for 2 seconds more and fails again, the time adds up
    lifecycle._join(tiny.spec, run.pk)
    _set(run, started_at=timezone.now() - timedelta(seconds=2))
    lifecycle.interrupt(tiny.spec, run.pk, RuntimeError("again"))
    run.refresh_from_db()
    assert (run.attempts, run.error) == (2, "RuntimeError: again")
    assert run.duration_ms >= first + 2000
    # and once it finishes, the error is cleared and the time is all attempts' together
    before = run.duration_ms
    done = lifecycle.drive(tiny.spec, run.pk)
    assert (done.status, done.error) == (RunStatus.DONE, "")
    assert done.duration_ms >= before
    # and a done run is not interrupted any more
    lifecycle.interrupt(tiny.spec, run.pk, RuntimeError("late"))
    assert Run.objects.get(pk=run.pk).status == RunStatus.DONE


# --- what operators see ------------------------------------------------------------------------


def test_chunk_summary_figures(tiny: Tiny) -> None:
    # given a run of 4 chunks: one done, one leased by a live worker, one whose lease ran out
    run = tiny.open(4)
    step = tiny.spec.steps[0]
    assert lifecycle.chunk_summary(tiny.spec, run) == {
        "step": "count",
        "phase": 0,
        "total": 4,
        "done": 0,
        "leased": 0,
        "pending": 4,
        "leases": [],
    }
    chunks.claim(tiny.spec, run.pk, step, "w-done")
    assert chunks.do(tiny.spec, run, step, 0, 10, "w-done") is True
    chunks.claim(tiny.spec, run.pk, step, "host-a:1:0")
    chunks.claim(tiny.spec, run.pk, step, "dead")
    RunChunk.objects.filter(run_id=run.pk, lo=20).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    # then the step's figures count the expired lease as pending, and list the live lease
    summary = lifecycle.chunk_summary(tiny.spec, run)
    leases = summary.pop("leases")
    assert summary == {
        "step": "count",
        "phase": 0,
        "total": 4,
        "done": 1,
        "leased": 1,
        "pending": 2,
    }
    assert [(x["step"], x["lo"], x["hi"], x["worker"]) for x in leases] == [
        (STEP, 10, 20, "host-a:1:0")
    ]
    # and at a single step, or once the run is done, the figures of where it stands
    lifecycle.drive(tiny.spec, run.pk)
    run.refresh_from_db()
    assert lifecycle.chunk_summary(tiny.spec, run) == {
        "step": "close",
        "phase": 2,
        "leases": [],
    }


# --- many workers ------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("drivers", [1, 3], ids=["one_process", "three_processes"])
def test_many_workers_do_each_chunk_once_and_each_phase_once(tiny: Tiny, drivers: int) -> None:
    # given a run of 40 chunks, driven by ``drivers`` callers (processes) of 4 threads each
    run = tiny.open(40)
    barrier = threading.Barrier(drivers)
    workers = run_all(
        [
            Worker(
                lambda: lifecycle.drive(tiny.spec, run.pk, threads=4),
                name=f"driver-{i}",
                barrier=barrier,
            )
            for i in range(drivers)
        ]
    )
    results = [settle(w) for w in workers]
    # then every caller got the finished run
    assert {(r.pk, r.status, r.outcome) for r in results} == {(run.pk, RunStatus.DONE, "completed")}
    # and every chunk's work committed exactly once; the single step and the finish once
    chunk_keys = {("count", lo) for lo in range(0, 400, 10)}
    assert {k: tiny.committed[k] for k in chunk_keys} == dict.fromkeys(chunk_keys, 1)
    assert (tiny.committed["close"], tiny.committed["finish"]) == (1, 1)
    assert (tiny.calls["close"], tiny.calls["finish"]) == (1, 1)
    # and the run row agrees: last phase, one attempt, its chunks all done
    run.refresh_from_db()
    assert (run.phase, run.attempts) == (len(tiny.spec.steps), 1)
    state = chunks.step_state(tiny.spec, run.pk, STEP)
    assert (state.total, state.done, state.leased) == (40, 40, 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_redistribution_on_four_threads_prepares_once_and_credits_each_wallet_once() -> None:
    # given a seeded population composted into the silo, and the redistribution's steps
    # tallied (each chunk's and the prepare step's committed works)
    seed_population(wallets=600, as_of=A)
    compost_run_start(as_of=A)
    silo = system_balance(AccountKind.SILO)
    committed: Counter[Any] = Counter()
    lock = threading.Lock()

    def tallied(key: Callable[..., Any], work: Callable[..., None]) -> Callable[..., None]:
        def call(*args: Any) -> None:
            work(*args)
            name = key(*args)

            def done() -> None:
                with lock:
                    committed[name] += 1

            transaction.on_commit(done)

        return call

    steps = [
        dataclasses.replace(s, work=tallied(lambda run, lo, *_, n=s.name: (n, lo), s.work))
        if isinstance(s, Chunked)
        else dataclasses.replace(s, work=tallied(lambda run, n=s.name: n, s.work))
        for s in REDISTRIBUTION.steps
    ]
    spec = dataclasses.replace(REDISTRIBUTION, steps=steps)
    run, _ = open_live(
        spec,
        kind=RunKind.REDISTRIBUTION,
        at=A,
        trigger="python",
        triggered_by_id=None,
        chunk_size=25,
    )
    # when four threads drive it
    done = lifecycle.drive(spec, run.pk, threads=4)
    # then the pot moved once, every chunk of each step committed once, and the counted set
    # was credited exactly once
    assert committed["prepare"] == committed["settle"] == 1
    for name, step in (("freeze", RunChunkStep.FREEZE), ("credit", RunChunkStep.APPLY)):
        los = set(RunChunk.objects.filter(run_id=run.pk, step=step).values_list("lo", flat=True))
        assert {lo: committed[(name, lo)] for lo in los} == dict.fromkeys(los, 1)
    assert SakaEntry.objects.filter(run_id=run.pk, reason="pot").count() == 1
    assert_redistribution_exactly_once(done, 600, silo)


@pytest.mark.parametrize(
    ("spec", "step"),
    [(COMPOST, "compost"), (REDISTRIBUTION, "freeze")],
    ids=["compost", "freeze"],
)
def test_every_chunk_done_is_progress(spec: Any, step: str, staff_user: Any) -> None:
    # given a live run "running" with no progress for longer than the stall time
    build_wallet(member_id=new_member("m").pk, balance=60, at=A - DAY, staff_id=staff_user.pk)
    kind = spec.live["kind"]
    run, _ = open_live(
        spec, kind=kind, at=A, trigger="python", triggered_by_id=None, chunk_size=100
    )
    _set(run, status=RunStatus.RUNNING, updated_at=_long_ago())
    assert lifecycle.is_stalled(spec, run)
    # when a worker does one of its chunks
    chunked = next(s for s in spec.steps if s.name == step)
    lo, hi = chunks.claim(spec, run.pk, chunked, "w")
    assert chunks.do(spec, run, chunked, lo, hi, "w") is True
    # then the run moved (its updated_at is the chunk's): it is not stalled
    run.refresh_from_db()
    assert run.updated_at > _long_ago()
    assert not lifecycle.is_stalled(spec, run)


# --- a chunk refused by the database --------------------------------------------------------------


def test_a_chunk_refused_by_the_database_is_a_typed_error_never_retried(tiny: Tiny) -> None:
    # given a run whose second chunk's statement violates a constraint (once)
    run = tiny.open(3)
    fail = {"left": 1}

    def refused(run: Any, lo: int, hi: int, worker: str) -> None:
        if lo == SIZE and fail["left"]:
            fail["left"] -= 1
            raise IntegrityError('new row violates check constraint "some_check"')

    tiny.chunk_work = refused
    # when the run is driven
    with pytest.raises(ChunkFailed) as failed:
        lifecycle.drive(tiny.spec, run.pk)
    # then the error is typed (which chunk, what the database said), the chunk was tried once,
    # its lease given up, and the run interrupted with the error
    assert failed.value.data | {"error": ""} == {
        "run": tiny.spec.name,
        "run_id": run.pk,
        "step": "count",
        "lo": SIZE,
        "hi": 2 * SIZE,
        "error": "",
    }
    assert tiny.calls[("count", SIZE)] == 1
    chunk = RunChunk.objects.get(run_id=run.pk, step=STEP, lo=SIZE)
    assert (chunk.done_at, chunk.lease_until) == (None, None)
    run.refresh_from_db()
    assert run.status == RunStatus.INTERRUPTED
    assert run.error.startswith("ChunkFailed")
    # and the run stays resumable: driven again, it finishes
    assert lifecycle.drive(tiny.spec, run.pk).status == RunStatus.DONE
