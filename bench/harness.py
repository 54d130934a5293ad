"""The whole benchmark: every size, every contender, then the member probes, into one results
dict (what ``saka_bench`` writes as JSON and renders with :mod:`bench.report`).

The populations are templates (:mod:`bench.templates`); each contender runs on a fresh copy
in a fresh process (:mod:`bench.measure`); then, at one size (the largest by default), the
project's runs driven by 1, 2, 4... worker processes (:mod:`bench.fanout`); the member probes,
latency (:mod:`bench.latency`) and throughput (:mod:`bench.throughput`), each run on a copy of
the largest population; and member latency during a campaign settlement
(:mod:`bench.settlement_latency`, its own EUR population).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

from bench.contenders import CONTENDERS
from bench.dbs import BenchError, Server, check_name
from bench.latency import latency_probe
from bench.machine import machine_info
from bench.measure import Measurement, measure, summary_line
from bench.options import BenchOptions
from bench.second_report.probe import second_report_probe
from bench.server_load import server_load_probe
from bench.settlement_latency import settlement_latency_line, settlement_latency_probe
from bench.templates import Templates
from bench.throughput import throughput_line, throughput_probe
from saka.grains.conf import get_settings
from saka.grains.runs.chunks import MAX_WORKERS

PROJECT = ("project_compost", "project_redistribution")


def _check_processes(opts: BenchOptions) -> int | None:
    """The size of the fan-out measurement (``None``: not measured), once its options are
    valid: a size measured (its floor is the yardstick), P and threads in range."""
    if not opts.processes:
        return None
    size = opts.processes_size or max(opts.sizes)
    if size not in opts.sizes:
        raise BenchError(
            f"--processes-size {size:,} is not one of --sizes (the floor is measured there)"
        )
    if any(p < 1 or p > MAX_WORKERS for p in opts.processes):
        raise BenchError(f"--processes must be integers in 1..{MAX_WORKERS}")
    if not 1 <= opts.process_threads <= MAX_WORKERS:
        raise BenchError(f"--process-threads must be in 1..{MAX_WORKERS}")
    return size


def run_bench(opts: BenchOptions) -> dict[str, Any]:
    server = Server.from_django()
    check_name(opts.prefix)
    unknown = [c for c in opts.contenders if c not in CONTENDERS]
    if unknown:
        raise BenchError(f"unknown contenders: {', '.join(unknown)}")
    if not opts.sizes or any(n < 1 for n in opts.sizes):
        raise BenchError("sizes must be positive integers")
    fanout_size = _check_processes(opts)
    started = time.perf_counter()
    info = machine_info(server)
    opts.log(
        f"saka_bench on PostgreSQL {info['postgresql']}, {info['cores']} cores, load "
        f"{info['load_avg_start']}; sizes {', '.join(f'{n:,}' for n in opts.sizes)}"
    )
    templates = Templates(server, opts)
    measurements: list[Measurement] = []
    fanout: list[Measurement] = []
    latency: dict[str, Any] | None = None
    throughput: dict[str, Any] | None = None
    settling: dict[str, Any] | None = None
    served: dict[str, Any] | None = None
    second: dict[str, Any] | None = None
    cfg = get_settings()
    try:
        for size in opts.sizes:
            opts.log(f"N = {size:,}")
            for name in opts.contenders:
                m = measure(server, templates, opts, size, name)
                measurements.append(m)
                opts.log("    " + summary_line(m))
        if fanout_size is not None:
            opts.log(
                f"worker processes at N = {fanout_size:,}: "
                f"{', '.join(str(p) for p in opts.processes)} "
                f"(each {opts.process_threads} thread{'s' if opts.process_threads > 1 else ''})"
            )
            for name in (n for n in PROJECT if n in opts.contenders):
                for processes in opts.processes:
                    m = measure(server, templates, opts, fanout_size, name, processes=processes)
                    fanout.append(m)
                    opts.log("    " + summary_line(m))
        if opts.latency:
            size = opts.latency_size or max(opts.sizes)
            opts.log(f"latency probe at N = {size:,} ({opts.latency_workers} workers)")
            latency = latency_probe(server, templates, opts, size)
            for phase in ("no_run", "during_run"):
                opts.log(
                    f"    {phase:>10}: "
                    + ", ".join(
                        f"{op} p50 {latency[phase][op]['p50_ms']} ms p99 "
                        f"{latency[phase][op]['p99_ms']} ms ({latency[phase][op]['calls']} calls)"
                        for op in ("harvest", "plant")
                    )
                )
        if opts.throughput:
            size = opts.latency_size or max(opts.sizes)
            opts.log(
                f"throughput probe at N = {size:,} (1 then {opts.throughput_processes} processes)"
            )
            throughput = throughput_probe(server, templates, opts, size)
            opts.log("    " + throughput_line(throughput))
        if opts.settlement_latency:
            opts.log(
                f"member latency during a settlement of {opts.settlement_pledges:,} pledges "
                f"({opts.latency_workers} workers)"
            )
            settling = settlement_latency_probe(server, templates, opts)
            opts.log("    " + settlement_latency_line({"settlement_latency": settling}))
        if opts.second_report:
            opts.log("the second seeds report's settlement and pockets (bench.second_report)")
            second = second_report_probe(server, templates, opts)
        if opts.server:
            size = opts.server_size or max(opts.sizes)
            opts.log(
                f"the real server (gunicorn, production settings) at N = {size:,}: "
                f"{opts.server_connections} connections, {opts.server_seconds:g} s per phase"
            )
            served = server_load_probe(server, templates, opts, size)
    finally:
        if not opts.keep_templates:
            templates.drop_all()
    info["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "elapsed_s": round(time.perf_counter() - started, 1),
        "quick": opts.quick,
        "as_of": opts.as_of.isoformat(),
        "sizes": list(opts.sizes),
        "machine": info,
        "rules": {
            "compost_inactivity_days": cfg.compost_inactivity_days,
            "compost_rate": str(cfg.compost_rate),
            "compost_min_balance": cfg.compost_min_balance,
            "compost_min_amount": cfg.compost_min_amount,
            "redistribution_rate": str(cfg.redistribution_rate),
            "redistribution_min_harvested": cfg.redistribution_min_harvested,
            "redistribution_active_days": cfg.redistribution_active_days,
        },
        "options": {
            "chunk_size": opts.chunk_size,
            "repeat": opts.repeat,
            "floor_variant": opts.floor_variant,
            "naive_max": opts.naive_max,
        },
        "measurements": [m.__dict__ for m in measurements],
        "processes": None
        if fanout_size is None
        else {
            "size": fanout_size,
            "counts": list(opts.processes),
            "threads": opts.process_threads,
            "chunk_size": opts.processes_chunk_size or opts.chunk_size,
            "measurements": [m.__dict__ for m in fanout],
        },
        "populations": {str(k): v for k, v in sorted(templates.populations.items())},
        "latency": latency,
        "throughput": throughput,
        "settlement_latency": settling,
        "server": served,
        "second_report": second,
    }
