"""Chunks (``saka.engine.chunks``): a claim leases one free pending chunk; claimers never get
the same chunk; a leased chunk is skipped until its lease runs out; idle leases are freed but
never one whose chunk is being worked on; a chunk whose lease ran out while its first worker
was still in its transaction is done once; lock timeouts are retried, boundedly."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from saka.core.errors import LockTimeout
from saka.engine import chunks, lifecycle
from saka.engine.conf import get_settings
from saka.grains.models import RunChunk
from tests.engine.tiny import STEP, Tiny
from tests.support.db import pg_connect
from tests.support.threads import GUARD_SECONDS, Worker, run_all, settle

pytestmark = pytest.mark.django_db


def _count(tiny: Tiny) -> Any:
    return tiny.spec.steps[0]


def _chunk(run: Any, lo: int) -> RunChunk:
    return RunChunk.objects.get(run_id=run.pk, step=STEP, lo=lo)


def _expire(run: Any, lo: int) -> None:
    """The chunk's lease ran out (as it does once ``SAKA_RUN_LEASE_SECONDS`` passed)."""
    RunChunk.objects.filter(run_id=run.pk, step=STEP, lo=lo).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )


# --- claims and leases ------------------------------------------------------------------------


def test_plan_is_idempotent_and_keeps_the_chunks_done(tiny: Tiny) -> None:
    # given a run of 3 chunks, one of them done
    run = tiny.open(3)
    assert chunks.do(tiny.spec, run, _count(tiny), 10, 20, "w") is True
    # when its step is planned again (a resumed phase), then nothing changes
    assert chunks.plan(tiny.spec, run, _count(tiny)) == 3
    rows = RunChunk.objects.filter(run_id=run.pk).order_by("lo")
    assert [(c.lo, c.hi, c.done_at is not None) for c in rows] == [
        (0, 10, False),
        (10, 20, True),
        (20, 30, False),
    ]


def test_a_claim_leases_the_first_free_pending_chunk(tiny: Tiny) -> None:
    # given a run of 3 chunks
    run = tiny.open(3)
    step = _count(tiny)
    # when three workers claim in turn, then each gets its own chunk, in key order, leased
    claimed = [chunks.claim(tiny.spec, run.pk, step, w) for w in ("a", "b", "c")]
    assert claimed == [(0, 10), (10, 20), (20, 30)]
    for (lo, _), worker in zip(claimed, "abc", strict=True):
        chunk = _chunk(run, lo)
        assert (chunk.worker, chunk.claims, chunk.done_at) == (worker, 1, None)
        assert chunk.lease_until > timezone.now()
    # and while every chunk is leased, there is nothing to claim
    assert chunks.claim(tiny.spec, run.pk, step, "d") is None
    # when a lease runs out, then that chunk is claimed again (by whoever asks)
    _expire(run, 10)
    assert chunks.claim(tiny.spec, run.pk, step, "d") == (10, 20)
    assert (_chunk(run, 10).worker, _chunk(run, 10).claims) == ("d", 2)
    # and a done chunk is never claimed, whatever its lease
    assert chunks.do(tiny.spec, run, step, 0, 10, "a") is True
    _expire(run, 0)
    assert chunks.claim(tiny.spec, run.pk, step, "e") is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_claimers_at_once_never_get_the_same_chunk(tiny: Tiny) -> None:
    # given a run of 60 chunks and four claimers on their own connections, started together
    run = tiny.open(60)
    barrier = threading.Barrier(4)

    def claim_all(name: str) -> Any:
        def go() -> list[tuple[int, int]]:
            got = []
            while (leased := chunks.claim(tiny.spec, run.pk, _count(tiny), name)) is not None:
                got.append(leased)
            return got

        return go

    workers = run_all([Worker(claim_all(f"w{i}"), name=f"w{i}", barrier=barrier) for i in range(4)])
    got = [settle(w) for w in workers]
    # then every chunk was leased once, by one of them
    flat = [c for g in got for c in g]
    assert sorted(flat) == [(lo, lo + 10) for lo in range(0, 600, 10)]
    assert len(set(flat)) == len(flat)
    assert set(RunChunk.objects.filter(run_id=run.pk).values_list("claims", flat=True)) == {1}


