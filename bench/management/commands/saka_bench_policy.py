"""Time the policy lab's what-if against the dry runs it must equal (bench/policy_lab.py) on
the database of ``DATABASE_URL``, which must be a PostgreSQL database whose name contains
``bench`` (``make bench-policy``: ``saka_policy_bench``); ``--reset`` empties it first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from bench.dbs import BenchError
from bench.policy_lab import policy_lab_bench


class Command(BaseCommand):
    help = "Seed, then time the what-if of a few candidates and check it equals the dry runs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wallets", type=int, default=10_000)
        parser.add_argument("--repeat", type=int, default=3, help="what-ifs per candidate")
        parser.add_argument("--reset", action="store_true", help="flush the database first")
        parser.add_argument("--out", help="write the Markdown table to this file")

    def handle(self, *args: Any, **options: Any) -> None:
        name = str(connection.settings_dict["NAME"])
        if connection.vendor != "postgresql" or "bench" not in name:
            raise CommandError(
                f"refusing database {name!r}: a PostgreSQL database named *bench* "
                "(DATABASE_URL=postgres://postgres@127.0.0.1:5432/saka_policy_bench)"
            )
        if options["reset"]:
            call_command("flush", "--noinput", verbosity=0)
        try:
            result = policy_lab_bench(
                wallets=options["wallets"], repeat=options["repeat"], log=self.stdout.write
            )
        except BenchError as exc:
            raise CommandError(str(exc)) from exc
        table = result.markdown()
        self.stdout.write(table)
        if options["out"]:
            Path(options["out"]).write_text(table)
