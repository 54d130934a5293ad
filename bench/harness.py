"""The benchmark harness: populations, fresh copies, contender processes, checks, latency.

For each size N the population is created once (migrations, ``saka_seed``, VACUUM ANALYZE)
into a template database ``<prefix>_tpl_<N>``, and once more after the project's compost
(``<prefix>_tpl_<N>_c``, the starting point of every redistribution contender). Before each
contender the identical state is restored with ``CREATE DATABASE <prefix>_run TEMPLATE ...``
and dropped after. Each contender runs in a fresh process (``saka_bench_contender``) that
reports its own wall time, queries and peak RSS; the harness then compares its result with
the formula's, per wallet.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from bench import checks
from bench.contenders import CONTENDERS
from bench.dbs import PREFIX, BenchError, Server, check_name
from saka.grains.conf import get_settings
from saka.grains.runs.chunks import DEFAULT_CHUNK_SIZE

DEFAULT_AS_OF = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # a Monday, 03:00 UTC
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (2_000, 5_000)
DEFAULT_ORDER = (
    "floor_compost",
    "project_compost",
    "seeds_compost",
    "naive_compost",
    "floor_redistribution",
    "project_redistribution",
    "seeds_redistribution",
)
FILE_COPY_FROM = 50_000  # templates of at least this many wallets are copied file by file
BASE_DIR = Path(settings.BASE_DIR)


@dataclass
class BenchOptions:
    sizes: Sequence[int] = DEFAULT_SIZES
    contenders: Sequence[str] = DEFAULT_ORDER
    as_of: datetime = DEFAULT_AS_OF
    prefix: str = PREFIX
    naive_max: int = 100_000
    repeat: int = 1
    chunk_size: int = DEFAULT_CHUNK_SIZE
    floor_variant: str = "column"  # bench.floor.DEFAULT_VARIANT
    reconcile_max: int = 100_000  # saka_reconcile after contenders on sizes up to this
    latency: bool = True
    latency_size: int | None = None  # default: the largest size
    latency_workers: int = 4
    latency_rate: float = 25.0  # calls per second per worker
    latency_idle_seconds: float = 10.0
    latency_max_ops: int = 5_000  # per worker and phase
    latency_max_seconds: float = 300.0
    keep_templates: bool = False
    reuse_templates: bool = False
    timeout_s: float = 7_200.0
    checkpoint: bool = True  # CHECKPOINT before each contender's clock (off in quick mode)
    quick: bool = False
    log: Callable[[str], None] = print


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


# --- processes --------------------------------------------------------------------------------


def _env(server: Server, dbname: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": server.url(dbname),
            "DJANGO_DEBUG": "0",  # DEBUG keeps every query in memory
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "SAKA_LOG_LEVEL": "WARNING",
            "PYTHONHASHSEED": "0",
        }
    )
    return env


def _manage(server: Server, dbname: str, *args: str, timeout: float) -> tuple[str, float]:
    """``python manage.py <args>`` on ``dbname`` in a fresh process; its stdout and wall time."""
    cmd = [sys.executable, str(BASE_DIR / "manage.py"), *args]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(  # noqa: S603 - our own interpreter and manage.py, fixed arguments
            cmd,
            cwd=BASE_DIR,
            env=_env(server, dbname),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise TimeoutError(f"{' '.join(args[:3])} timed out after {timeout:.0f} s") from exc
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
        raise BenchError(
            f"`manage.py {' '.join(args)}` on {dbname} exited {proc.returncode}:\n"
            + "\n".join(tail)
        )
    return proc.stdout, elapsed


def _last_json(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            data: dict[str, Any] = json.loads(line)
            return data
    raise BenchError(f"no JSON result in the output: {stdout[-500:]!r}")


# --- templates --------------------------------------------------------------------------------


def _fingerprint(opts: BenchOptions, size: int | None) -> str:
    """What a template depends on: migrations, the seed, the runs, the rules, N and as_of."""
    digest = hashlib.sha256()
    src = BASE_DIR / "src" / "saka"
    files = [
        *sorted(src.glob("*/migrations/*.py")),
        src / "demo" / "seed.py",
        src / "grains" / "rules.py",
        *sorted((src / "grains" / "runs").glob("*.py")),
        *sorted((src / "grains" / "sql").glob("*.py")),
    ]
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    digest.update(repr(get_settings()).encode())
    digest.update(f"{size}|{opts.as_of.isoformat()}|{opts.chunk_size}".encode())
    return "saka_bench " + digest.hexdigest()[:24]


class Templates:
    def __init__(self, server: Server, opts: BenchOptions) -> None:
        self.server = server
        self.opts = opts
        self.made: list[str] = []  # created (or reused) by this run, to drop at the end
        self.ready: set[str] = set()

    def name(self, size: int | None, suffix: str = "") -> str:
        base = f"{self.opts.prefix}_schema" if size is None else f"{self.opts.prefix}_tpl_{size}"
        return check_name(base + suffix)

    def _fresh(self, name: str, size: int | None) -> bool:
        """Built by this run, or kept by an earlier one with the same fingerprint
        (``--reuse-templates``); otherwise the caller (re)builds it."""
        if name in self.ready:
            return True
        self.made.append(name)
        self.ready.add(name)
        return (
            self.opts.reuse_templates
            and self.server.exists(name)
            and self.server.comment(name) == _fingerprint(self.opts, size)
        )

    def schema(self) -> str:
        name = self.name(None)
        if self._fresh(name, None):
            return name
        self.opts.log(f"  template {name}: migrate")
        self.server.create(name)
        _manage(self.server, name, "migrate", "--noinput", "-v", "0", timeout=self.opts.timeout_s)
        self.server.maintain(name)
        self.server.set_comment(name, _fingerprint(self.opts, None))
        return name

    def population(self, size: int) -> str:
        name = self.name(size)
        if self._fresh(name, size):
            return name
        schema = self.schema()
        self.server.create(name, template=schema)
        out, elapsed = _manage(
            self.server,
            name,
            "saka_seed",
            "--wallets",
            str(size),
            "--as-of",
            self.opts.as_of.isoformat(),
            "--json",
            timeout=self.opts.timeout_s,
        )
        seeded = _last_json(out)
        self.server.maintain(name)
        self.server.set_comment(name, _fingerprint(self.opts, size))
        self.opts.log(
            f"  template {name}: {seeded['wallets']} wallets seeded in {elapsed:.1f} s "
            f"(expected compost {seeded['expected_compost_wallets']} wallets)"
        )
        return name

    def after_compost(self, size: int) -> str:
        """The population after the project's compost at ``as_of`` (redistribution input)."""
        name = self.name(size, "_c")
        if self._fresh(name, size):
            return name
        self.server.create(name, template=self.population(size), file_copy=size >= FILE_COPY_FROM)
        out, elapsed = _manage(
            self.server,
            name,
            "saka_compost",
            "--as-of",
            self.opts.as_of.isoformat(),
            "--json",
            "--chunk-size",
            str(self.opts.chunk_size),
            timeout=self.opts.timeout_s,
        )
        run = _last_json(out)
        self.server.maintain(name)
        self.server.set_comment(name, _fingerprint(self.opts, size))
        self.opts.log(
            f"  template {name}: project compost {run.get('wallets_composted')} wallets "
            f"in {elapsed:.1f} s (untimed)"
        )
        return name

    def drop_all(self) -> None:
        for name in reversed(self.made):
            self.server.drop(name)


