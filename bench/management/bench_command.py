"""The shared shape of the benchmark commands that run on the database Django is connected
to (``saka_bench_dashboard``, ``saka_bench_policy``): refuse any database but a PostgreSQL one
named ``*bench*``, empty it with ``--reset``, run, print the Markdown table (``--out``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from bench.dbs import BenchError


class BenchCommand(BaseCommand):
    example_database = "saka_bench"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset", action="store_true", help="flush the database first")
        parser.add_argument("--out", help="write the Markdown table to this file")

    def bench(self, options: dict[str, Any], log: Callable[[str], None]) -> Any:
        """Run the benchmark; return a result with a ``markdown()``."""
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        name = str(connection.settings_dict["NAME"])
        if connection.vendor != "postgresql" or "bench" not in name:
            raise CommandError(
                f"refusing database {name!r}: a PostgreSQL database named *bench* "
                f"(DATABASE_URL=postgres://postgres@127.0.0.1:5432/{self.example_database})"
            )
        if options["reset"]:
            call_command("flush", "--noinput", verbosity=0)
        try:
            result = self.bench(options, self.stdout.write)
        except BenchError as exc:
            raise CommandError(str(exc)) from exc
        table = result.markdown()
        self.stdout.write(table)
        if options["out"]:
            Path(options["out"]).write_text(table)
