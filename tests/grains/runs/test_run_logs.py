"""The runs' log lines: exactly one per chunk done and one per run at its end, each with the
run's kind, period, id, counts and time (docs/observability.md), and the chunk latency
histogram moved once per chunk."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from prometheus_client import REGISTRY

from saka.grains.models import RunChunk, RunChunkStep
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from tests.support.clock import A
from tests.support.run_rules import fill_silo
from tests.support.runs_reference import DAY

pytestmark = pytest.mark.django_db


def lines(caplog: pytest.LogCaptureFixture, event: str, run_id: int) -> list[Any]:
    return [
        r
        for r in caplog.records
        if getattr(r, "event", None) == event and getattr(r, "run_id", None) == run_id
    ]


def chunk_count(run: str, step: str) -> float:
    labels = {"run": run, "step": step}
    return REGISTRY.get_sample_value("saka_run_chunk_duration_seconds_count", labels) or 0.0


def test_a_compost_logs_each_chunk_once_and_its_end_once(make_wallet: Any, caplog: Any) -> None:
    # given seven idle wallets, composted in chunks of two ids
    for i in range(7):
        make_wallet(1000 + 10 * i, A - 100 * DAY)
    caplog.set_level(logging.INFO, logger="saka.runs")
    before = chunk_count("compost", "compost")
    # when the week's compost runs
    run = compost_run_start(as_of=A, chunk_size=2, workers=1)
    # then each chunk logged exactly one line, with the run's key and what the chunk did
    chunks = [r for r in lines(caplog, "run.chunk", run.pk) if r.step == "compost"]
    planned = set(
        RunChunk.objects.filter(run_id=run.pk, step=RunChunkStep.APPLY).values_list("lo", "hi")
    )
    assert len(planned) > 1
    assert sorted((r.lo, r.hi) for r in chunks) == sorted(planned)
    assert {(r.run, r.kind, r.period, r.step) for r in chunks} == {
        ("compost", "compost", run.period, "compost")
    }
    assert sum(r.counts["wallets"] for r in chunks) == run.wallets_done == 7
    assert sum(r.counts["amount"] for r in chunks) == run.amount_done > 0
    assert all(r.duration_ms >= 0 and r.worker for r in chunks)
    # and no hash step chunk (each compost chunk stored its statement leaf)
    assert not [r for r in lines(caplog, "run.chunk", run.pk) if r.step == "hash"]
    # and the run one line at its end, with its totals and time
    (done,) = lines(caplog, "run.done", run.pk)
    assert (done.run, done.kind, done.period, done.outcome) == (
        "compost",
        "compost",
        run.period,
        "completed",
    )
    assert done.counts == {"wallets": run.wallets_done, "amount": run.amount_done}
    assert (done.chunks_done, done.duration_ms, done.attempts) == (
        run.chunks_done,
        run.duration_ms,
        1,
    )
    # and the chunk latency histogram counted each chunk once
    assert chunk_count("compost", "compost") - before == len(planned)


def test_a_redistribution_logs_its_freeze_and_credit_chunks_and_its_end(
    make_wallet: Any, caplog: Any
) -> None:
    # given a silo to share and three active wallets
    fill_silo(make_wallet, [10_000, 20_000], at=A)
    for _ in range(3):
        make_wallet(100, A - DAY)
    caplog.set_level(logging.INFO, logger="saka.runs")
    # when the month's redistribution runs in chunks of two ids
    run = redistribution_run_start(as_of=A, chunk_size=2, workers=1)
    # then each freeze and credit chunk logged one line
    chunks = lines(caplog, "run.chunk", run.pk)
    rows = RunChunk.objects.filter(run_id=run.pk)
    by_step = {"freeze": RunChunkStep.FREEZE, "credit": RunChunkStep.APPLY}
    for name, step in by_step.items():
        logged = sorted((r.lo, r.hi) for r in chunks if r.step == name)
        assert logged == sorted(rows.filter(step=step).values_list("lo", "hi")), name
    frozen = sum(r.counts["wallets"] for r in chunks if r.step == "freeze")
    credited = [r for r in chunks if r.step == "credit"]
    assert frozen == run.eligible_wallets == 3
    assert sum(r.counts["wallets"] for r in credited) == run.wallets_done == 3
    assert sum(r.counts["amount"] for r in credited) == run.amount_done
    # and one line at its end
    (done,) = lines(caplog, "run.done", run.pk)
    assert (done.kind, done.period, done.outcome) == ("redistribution", run.period, run.outcome)
    assert done.counts == {"wallets": 3, "amount": run.amount_done}


def test_a_dry_run_logs_one_line(make_wallet: Any, caplog: Any) -> None:
    make_wallet(1000, A - 100 * DAY)
    caplog.set_level(logging.INFO, logger="saka.runs")
    dry = compost_run_start(as_of=A, dry_run=True)
    (line,) = lines(caplog, "run.dry", dry.pk)
    assert (line.kind, line.period, line.outcome) == ("compost", dry.period, "completed")
    assert line.counts == {"wallets_done": 1, "amount_done": dry.amount_done}
    assert not lines(caplog, "run.chunk", dry.pk)
