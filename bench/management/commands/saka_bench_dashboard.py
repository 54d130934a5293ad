"""Time the staff dashboard's panels and the run export (bench/dashboard.py) on the database
of ``DATABASE_URL``, which must be a PostgreSQL database whose name contains ``bench``
(``make bench-dashboard``: ``saka_dash_bench``); ``--reset`` empties it first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from bench.dashboard import dashboard_bench
from bench.dbs import BenchError


class Command(BaseCommand):
    help = "Seed, compost, then time every dashboard panel and the run's CSV export."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wallets", type=int, default=10_000)
        parser.add_argument("--postings", type=int, default=100_000)
        parser.add_argument("--days", type=int, default=60, help="the postings' window")
        parser.add_argument("--repeat", type=int, default=5, help="calls per panel (median)")
        parser.add_argument("--reset", action="store_true", help="flush the database first")
        parser.add_argument("--out", help="write the Markdown table to this file")

    def handle(self, *args: Any, **options: Any) -> None:
        name = str(connection.settings_dict["NAME"])
        if connection.vendor != "postgresql" or "bench" not in name:
            raise CommandError(
                f"refusing database {name!r}: a PostgreSQL database named *bench* "
                "(DATABASE_URL=postgres://postgres@127.0.0.1:5432/saka_dash_bench)"
            )
        if options["reset"]:
            call_command("flush", "--noinput", verbosity=0)
        try:
            result = dashboard_bench(
                wallets=options["wallets"],
                postings=options["postings"],
                days=options["days"],
                repeat=options["repeat"],
                log=self.stdout.write,
            )
        except BenchError as exc:
            raise CommandError(str(exc)) from exc
        table = result.markdown()
        self.stdout.write(table)
        if options["out"]:
            Path(options["out"]).write_text(table)
