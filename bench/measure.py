"""One contender at one size, measured: a fresh copy of the population, the contender in its
own process (``saka_bench_contender``, which reports its wall time, queries and peak RSS),
then its booked result compared with the formula's, wallet by wallet (:mod:`bench.checks`).

A project contender may be measured with ``processes``: its run is then driven by that many
worker processes (:mod:`bench.fanout`), and checked exactly the same way.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, field
from typing import Any

from bench import checks
from bench.contenders import CONTENDERS
from bench.dbs import BenchError, Server, check_name
from bench.options import BenchOptions
from bench.processes import last_json, manage
from bench.templates import FILE_COPY_FROM, Templates
from saka.grains.conf import get_settings


@dataclass
class Measurement:
    size: int
    contender: str
    kind: str
    family: str
    status: str  # ok | skipped | failed | timeout
    note: str = ""
    wall_s: float | None = None
    wall_runs_s: list[float] = field(default_factory=list)
    process_s: float | None = None
    wallets: int | None = None
    amount: int | None = None
    expected_wallets: int | None = None
    expected_amount: int | None = None
    queries: int | None = None
    peak_rss_mb: float | None = None
    rss_before_mb: float | None = None
    diff: dict[str, Any] | None = None
    correct: bool | None = None
    reconcile: dict[str, Any] | None = None
    load_avg: list[float] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    processes: int | None = None  # the fan-out: worker processes driving the run
    threads: int | None = None  # threads each of them drives with
    workers: list[dict[str, Any]] = field(default_factory=list)  # per process, this one first


def contender_args(opts: BenchOptions, name: str, processes: int | None = None) -> list[str]:
    """The ``manage.py`` arguments that run contender ``name`` in a fresh process (its run
    driven by ``processes`` worker processes when given)."""
    extra = [] if opts.checkpoint else ["--no-checkpoint"]
    chunk_size = opts.chunk_size
    if processes is not None:
        extra += ["--processes", str(processes), "--threads", str(opts.process_threads)]
        chunk_size = opts.processes_chunk_size or opts.chunk_size
    return [
        "saka_bench_contender",
        "--contender",
        name,
        "--as-of",
        opts.as_of.isoformat(),
        "--chunk-size",
        str(chunk_size),
        "--floor-variant",
        opts.floor_variant,
        *extra,
    ]


def measure(
    server: Server,
    templates: Templates,
    opts: BenchOptions,
    size: int,
    name: str,
    *,
    processes: int | None = None,
) -> Measurement:
    contender = CONTENDERS[name]
    m = Measurement(
        size=size, contender=name, kind=contender.kind, family=contender.family, status="ok"
    )
    if processes is not None:
        if contender.family != "project":
            raise BenchError(f"{name}: only the project's runs have worker processes")
        m.processes, m.threads = processes, opts.process_threads
    if contender.family == "naive" and size > opts.naive_max:
        m.status, m.note = "skipped", f"naive loop only for N <= {opts.naive_max:,}"
        return m
    cfg = get_settings()
    expect = checks.expected(contender.kind, wallets=size, cfg=cfg)
    m.expected_wallets, m.expected_amount = expect.wallets, expect.amount
    source = (
        templates.population(size) if contender.kind == "compost" else templates.after_compost(size)
    )
    run_db = check_name(f"{opts.prefix}_run")
    results: list[dict[str, Any]] = []
    for attempt in range(opts.repeat):
        server.create(run_db, template=source, file_copy=size >= FILE_COPY_FROM)
        try:
            m.load_avg = [round(x, 2) for x in os.getloadavg()]
            args = contender_args(opts, name, processes)
            reconcile = contender.family != "floor" and size <= opts.reconcile_max
            if reconcile and attempt == opts.repeat - 1:
                args.append("--reconcile")
            try:
                out, process_s = manage(server, run_db, *args, timeout=opts.timeout_s)
            except TimeoutError as exc:
                m.status, m.note = "timeout", str(exc)
                return m
            except BenchError as exc:
                m.status, m.note = "failed", str(exc)
                return m
            result = last_json(out)
            result["process_s"] = process_s
            results.append(result)
            if attempt == opts.repeat - 1:  # check the last attempt (all are identical work)
                with server.connect(run_db) as conn:
                    diff, formula = checks.compare(
                        conn,
                        kind=contender.kind,
                        family=contender.family,
                        cfg=cfg,
                        expect=expect,
                        per_wallet_redistributed=expect.per_wallet,
                    )
                if (formula.wallets, formula.amount) != (expect.wallets, expect.amount):
                    raise BenchError(
                        f"formula mismatch: SQL {formula} against expected_compost {expect}"
                    )
                m.diff = diff.as_dict()
                m.correct = diff.ok and result["wallets"] == diff.wallets
                m.reconcile = result.get("reconcile")
                if m.reconcile is not None and contender.family != "seeds":
                    m.correct = m.correct and bool(m.reconcile["ok"])
        finally:
            server.drop(run_db)
    walls = [float(r["wall_s"]) for r in results]
    last = results[-1]
    m.wall_runs_s = walls
    m.wall_s = round(statistics.median(walls), 4)
    m.process_s = round(float(last["process_s"]), 3)
    m.wallets, m.amount = int(last["wallets"]), int(last["amount"])
    m.queries = int(last["queries"])
    m.peak_rss_mb = max(float(r["peak_rss_mb"]) for r in results)
    m.rss_before_mb = float(last["rss_before_mb"])
    m.info = {**last.get("info", {}), "prepared": last.get("prepared", {})}
    m.workers = list(last.get("processes", []))
    return m


def summary_line(m: Measurement) -> str:
    """One measurement as the harness logs it."""
    label = m.contender if m.processes is None else f"{m.contender} x{m.processes}"
    if m.status != "ok":
        return f"{label:<24} {m.status}: {m.note.splitlines()[0] if m.note else ''}"
    d = m.diff or {}
    verdict = (
        "ok"
        if m.correct
        else (
            f"DIFF missing {d.get('missing')} extra {d.get('extra')} wrong {d.get('wrong_amount')} "
            f"dup {d.get('duplicates')} balances {d.get('balance_mismatch')}"
        )
    )
    rec = ""
    if m.reconcile is not None:
        rec = (
            " reconcile ok" if m.reconcile["ok"] else f" reconcile: {m.reconcile['checks_failed']}"
        )
    chunks = ""
    if m.workers:
        chunks = "  chunks " + "/".join(str(w.get("chunks_total", "?")) for w in m.workers)
    spent = ""
    if m.info.get("wal_mb") is not None:
        spent = f"  CPU {m.info['cpu_s']:.2f} s  WAL {m.info['wal_mb']:,.0f} MB"
        if m.info.get("machine_cpu_s") is not None:
            spent += f"  machine CPU {m.info['machine_cpu_s']:.2f} core-s"
    return (
        f"{label:<24} {m.wall_s:>9.3f} s  {m.wallets:>9,} / {m.expected_wallets:,} wallets  "
        f"{m.queries:>7,} queries  {m.peak_rss_mb:>6.1f} MB{spent}  {verdict}{rec}{chunks}"
    )
