"""Prove the books: exit 0 when every invariant holds, 1 with the list otherwise (the verdict
is kept: ``saka.ledger.reconcile_results``)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saka.ledger.reconcile import reconcile
from saka.ledger.reconcile_results import reconcile_result_record


class Command(BaseCommand):
    help = "Check every ledger invariant; exit non-zero listing each discrepancy."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--limit", type=int, default=100, help="max rows listed per check")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1")
        report = reconcile(limit_per_check=options["limit"])
        reconcile_result_record(report=report, source="command")  # the dashboard's last verdict
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict()))
        else:
            for d in report.discrepancies:
                self.stdout.write(f"[{d.book}] {d.check}: {d.message}")
            verdict = "OK" if report.ok else f"{len(report.discrepancies)} discrepancies"
            self.stdout.write(
                f"saka_reconcile: {verdict} ({len(report.checks)} checks, {report.elapsed_ms} ms)"
            )
        if not report.ok:
            raise SystemExit(1)
