"""The fan-out measurement: one project run (compost or redistribution) driven by P worker
processes at once, as the batch engine lets any number of processes do
(``saka.engine.lifecycle.drive``; ``saka_compost --join`` is the same from a shell).

Both ends live here, and both run in child processes on the run's copy of the population:

- :func:`run_fanout`, in the contender process (``saka_bench_contender --contender
  project_<kind> --processes P``): it starts P - 1 worker processes and waits until each is
  warm (Django loaded, its connection open, ``ready`` on its stdout), then CHECKPOINTs and warms
  the table like every contender; then the clock: it opens the live run
  (``saka.grains.runs.lifecycle.open_live``), hands the run id to every worker (one line on its
  stdin: they wake at once, no polling) and drives the run itself as the P-th worker. The clock
  stops when its ``drive`` returns (the run is done: the same definition as the thread-based
  contender's). Then, untimed: the workers' results, the chunks each process did
  (``grains_run_chunk.worker``), ``reconcile`` if asked;
- :func:`worker`, in each of the P - 1 worker processes (``saka_bench_contender --contender
  run_worker``): warm, ``ready``, wait for the run id on stdin (end of file: the contender went
  away, exit), drive the run until it is done, report its statements, its peak RSS and when
  it drove.

Every process counts its own statements with the same wrapper as the contenders
(:func:`bench.contenders.measured`, from its ``drive`` on), so the queries reported are those of
all P processes. Each drives with ``threads`` threads (default 1: P processes, P connections).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from django.db import connection
from django.db.models import Count

from bench.contenders import CONTENDERS, measured, reconcile_report, rss_mb
from bench.dbs import BenchError
from bench.processes import (
    READY,
    READY_TIMEOUT_S,
    finish_piped,
    kill_running,
    send,
    start_piped,
    wait_ready,
)
from saka.engine import lifecycle as engine
from saka.engine.chunks import worker_name
from saka.engine.spec import Chunked, RunSpec
from saka.grains.models import Run, RunChunk, RunKind, RunStatus, RunTrigger
from saka.grains.runs.compost import COMPOST
from saka.grains.runs.lifecycle import open_live, validate_start
from saka.grains.runs.redistribution import REDISTRIBUTION

SPECS: dict[str, RunSpec] = {
    RunKind.COMPOST.value: COMPOST,
    RunKind.REDISTRIBUTION.value: REDISTRIBUTION,
}
WORKER = "fan-out worker"
DONE_TIMEOUT_S = 120.0  # a worker ends a poll after the run is done; this is far beyond it


def worker(kind: str, *, threads: int) -> dict[str, Any]:
    """One worker process: warm, say ``ready``, wait for the run id on stdin, drive the run
    until it is done."""
    spec = SPECS[kind]
    Run.objects.filter(pk=0).exists()  # warm: connection, ORM, no write
    sys.stdout.write(READY + "\n")
    sys.stdout.flush()
    line = sys.stdin.readline().strip()
    if not line.isdigit():
        raise BenchError(f"no run id on stdin ({line!r}): the contender process went away")
    rss_before = rss_mb()
    with measured() as counter:
        started_at = time.time()
        t0 = time.perf_counter()
        run = engine.drive(spec, int(line), threads=threads)
        drive_s = time.perf_counter() - t0
        ended_at = time.time()
    return {
        "pid": os.getpid(),
        "worker": worker_name(),
        "in_process": False,
        "run_status": run.status,
        "queries": counter.count,
        "drive_s": round(drive_s, 4),
        "started_at": started_at,
        "ended_at": ended_at,
        "rss_before_mb": rss_before,
        "peak_rss_mb": rss_mb(),
    }


def worker_args(kind: str, *, as_of: str, threads: int) -> list[str]:
    return [
        "saka_bench_contender",
        "--contender",
        "run_worker",
        "--kind",
        kind,
        "--threads",
        str(threads),
        "--as-of",
        as_of,
    ]


def _pid(worker: str | None) -> int | None:
    """The process id in an engine worker name (``host:pid`` or ``host:pid:thread``)."""
    parts = (worker or "").split(":")
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None


def chunks_by_process(
    spec: RunSpec, run_id: int, pids: list[int]
) -> tuple[list[dict[str, int]], int]:
    """The chunks each process did, per step name (in ``pids`` order), and how many chunks
    name no process of ``pids`` (never, unless a worker name changed)."""
    names = {s.step: s.name for s in spec.steps if isinstance(s, Chunked)}
    per: dict[int, dict[str, int]] = {pid: dict.fromkeys(names.values(), 0) for pid in pids}
    other = 0
    rows = (
        RunChunk.objects.filter(run_id=run_id, done_at__isnull=False)
        .values("step", "worker")
        .annotate(n=Count("lo"))
        .order_by()
    )
    for row in rows:
        pid = _pid(row["worker"])
        if pid in per:
            per[pid][names[row["step"]]] += int(row["n"])
        else:
            other += int(row["n"])
    return [per[pid] for pid in pids], other


def run_fanout(
    name: str,
    *,
    as_of: Any,
    processes: int,
    threads: int,
    chunk_size: int,
    reconcile: bool = False,
    checkpoint: bool = True,
) -> dict[str, Any]:
    """The project's run ``name`` driven by ``processes`` processes (this one and P - 1
    workers), timed from opening the run to done; the result in ``run_contender``'s shape,
    plus ``processes`` (one dict per process, this one first)."""
    contender = CONTENDERS[name]
    if contender.family != "project":
        raise BenchError(f"{name}: only the project's runs have worker processes")
    kind = contender.kind
    spec = SPECS[kind]
    t_prepare = time.perf_counter()
    workers = start_piped(
        [worker_args(kind, as_of=as_of.isoformat(), threads=threads)] * (processes - 1)
    )
    try:
        wait_ready(workers, what=WORKER, timeout=READY_TIMEOUT_S)
        ready_s = time.perf_counter() - t_prepare
        with connection.cursor() as cursor:
            if checkpoint:
                cursor.execute("CHECKPOINT")
            cursor.execute(f"SELECT count(*) FROM {contender.warm_table}")
        settle_s = time.perf_counter() - t_prepare - ready_s
        rss_before = rss_mb()
        with measured() as counter:
            started_wall = time.time()
            t0 = time.perf_counter()
            at = validate_start(as_of, chunk_size, None)
            run, _ = open_live(
                spec,
                kind=kind,
                at=at,
                trigger=RunTrigger.PYTHON,
                triggered_by_id=None,
                chunk_size=chunk_size,
            )
            for w in workers:
                send(w, str(run.pk))
            run = engine.drive(spec, run.pk, threads=threads)
            elapsed = time.perf_counter() - t0
            ended_wall = time.time()
        peak = rss_mb()
        others = finish_piped(workers, timeout=DONE_TIMEOUT_S, what=WORKER)
    finally:
        kill_running(workers)
    this = {
        "pid": os.getpid(),
        "worker": worker_name(),
        "in_process": True,
        "run_status": run.status,
        "queries": counter.count,
        "drive_s": round(elapsed, 4),
        "started_at": started_wall,
        "ended_at": ended_wall,
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak,
    }
    every = [this, *others]
    per_process, unattributed = chunks_by_process(spec, run.pk, [int(p["pid"]) for p in every])
    for p, chunks in zip(every, per_process, strict=True):
        p["chunks"] = chunks
        p["chunks_total"] = sum(chunks.values())
    not_done = [p["pid"] for p in every if p["run_status"] != RunStatus.DONE]
    if not_done:
        raise BenchError(f"processes {not_done} returned before the run was done")
    finished_s = run.finished_at.timestamp() - started_wall if run.finished_at else None
    return {
        "contender": name,
        "kind": kind,
        "family": contender.family,
        "wall_s": round(elapsed, 4),
        "work_started_at": started_wall,
        "work_ended_at": ended_wall,
        "wallets": run.wallets_done,
        "amount": run.amount_done,
        "queries": sum(int(p["queries"]) for p in every),
        "rss_before_mb": rss_before,
        "peak_rss_mb": max(float(p["peak_rss_mb"]) for p in every),
        "prepared": {"ready_s": round(ready_s, 3), "settle_s": round(settle_s, 3)},
        "info": {
            "run_id": run.pk,
            "outcome": run.outcome,
            "processes": processes,
            "threads": threads,
            "chunk_size": chunk_size,
            "chunks": sum(p["chunks_total"] for p in every),
            "chunks_unattributed": unattributed,
            "queries_in_process": counter.count,
            "finished_s": None if finished_s is None else round(finished_s, 4),
        },
        "processes": every,
        "reconcile": reconcile_report() if reconcile else None,
    }
