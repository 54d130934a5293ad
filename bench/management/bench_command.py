"""The shared shape of the benchmark commands that run on the database Django is connected
to (``saka_bench_dashboard``, ``saka_bench_policy``): refuse any database but a PostgreSQL one
named ``*bench*``, empty it with ``--reset``, run, print the Markdown table (``--out``), and
write the figures with the date and the machine as JSON (``--json``: bench/results/ holds the
files the page's lead table reads, bench.page)."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from bench.dbs import BenchError, Server
from bench.machine import machine_info


class BenchCommand(BaseCommand):
    example_database = "saka_bench"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset", action="store_true", help="flush the database first")
        parser.add_argument("--out", help="write the Markdown table to this file")
        parser.add_argument(
            "--json",
            metavar="FILE",
            help="write the figures, the date and the machine to this JSON file",
        )

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
        machine = machine_info(Server.from_django()) if options["json"] else {}
        try:
            result = self.bench(options, self.stdout.write)
        except BenchError as exc:
            raise CommandError(str(exc)) from exc
        table = result.markdown()
        self.stdout.write(table)
        if options["out"]:
            Path(options["out"]).write_text(table)
        if options["json"]:
            machine["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
            now = datetime.now(UTC)
            data = {
                "date": now.strftime("%Y-%m-%d"),
                "finished_at": now.isoformat(timespec="seconds"),
                "machine": machine,
                **dataclasses.asdict(result),
            }
            path = Path(options["json"])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(data, indent=2, default=str) + "\n")
            self.stdout.write(f"json: {path}")