# --- one contender ------------------------------------------------------------------------------


def _contender_args(opts: BenchOptions, name: str) -> list[str]:
    extra = [] if opts.checkpoint else ["--no-checkpoint"]
    return [
        "saka_bench_contender",
        "--contender",
        name,
        "--as-of",
        opts.as_of.isoformat(),
        "--chunk-size",
        str(opts.chunk_size),
        "--floor-variant",
        opts.floor_variant,
        *extra,
    ]


def measure(
    server: Server, templates: Templates, opts: BenchOptions, size: int, name: str
) -> Measurement:
    contender = CONTENDERS[name]
    m = Measurement(
        size=size, contender=name, kind=contender.kind, family=contender.family, status="ok"
    )
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
            args = _contender_args(opts, name)
            reconcile = contender.family != "floor" and size <= opts.reconcile_max
            if reconcile and attempt == opts.repeat - 1:
                args.append("--reconcile")
            try:
                out, process_s = _manage(server, run_db, *args, timeout=opts.timeout_s)
            except TimeoutError as exc:
                m.status, m.note = "timeout", str(exc)
                return m
            except BenchError as exc:
                m.status, m.note = "failed", str(exc)
                return m
            result = _last_json(out)
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
    return m


# --- latency ------------------------------------------------------------------------------------


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
    procs = []
    for w in range(opts.latency_workers):
        args = [
            sys.executable,
            str(BASE_DIR / "manage.py"),
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
        args += ["--ready-file", str(ready_dir / f"ready-{phase}-{w}")]
        procs.append(
            subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
                args,
                cwd=BASE_DIR,
                env=_env(server, dbname),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and any(p.poll() is None for p in procs):
        if all((ready_dir / f"ready-{phase}-{w}").exists() for w in range(len(procs))):
            break
        time.sleep(0.05)
    return procs


def _collect(
    procs: list[subprocess.Popen[str]], timeout: float
) -> tuple[list[list[Any]], dict[str, int]]:
    samples: list[list[Any]] = []
    errors: dict[str, int] = {}
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        if proc.returncode != 0:
            raise BenchError(f"latency worker exited {proc.returncode}: {err.strip()[-800:]}")
        data = _last_json(out)
        samples += data["samples"]
        for code, n in data["errors"].items():
            errors[code] = errors.get(code, 0) + n
    return samples, errors


def latency_probe(
    server: Server, templates: Templates, opts: BenchOptions, size: int
) -> dict[str, Any]:
    """p50/p99 of harvest and plant: a quiet phase, then the same load during a project compost."""
    from bench.latency import summarize

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
            idle_samples, idle_errors = _collect(procs, timeout=opts.latency_idle_seconds + 120)
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
                out, _ = _manage(
                    server, db, *_contender_args(opts, "project_compost"), timeout=opts.timeout_s
                )
            finally:
                stop.touch()
            run_samples, run_errors = _collect(procs, timeout=opts.latency_max_seconds + 120)
        run = _last_json(out)
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


# --- the whole benchmark ---------------------------------------------------------------------


def machine_info(server: Server) -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(  # noqa: S603 - fixed git arguments
                ["git", *args],  # noqa: S607 - git from PATH
                cwd=BASE_DIR,
                capture_output=True,
                text=True,
                check=False,
                timeout=10,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    mem_kb = 0
    cpu = platform.processor()
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import django

    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": server.version(),
        "pg_settings": server.settings(
            [
                "shared_buffers",
                "work_mem",
                "max_wal_size",
                "fsync",
                "synchronous_commit",
                "jit",
                "autovacuum",
            ]
        ),
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain")),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
    }


def run_bench(opts: BenchOptions) -> dict[str, Any]:
    server = Server.from_django()
    check_name(opts.prefix)
    unknown = [c for c in opts.contenders if c not in CONTENDERS]
    if unknown:
        raise BenchError(f"unknown contenders: {', '.join(unknown)}")
    if not opts.sizes or any(n < 1 for n in opts.sizes):
        raise BenchError("sizes must be positive integers")
    started = time.perf_counter()
    info = machine_info(server)
    opts.log(
        f"saka_bench on PostgreSQL {info['postgresql']}, {info['cores']} cores, load "
        f"{info['load_avg_start']}; sizes {', '.join(f'{n:,}' for n in opts.sizes)}"
    )
    templates = Templates(server, opts)
    measurements: list[Measurement] = []
    latency: dict[str, Any] | None = None
    cfg = get_settings()
    try:
        for size in opts.sizes:
            opts.log(f"N = {size:,}")
            for name in opts.contenders:
                m = measure(server, templates, opts, size, name)
                measurements.append(m)
                opts.log("    " + _line(m))
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
        "latency": latency,
    }


def _line(m: Measurement) -> str:
    if m.status != "ok":
        return f"{m.contender:<24} {m.status}: {m.note.splitlines()[0] if m.note else ''}"
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
    return (
        f"{m.contender:<24} {m.wall_s:>9.3f} s  {m.wallets:>9,} / {m.expected_wallets:,} wallets  "
        f"{m.queries:>7,} queries  {m.peak_rss_mb:>6.1f} MB  {verdict}{rec}"
    )
