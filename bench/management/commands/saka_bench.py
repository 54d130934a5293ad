"""``saka_bench``: the project's runs against the seeds' algorithm and the SQL floor (spec §7).

PostgreSQL only. Works in databases named ``saka_bench_*`` on the server of ``DATABASE_URL``
(never in the database that URL names). See docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from bench import page, report
from bench.dbs import PREFIX, BenchError
from bench.floor import DEFAULT_VARIANT, VARIANTS
from bench.harness import run_bench
from bench.options import (
    DEFAULT_CONCURRENT_DEPOSITS,
    DEFAULT_ORDER,
    DEFAULT_POCKET_COUNTS,
    DEFAULT_PROCESSES,
    DEFAULT_SECOND_SETTLEMENT_SIZES,
    DEFAULT_SETTLEMENT_PLEDGES,
    DEFAULT_SIZES,
    QUICK_CONCURRENT_DEPOSITS,
    QUICK_PROCESSES,
    QUICK_PROCESSES_CHUNK_SIZE,
    QUICK_SECOND_SETTLEMENT_SIZES,
    QUICK_SETTLEMENT_PLEDGES,
    QUICK_SIZES,
    BenchOptions,
)
from bench.server_load import wrk_path
from saka.core.clock import parse_instant
from saka.core.errors import DomainError
from saka.grains.runs.chunks import DEFAULT_CHUNK_SIZE

RESULTS_DIR = Path(settings.BASE_DIR) / "bench" / "results"


def _counts(text: str) -> list[int]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(p.isdigit() and int(p) >= 1 for p in parts):
        raise CommandError(f"--processes: {text!r} is not a list of positive integers")
    return [int(p) for p in parts]


def _sizes(text: str) -> list[int]:
    sizes = []
    for part in text.split(","):
        part = part.strip().replace("_", "").lower()
        if not part:
            continue
        factor = 1
        if part[-1] in "km":
            factor = 1_000 if part[-1] == "k" else 1_000_000
            part = part[:-1]
        if not part.isdigit() or int(part) * factor < 1:
            raise CommandError(f"--sizes: {text!r} is not a list of positive integers")
        sizes.append(int(part) * factor)
    if not sizes:
        raise CommandError("--sizes: give at least one size")
    return sizes


class Command(BaseCommand):
    help = (
        "Benchmark the compost and redistribution runs against the seeds' algorithm, a naive "
        "loop and the SQL floor, on identical fresh copies of the spec's population."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--sizes",
            help="comma-separated wallet counts (10000,100k,1m); default "
            + ",".join(str(n) for n in DEFAULT_SIZES)
            + "; 10m on request",
        )
        parser.add_argument(
            "--quick",
            action="store_true",
            help="CI smoke run: sizes "
            + ",".join(str(n) for n in QUICK_SIZES)
            + f", {','.join(str(p) for p in QUICK_PROCESSES)} worker processes at the largest "
            f"(chunks of {QUICK_PROCESSES_CHUNK_SIZE}), short member probes (latency, "
            "throughput), results under bench/results/tmp/, docs untouched",
        )
        parser.add_argument(
            "--contenders",
            help="comma-separated subset of: " + ",".join(DEFAULT_ORDER),
        )
        parser.add_argument("--as-of", help="instant of the population (default 2026-11-23T03:00Z)")
        parser.add_argument("--repeat", type=int, default=1, help="runs per contender (median)")
        parser.add_argument(
            "--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, help="project runs' chunk"
        )
        parser.add_argument("--naive-max", type=int, default=100_000)
        parser.add_argument(
            "--processes",
            help="worker process counts of the fan-out measurement (the project's runs driven "
            "by P processes at once); default "
            + ",".join(str(p) for p in DEFAULT_PROCESSES)
            + " ("
            + ",".join(str(p) for p in QUICK_PROCESSES)
            + " with --quick)",
        )
        parser.add_argument(
            "--no-processes", action="store_true", help="skip the fan-out measurement"
        )
        parser.add_argument(
            "--processes-size", type=int, help="N of the fan-out (one of --sizes; default max)"
        )
        parser.add_argument(
            "--process-threads", type=int, default=1, help="threads per fan-out process"
        )
        parser.add_argument(
            "--processes-chunk-size",
            type=int,
            help="the fan-out runs' chunk size (default --chunk-size; "
            f"{QUICK_PROCESSES_CHUNK_SIZE} with --quick)",
        )
        parser.add_argument("--floor-variant", choices=VARIANTS, default=DEFAULT_VARIANT)
        parser.add_argument("--no-latency", action="store_true", help="skip the latency probe")
        parser.add_argument("--latency-size", type=int, help="N of the member probes (default max)")
        parser.add_argument("--latency-workers", type=int, default=4)
        parser.add_argument("--latency-rate", type=float, default=25.0, help="calls/s per worker")
        parser.add_argument("--latency-seconds", type=float, default=10.0, help="no-run phase")
        parser.add_argument(
            "--no-throughput", action="store_true", help="skip the member throughput probe"
        )
        parser.add_argument(
            "--throughput-processes", type=int, default=4, help="processes of the parallel phase"
        )
        parser.add_argument(
            "--throughput-harvests", type=int, default=50, help="harvests per member and phase"
        )
        parser.add_argument(
            "--throughput-seconds", type=float, default=60.0, help="at most, per phase"
        )
        parser.add_argument(
            "--no-server", action="store_true", help="skip the real server's throughput (HTTP)"
        )
        parser.add_argument("--server-size", type=int, help="N of the server probe (default max)")
        parser.add_argument(
            "--server-connections", type=int, default=16, help="wrk's connections (closed loop)"
        )
        parser.add_argument(
            "--server-seconds", type=float, default=15.0, help="length of each server phase"
        )
        parser.add_argument(
            "--server-redis-url",
            default=os.environ.get("SAKA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
            help="the served project's cache (throttles); default $SAKA_BENCH_REDIS_URL or db 9",
        )
        parser.add_argument(
            "--reconcile-max",
            type=int,
            default=100_000,
            help="run saka_reconcile after each contender up to this N",
        )
        parser.add_argument(
            "--no-settlement-latency",
            action="store_true",
            help="skip member latency during a settlement",
        )
        parser.add_argument(
            "--settlement-pledges",
            type=int,
            help=f"pledges of that settlement (default {DEFAULT_SETTLEMENT_PLEDGES:,}, "
            f"{QUICK_SETTLEMENT_PLEDGES:,} with --quick)",
        )
        parser.add_argument(
            "--no-second-report",
            action="store_true",
            help="skip the second seeds report's settlement and pocket contenders",
        )
        parser.add_argument(
            "--settlement-sizes",
            help="pledges of the second report's settlement contenders; default "
            + ",".join(str(n) for n in DEFAULT_SECOND_SETTLEMENT_SIZES)
            + " ("
            + ",".join(str(n) for n in QUICK_SECOND_SETTLEMENT_SIZES)
            + " with --quick)",
        )
        parser.add_argument(
            "--pocket-counts",
            help="pockets per member of the pocket split contenders; default "
            + ",".join(str(n) for n in DEFAULT_POCKET_COUNTS)
            + " (the seeds also run 150)",
        )
        parser.add_argument(
            "--concurrent-deposits",
            type=int,
            help=f"deposits to distinct members from 4 processes (default "
            f"{DEFAULT_CONCURRENT_DEPOSITS:,}, {QUICK_CONCURRENT_DEPOSITS} with --quick; 0 skips)",
        )
        parser.add_argument("--keep-templates", action="store_true")
        parser.add_argument(
            "--reuse-templates",
            action="store_true",
            help="reuse kept templates whose fingerprint (migrations, seed, runs, N) matches",
        )
        parser.add_argument("--prefix", default=PREFIX, help="database name prefix (saka_bench*)")
        parser.add_argument("--out-dir", help="where to write the results")
        parser.add_argument(
            "--no-docs",
            action="store_true",
            help="do not update docs/benchmarks.md and the README block",
        )
        parser.add_argument("--timeout", type=float, default=7200.0, help="per process, seconds")
        parser.add_argument(
            "--render",
            metavar="RESULTS_JSON",
            help="measure nothing: write the table, chart and docs blocks of a results file again",
        )
        parser.add_argument(
            "--tag",
            help="name the results <date>-TAG.* (make bench-10m: --tag 10m); a tagged run "
            "refreshes the page's lead table but not its full results block or the README",
        )
        parser.add_argument(
            "--page",
            action="store_true",
            help="measure nothing: rewrite the lead table and chart of docs/benchmarks.md from "
            "the latest results of each kind in bench/results/ (bench.page)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["render"]:
            self._render(Path(options["render"]), no_docs=options["no_docs"])
            return
        if options["page"]:
            self._page()
            return
        tag = options["tag"] or ""
        if tag and not re.fullmatch(r"[a-z0-9]+", tag):
            raise CommandError("--tag: lower-case letters and digits only")
        if connection.vendor != "postgresql":
            raise CommandError(
                "saka_bench measures PostgreSQL only; this database is "
                f"{connection.vendor}. Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/"
                "saka_bench python manage.py saka_bench (or make bench)."
            )
        quick = bool(options["quick"])
        sizes = (
            _sizes(options["sizes"])
            if options["sizes"]
            else list(QUICK_SIZES if quick else DEFAULT_SIZES)
        )
        contenders = (
            [c.strip() for c in options["contenders"].split(",") if c.strip()]
            if options["contenders"]
            else list(DEFAULT_ORDER)
        )
        processes = (
            []
            if options["no_processes"]
            else _counts(options["processes"])
            if options["processes"]
            else list(QUICK_PROCESSES if quick else DEFAULT_PROCESSES)
        )
        processes_chunk_size = options["processes_chunk_size"] or (
            QUICK_PROCESSES_CHUNK_SIZE if quick else None
        )
        settlement_sizes = (
            _sizes(options["settlement_sizes"])
            if options["settlement_sizes"]
            else list(QUICK_SECOND_SETTLEMENT_SIZES if quick else DEFAULT_SECOND_SETTLEMENT_SIZES)
        )
        pocket_counts = (
            _counts(options["pocket_counts"])
            if options["pocket_counts"]
            else list(DEFAULT_POCKET_COUNTS)
        )
        if any(k > 100 for k in pocket_counts):
            raise CommandError("--pocket-counts: at most 100 (a member has at most 100 pockets)")
        concurrent = options["concurrent_deposits"]
        if concurrent is None:
            concurrent = QUICK_CONCURRENT_DEPOSITS if quick else DEFAULT_CONCURRENT_DEPOSITS
        try:
            as_of = parse_instant(options["as_of"]) if options["as_of"] else None
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        opts = BenchOptions(
            sizes=sizes,
            contenders=contenders,
            prefix=options["prefix"],
            naive_max=min(options["naive_max"], QUICK_SIZES[0]) if quick else options["naive_max"],
            repeat=max(1, options["repeat"]),
            chunk_size=options["chunk_size"],
            floor_variant=options["floor_variant"],
            reconcile_max=options["reconcile_max"],
            latency=not options["no_latency"],
            latency_size=options["latency_size"],
            latency_workers=options["latency_workers"],
            latency_rate=options["latency_rate"],
            latency_idle_seconds=2.0 if quick else options["latency_seconds"],
            latency_max_ops=300 if quick else 5_000,
            latency_max_seconds=60.0 if quick else 300.0,
            throughput=not options["no_throughput"],
            throughput_processes=max(1, options["throughput_processes"]),
            throughput_per_member=5 if quick else max(1, options["throughput_harvests"]),
            throughput_max_seconds=30.0 if quick else options["throughput_seconds"],
            server=not options["no_server"],
            server_size=options["server_size"],
            server_connections=max(1, options["server_connections"]),
            server_seconds=3.0 if quick else max(1.0, options["server_seconds"]),
            server_redis_url=options["server_redis_url"],
            server_profile_calls=20 if quick else 200,
            settlement_latency=not options["no_settlement_latency"],
            settlement_pledges=max(
                1,
                options["settlement_pledges"]
                or (QUICK_SETTLEMENT_PLEDGES if quick else DEFAULT_SETTLEMENT_PLEDGES),
            ),
            second_report=not options["no_second_report"],
            settlement_sizes=settlement_sizes,
            pocket_counts=pocket_counts,
            concurrent_deposits=max(0, concurrent),
            keep_templates=options["keep_templates"],
            reuse_templates=options["reuse_templates"],
            timeout_s=options["timeout"],
            checkpoint=not quick,
            processes=processes,
            processes_size=options["processes_size"],
            process_threads=options["process_threads"],
            processes_chunk_size=processes_chunk_size,
            quick=quick,
            log=self._log,
        )
        if as_of is not None:
            opts.as_of = as_of
        try:
            if opts.server:
                wrk_path()  # before the first run, not after the runs it would follow
            results = run_bench(opts)
        except BenchError as exc:
            raise CommandError(str(exc)) from exc
        report.ratios(results)
        out_dir = (
            Path(options["out_dir"])
            if options["out_dir"]
            else (RESULTS_DIR / "tmp" if quick else RESULTS_DIR)
        )
        stem = ("quick-" if quick else "") + datetime.now(UTC).strftime("%Y-%m-%d")
        stem += f"-{tag}" if tag else ""
        paths = report.write(results, out_dir, stem)
        self.stdout.write("")
        self.stdout.write(report.markdown(results))
        for kind, path in paths.items():
            self.stdout.write(f"{kind}: {path}")
        if not quick and not options["no_docs"]:
            self._docs(results, paths, lead_only=bool(tag))
        failed = report.failures(results)
        if failed:
            for line in failed:
                self.stderr.write(f"WRONG RESULT: {line}")
            sys.exit(1)

    def _render(self, path: Path, *, no_docs: bool) -> None:
        try:
            results = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise CommandError(f"--render: cannot read {path}: {exc}") from exc
        report.ratios(results)
        paths = report.write(results, path.parent, path.stem)
        self.stdout.write(report.markdown(results))
        if not results.get("quick") and not no_docs:
            self._docs(results, paths)

    def _log(self, message: str) -> None:
        self.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}")
        self.stderr.flush()

    def _docs(
        self, results: dict[str, Any], paths: dict[str, Path], *, lead_only: bool = False
    ) -> None:
        base = Path(settings.BASE_DIR)
        docs = base / "docs" / "benchmarks.md"
        if not lead_only:
            chart = None
            if "png" in paths and paths["png"].resolve().is_relative_to(base.resolve()):
                chart = "../" + str(paths["png"].resolve().relative_to(base.resolve()))
            block = report.markdown(results, chart=chart)
            if report.replace_block(docs, block):
                self.stdout.write(f"updated {docs}")
            if report.replace_block(base / "README.md", report.readme_summary(results)):
                self.stdout.write("updated README.md")
        self._page(paths["json"].parent)

    def _page(self, out_dir: Path | None = None) -> None:
        """The lead table and chart of docs/benchmarks.md from the latest results of each kind
        (in ``bench/results/`` and, for a run written elsewhere, in ``out_dir``)."""
        base = Path(settings.BASE_DIR)
        sources = page.latest(RESULTS_DIR, *([out_dir] if out_dir else []))
        chart = None
        merged = page.chart_results(sources)
        if merged and report.chart(merged, RESULTS_DIR / "page.png"):
            chart = "../" + str((RESULTS_DIR / "page.png").resolve().relative_to(base.resolve()))
        if page.replace_lead(
            base / "docs" / "benchmarks.md", page.lead_markdown(sources, chart=chart)
        ):
            self.stdout.write(
                "updated the lead table of docs/benchmarks.md from "
                + ", ".join(src["_file"] for src in sources.values())
            )
