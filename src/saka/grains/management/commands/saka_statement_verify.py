"""Verify the run statements: the chain (hashes, links, no gap) and that each statement (or
only run ``--run``'s) matches the books; exit status 1 when anything is off."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saka.grains.invariants import run_statements_chain, run_statements_match_books
from saka.grains.models import RunStatement


class Command(BaseCommand):
    help = "Verify the run statements' hash chain and that each statement matches the books."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--run", type=int, default=None, help="Only this run's statement.")
        parser.add_argument("--limit", type=int, default=100, help="Discrepancies per check.")

    def handle(self, *args: Any, **options: Any) -> None:
        run_id, limit = options["run"], options["limit"]
        started = time.monotonic()
        if run_id is not None and not RunStatement.objects.filter(run_id=run_id).exists():
            raise CommandError(f"run {run_id} has no statement")
        found = [
            d
            for check in (run_statements_chain, run_statements_match_books)
            for d in check(limit)
            if run_id is None or d.data.get("run_id") == run_id
        ]
        count = RunStatement.objects.count() if run_id is None else 1
        elapsed = int((time.monotonic() - started) * 1000)
        for d in found:
            self.stdout.write(f"{d.check}: {d.message}")
        if found:
            raise CommandError(f"{len(found)} discrepancies in the run statements ({elapsed} ms)")
        self.stdout.write(f"saka_statement_verify: {count} statement(s) verified ({elapsed} ms)")
