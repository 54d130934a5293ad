"""Time the staff dashboard's panels and the run export (bench/dashboard.py) on the database
of ``DATABASE_URL``, which must be a PostgreSQL database whose name contains ``bench``
(``make bench-dashboard``: ``saka_dash_bench``); ``--reset`` empties it first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.management.base import CommandParser

from bench.dashboard import DashboardBench, dashboard_bench
from bench.management.bench_command import BenchCommand


class Command(BenchCommand):
    help = "Seed, compost, then time every dashboard panel and the run's CSV export."
    example_database = "saka_dash_bench"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wallets", type=int, default=10_000)
        parser.add_argument("--postings", type=int, default=100_000)
        parser.add_argument("--days", type=int, default=60, help="the postings' window")
        parser.add_argument("--repeat", type=int, default=5, help="calls per panel (median)")
        super().add_arguments(parser)

    def bench(self, options: dict[str, Any], log: Callable[[str], None]) -> DashboardBench:
        return dashboard_bench(
            wallets=options["wallets"],
            postings=options["postings"],
            days=options["days"],
            repeat=options["repeat"],
            log=log,
        )
