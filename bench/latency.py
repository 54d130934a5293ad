"""Member latency probe: ``wallet_harvest`` and ``wallet_plant`` from worker processes on random
seeded members, with and without a compost run in progress.

Each worker is its own process (own connection) and paces itself at ``rate`` calls per second
(the next call starts at the next tick, or at once when a call overran): an open-loop load
that does not saturate the two cores by itself. Bounded by ``max_ops`` and ``seconds`` and by
a stop file the harness creates when the run ends.

Both ends live here: :func:`worker` runs in each worker process (``saka_bench_contender
--contender latency_worker``), :func:`latency_probe` in the harness starts the workers
(:mod:`bench.processes`) and the run, and summarises the samples.
"""

from __future__ import annotations

import math
import random
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import connection

from bench.dbs import Server, check_name
from bench.measure import contender_args
from bench.options import BenchOptions
from bench.processes import finish_workers, last_json, manage, start_workers
from bench.templates import FILE_COPY_FROM, Templates
from saka.core.errors import DomainError
from saka.grains.services import wallet_harvest, wallet_plant

HARVEST_REASONS = ("poll_vote", "content_read", "invite_accepted")
OPS = ("harvest", "plant")


def _member_range() -> tuple[int, int, list[int] | None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(member_id), max(member_id), count(*) FROM grains_account "
            "WHERE kind = 'wallet'"
        )
        row = cursor.fetchone()
        if row is None or row[2] == 0:
            raise RuntimeError("no wallet to probe")
        low, high, count = int(row[0]), int(row[1]), int(row[2])
        if high - low + 1 == count:
            return low, high, None
        cursor.execute("SELECT member_id FROM grains_account WHERE kind = 'wallet'")
        return low, high, [int(r[0]) for r in cursor.fetchall()]


def worker(
    *,
    seconds: float,
    max_ops: int,
    rate: float,
    seed: int,
    stop_file: str | None,
    ready_file: str | None = None,
) -> dict[str, Any]:
    """Run the probe; returns samples ``[started_at (epoch s), op, ms, ok]``. Touches
    ``ready_file`` once warm; stops at ``seconds``, ``max_ops`` or when ``stop_file`` exists."""
    rng = random.Random(seed)  # noqa: S311 - load generation, not security
    low, high, members = _member_range()
    # one warm-up call per op (connection, caches) outside the samples
    for op in OPS:
        _call(op, rng, low, high, members)
    if ready_file:
        Path(ready_file).touch()
    return paced_samples(
        seconds=seconds,
        max_ops=max_ops,
        rate=rate,
        stop_file=stop_file,
        ops=OPS,
        call=lambda _i, op: _call(op, rng, low, high, members),
    )


def paced_samples(
    *,
    seconds: float,
    max_ops: int,
    rate: float,
    stop_file: str | None,
    ops: tuple[str, ...],
    call: Callable[[int, str], str | None],
) -> dict[str, Any]:
    """The open-loop pacing of every probe worker: call ``call(i, op)`` (``op`` cycling through
    ``ops``; it answers an error code or None) at ``rate`` per second (the next call at the next
    tick, or at once when one overran), until ``seconds``, ``max_ops`` or ``stop_file``.
    Returns ``{"samples": [[started_at (epoch s), op, ms, ok], ...], "errors": {code: n}}``."""
    stop = Path(stop_file) if stop_file else None
    interval = 1.0 / rate if rate > 0 else 0.0
    samples: list[list[Any]] = []
    errors: dict[str, int] = {}
    deadline = time.monotonic() + seconds
    next_tick = time.monotonic()
    for i in range(max_ops):
        current = time.monotonic()
        if current >= deadline or (stop is not None and i % 8 == 0 and stop.exists()):
            break
        if next_tick > current:
            time.sleep(next_tick - current)
        next_tick = max(next_tick + interval, time.monotonic())
        op = ops[i % len(ops)]
        started = time.time()
        t0 = time.perf_counter()
        error = call(i, op)
        ms = (time.perf_counter() - t0) * 1000
        samples.append([started, op, round(ms, 3), error is None])
        if error is not None:
            errors[error] = errors.get(error, 0) + 1
    return {"samples": samples, "errors": errors}