# --- idle leases ----------------------------------------------------------------------------


def test_free_idle_leases_frees_the_leases_claimed_long_enough_ago(tiny: Tiny) -> None:
    # given two leased chunks: one claimed just now, one claimed 10 seconds ago
    run = tiny.open(2)
    step = _count(tiny)
    chunks.claim(tiny.spec, run.pk, step, "old")
    chunks.claim(tiny.spec, run.pk, step, "new")
    RunChunk.objects.filter(run_id=run.pk, lo=0).update(
        lease_until=timezone.now() + timedelta(seconds=get_settings().lease_seconds - 10)
    )
    # when idle leases claimed at least 2 seconds ago are freed, then only the old one is
    assert chunks.free_idle_leases(tiny.spec, run.pk, claimed_seconds_ago=2) == 1
    assert (_chunk(run, 0).lease_until, _chunk(run, 10).worker) == (None, "new")
    assert _chunk(run, 10).lease_until is not None
    # and it is claimed again at once; freeing every idle lease (as a joining worker does)
    # frees both
    assert chunks.claim(tiny.spec, run.pk, step, "next") == (0, 10)
    assert chunks.free_idle_leases(tiny.spec, run.pk) == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_free_idle_leases_never_frees_a_chunk_being_worked_on(tiny: Tiny) -> None:
    # given two leased chunks, one of them locked by its (open) chunk transaction in another
    # process
    run = tiny.open(2)
    chunks.claim(tiny.spec, run.pk, _count(tiny), "dead")
    chunks.claim(tiny.spec, run.pk, _count(tiny), "busy")
    other = pg_connect()
    try:
        other.execute(
            "SELECT done_at FROM grains_run_chunk WHERE run_id = %s AND step = %s AND lo = 10 "
            "FOR UPDATE",
            [run.pk, STEP],
        )
        # when idle leases are freed, then only the unlocked one is, at once (no wait)
        assert chunks.free_idle_leases(tiny.spec, run.pk) == 1
        assert _chunk(run, 0).lease_until is None
        assert _chunk(run, 10).lease_until is not None
    finally:
        other.rollback()
        other.close()
    # and once its transaction ended, that one is idle too
    assert chunks.free_idle_leases(tiny.spec, run.pk) == 1


# --- a chunk whose lease ran out mid-transaction ----------------------------------------------


def _blocked_on(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [pid]
        )
        return cursor.fetchone() is not None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_chunk_whose_lease_ran_out_mid_transaction_is_done_once(tiny: Tiny) -> None:
    # given a chunk claimed by a first worker, whose lease ran out, then claimed by a second
    run = tiny.open(1)
    step = _count(tiny)
    assert chunks.claim(tiny.spec, run.pk, step, "first") == (0, 10)
    _expire(run, 0)
    assert chunks.claim(tiny.spec, run.pk, step, "second") == (0, 10)
    # and the first worker inside the chunk's transaction (its row locked), held there
    inside, go = threading.Event(), threading.Event()
    backend: dict[str, int] = {}

    def held(run: Any, lo: int, hi: int, worker: str) -> None:
        if worker == "first":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backend["first"] = cursor.fetchone()[0]
            inside.set()
            assert go.wait(GUARD_SECONDS)

    tiny.chunk_work = held
    first = Worker(lambda: chunks.do(tiny.spec, run, step, 0, 10, "first"), name="first")
    first.start()
    assert inside.wait(GUARD_SECONDS)
    # when the second worker does the chunk, it waits on the row lock
    second = Worker(lambda: chunks.do(tiny.spec, run, step, 0, 10, "second"), name="second")
    second.start()
    deadline = time.monotonic() + GUARD_SECONDS
    while not _blocked_on(backend["first"]):
        assert time.monotonic() < deadline, "the second worker never waited on the chunk"
        time.sleep(0.01)
    go.set()
    # then the first did it, the second found it done and skipped it: its work ran once
    assert (settle(first), settle(second)) == (True, False)
    assert tiny.calls[("count", 0)] == tiny.committed[("count", 0)] == 1
    chunk = _chunk(run, 0)
    assert (chunk.worker, chunk.claims, chunk.lease_until) == ("first", 2, None)
    assert chunk.done_at is not None


