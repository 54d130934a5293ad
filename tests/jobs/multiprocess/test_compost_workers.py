"""Three Celery worker processes share one 200,000-wallet compost started by beat's task; one is
SIGKILLed mid-run while it holds a lease; the run ends with exactly the figures of an
uninterrupted run (spec 3, 6, 8).

Where the kill lands is made deterministic: the test holds one eligible wallet of each of three
middle chunks, so each worker in turn claims one of them and waits inside its chunk's
transaction; the workers claim in key order, one chunk at a time, so every chunk before those
three is done by then."""

from __future__ import annotations

from typing import Any

import pytest

from saka.grains.models import Run, RunChunk, RunChunkStep, RunKind, RunStatus
from saka.grains.runs.chunks import DEFAULT_CHUNK_SIZE
from saka.grains.runs.compost import compost_run_start
from saka.jobs.schedule import COMPOST_TASK
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
from tests.support.run_crashes import assert_compost_exactly_once, expected_compost_postings
from tests.support.run_scenarios import seed

N = 200_000  # wallet ids 2..200001: 41 chunks of 5,000
HELD = (19, 20, 21)  # one held wallet in each: chunks 0..18 are done before the kill

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, reset_sequences=True)]


def test_three_workers_share_a_compost_and_survive_one_killed(workers: Any) -> None:
    # given the seeded population and what an uninterrupted compost does (a dry run, and the
    # reference model's postings)
    seed(N)
    dry = compost_run_start(as_of=A, dry_run=True)
    expected = expected_compost_postings(N)
    assert (dry.wallets_done, dry.amount_done) == (len(expected), -sum(expected.values()))
    held = one_per_chunk(expected, DEFAULT_CHUNK_SIZE, HELD)
    pool = workers(3)
    with HeldRows("grains_account", held.values()) as rows:
        # when beat's compost task reaches the workers
        send(COMPOST_TASK, as_of=A.isoformat())
        # then each of the three waits in one of the held chunks, holding its lease
        wait_until(lambda: len(rows.waiters()) == 3, what="three blocked workers", workers=pool)
        live = Run.objects.filter(kind=RunKind.COMPOST, dry_run=False)
        run = wait_for_row(live, workers=pool)
        leases = live_leases(RunChunk, run.pk, RunChunkStep.APPLY)
        holders = {leases[k * DEFAULT_CHUNK_SIZE] for k in HELD}
        assert len(holders) == 3
        assert RunChunk.objects.filter(run_id=run.pk, done_at__isnull=False).count() == HELD[0]
        # when the worker holding the middle one is SIGKILLed (then the rows are let go)
        victim = pool.by_lease(leases[HELD[1] * DEFAULT_CHUNK_SIZE])
        pool.kill(victim)
    # then the run finishes: every eligible wallet composted once, the books reconcile
    run = wait_for(Run, run.pk, [RunStatus.DONE], workers=pool)
    assert_compost_exactly_once(run, N)
    assert (run.outcome, run.wallets_done, run.amount_done) == (
        dry.outcome,
        dry.wallets_done,
        dry.amount_done,
    )
    # and the killed worker's chunk was done by another one, after its lease was taken over
    chunk = RunChunk.objects.get(
        run_id=run.pk, step=RunChunkStep.APPLY, lo=HELD[1] * DEFAULT_CHUNK_SIZE
    )
    assert chunk.worker != victim.lease_name
    assert chunk.claims >= 2
    # and the chunks were done by at least two distinct worker processes
    assert len(done_by(RunChunk, run.pk)) >= 2