def _call(
    op: str, rng: random.Random, low: int, high: int, members: list[int] | None
) -> str | None:
    member_id = rng.choice(members) if members is not None else rng.randint(low, high)
    try:
        if op == "harvest":
            wallet_harvest(member_id=member_id, reason=rng.choice(HARVEST_REASONS))
        else:
            wallet_plant(member_id=member_id, amount=1, reason="bench")
    except DomainError as exc:  # a daily limit or an empty wallet: still a measured call
        return str(exc.code)
    return None


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def summarize(
    samples: list[list[Any]], *, window: tuple[float, float] | None = None
) -> dict[str, Any]:
    """p50/p99/max per op over the samples that started inside ``window`` (epoch seconds)."""
    chosen = [s for s in samples if window is None or window[0] <= s[0] <= window[1]]
    out: dict[str, Any] = {}
    for op in OPS:
        ms = [float(s[2]) for s in chosen if s[1] == op]
        out[op] = {
            "calls": len(ms),
            "refused": sum(1 for s in chosen if s[1] == op and not s[3]),
            "p50_ms": _round(percentile(ms, 50)),
            "p99_ms": _round(percentile(ms, 99)),
            "max_ms": _round(max(ms) if ms else None),
        }
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# --- the harness's side ---------------------------------------------------------------------


def _workers(
    server: Server,
    dbname: str,
    opts: BenchOptions,
    *,
    seconds: float,
    stop_file: str | None,
    phase: int,
    ready_dir: Path,
) -> list[subprocess.Popen[str]]:
    """Start the worker processes and return once each is warm (or after 120 s)."""
    commands = []
    ready_files = []
    for w in range(opts.latency_workers):
        ready = ready_dir / f"ready-{phase}-{w}"
        args = [
            "saka_bench_contender",
            "--contender",
            "latency_worker",
            "--as-of",
            opts.as_of.isoformat(),
            "--seconds",
            str(seconds),
            "--max-ops",
            str(opts.latency_max_ops),
            "--rate",
            str(opts.latency_rate),
            "--seed",
            str(1000 * phase + w),
        ]
        if stop_file:
            args += ["--stop-file", stop_file]
        args += ["--ready-file", str(ready)]
        commands.append(args)
        ready_files.append(ready)
    return start_workers(server, dbname, commands, ready_files=ready_files)


def collect_samples(
    procs: list[subprocess.Popen[str]], timeout: float, what: str = "latency worker"
) -> tuple[list[list[Any]], dict[str, int]]:
    """The probe workers' samples and error counts, merged (every probe's harness side)."""
    samples: list[list[Any]] = []
    errors: dict[str, int] = {}
    for data in finish_workers(procs, timeout=timeout, what=what):
        samples += data["samples"]
        for code, n in data["errors"].items():
            errors[code] = errors.get(code, 0) + n
    return samples, errors


def latency_probe(
    server: Server, templates: Templates, opts: BenchOptions, size: int
) -> dict[str, Any]:
    """p50/p99 of harvest and plant: a quiet phase, then the same load during a project compost."""
    db = check_name(f"{opts.prefix}_latency")
    server.create(db, template=templates.population(size), file_copy=size >= FILE_COPY_FROM)
    try:
        with server.connect(db) as conn:
            conn.execute("CHECKPOINT")
        with tempfile.TemporaryDirectory(prefix="saka_bench_") as tmp:
            ready_dir = Path(tmp)
            # 1. no run
            procs = _workers(
                server,
                db,
                opts,
                seconds=opts.latency_idle_seconds,
                stop_file=None,
                phase=1,
                ready_dir=ready_dir,
            )
            idle_samples, idle_errors = collect_samples(
                procs, timeout=opts.latency_idle_seconds + 120
            )
            # 2. the same load while the project's compost runs (its own fresh process); only
            # the calls that start between the run's first and last statement count
            stop = ready_dir / "stop"
            procs = _workers(
                server,
                db,
                opts,
                seconds=opts.latency_max_seconds,
                stop_file=str(stop),
                phase=2,
                ready_dir=ready_dir,
            )
            try:
                out, _ = manage(
                    server, db, *contender_args(opts, "project_compost"), timeout=opts.timeout_s
                )
            finally:
                stop.touch()
            run_samples, run_errors = collect_samples(procs, timeout=opts.latency_max_seconds + 120)
        run = last_json(out)
        window = (float(run["work_started_at"]), float(run["work_ended_at"]))
        return {
            "size": size,
            "workers": opts.latency_workers,
            "rate_per_worker": opts.latency_rate,
            "no_run": {**summarize(idle_samples), "errors": idle_errors},
            "during_run": {**summarize(run_samples, window=window), "errors": run_errors},
            "run_wall_s": run["wall_s"],
            "run_wallets": run["wallets"],
        }
    finally:
        server.drop(db)