# --- retries ------------------------------------------------------------------------------


def _timing_out(tiny: Tiny, times: int) -> list[int]:
    """The chunk work meets a lock timeout ``times`` times, then works."""
    calls: list[int] = []

    def work(run: Any, lo: int, hi: int, worker: str) -> None:
        calls.append(lo)
        if len(calls) <= times:
            raise LockTimeout()

    tiny.chunk_work = work
    return calls


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backoff delays of ``chunks.do`` (recorded, not slept)."""
    delays: list[float] = []
    monkeypatch.setattr(
        chunks, "time", SimpleNamespace(sleep=delays.append, monotonic=time.monotonic)
    )
    return delays


@override_settings(SAKA_RUN_CHUNK_RETRIES=3)
def test_a_lock_timeout_is_retried_with_backoff(tiny: Tiny, slept: list[float]) -> None:
    # given a chunk that meets a lock timeout three times, then works
    run = tiny.open(1)
    calls = _timing_out(tiny, 3)
    chunks.claim(tiny.spec, run.pk, _count(tiny), "w")
    # when a worker does it, then the fourth try did it, after backoffs of 0.1, 0.2, 0.4 s
    assert chunks.do(tiny.spec, run, _count(tiny), 0, 10, "w") is True
    assert calls == [0, 0, 0, 0]
    assert slept == [0.1, 0.2, 0.4]
    assert _chunk(run, 0).done_at is not None


@override_settings(SAKA_RUN_CHUNK_RETRIES=9)
def test_the_backoff_is_capped(tiny: Tiny, slept: list[float]) -> None:
    run = tiny.open(1)
    _timing_out(tiny, 9)
    assert chunks.do(tiny.spec, run, _count(tiny), 0, 10, "w") is True
    cap = chunks.MAX_BACKOFF_SECONDS
    assert slept == [min(0.1 * 2**i, cap) for i in range(9)]
    assert slept[-1] == cap


@override_settings(SAKA_RUN_CHUNK_RETRIES=2)
def test_lock_timeouts_past_the_retries_give_the_lease_up_and_interrupt_the_run(
    tiny: Tiny, slept: list[float]
) -> None:
    # given a chunk that keeps meeting lock timeouts
    run = tiny.open(1)
    calls = _timing_out(tiny, 100)
    chunks.claim(tiny.spec, run.pk, _count(tiny), "w")
    # when a worker does it, then it tries 1 + SAKA_RUN_CHUNK_RETRIES times and gives up
    with pytest.raises(LockTimeout):
        chunks.do(tiny.spec, run, _count(tiny), 0, 10, "w")
    assert len(calls) == 3
    assert len(slept) == 2
    # and the chunk is pending with its lease given up: the next worker takes it at once
    chunk = _chunk(run, 0)
    assert (chunk.done_at, chunk.lease_until) == (None, None)
    # and a worker driving the run records why it stopped
    with pytest.raises(LockTimeout):
        lifecycle.drive(tiny.spec, run.pk)
    run.refresh_from_db()
    assert run.status == "interrupted"
    assert run.error.startswith("LockTimeout")


def test_another_error_is_not_retried_and_gives_the_lease_up(
    tiny: Tiny, slept: list[float]
) -> None:
    run = tiny.open(1)
    calls: list[int] = []

    def broken(run: Any, lo: int, hi: int, worker: str) -> None:
        calls.append(lo)
        raise ValueError("a bug")

    tiny.chunk_work = broken
    chunks.claim(tiny.spec, run.pk, _count(tiny), "w")
    with pytest.raises(ValueError, match="a bug"):
        chunks.do(tiny.spec, run, _count(tiny), 0, 10, "w")
    assert (calls, slept) == ([0], [])
    assert (_chunk(run, 0).done_at, _chunk(run, 0).lease_until) == (None, None)
