"""Settle a project's closed campaign: release (succeeded) or refund (failed, cancelled)."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saka.core.errors import DomainError
from saka.euro.conf import MAX_SETTLEMENT_BATCH
from saka.euro.models import SettlementRun, Trigger
from saka.euro.selectors import campaign_for_settlement, settlement_summary
from saka.euro.settlement import settlement_start


class Command(BaseCommand):
    help = (
        "Settle the latest campaign of --project (or --campaign): release or refund every "
        "held pledge in batches. Resumes an interrupted settlement; idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--project", type=int, help="project id: its latest campaign")
        target.add_argument("--campaign", type=int, help="campaign id")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=None,
            help=f"pledges per batch, 1..{MAX_SETTLEMENT_BATCH} (SAKA_SETTLEMENT_BATCH_SIZE)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def _progress(self, run: SettlementRun) -> None:
        done = run.pledges_done + run.pledges_skipped
        share = done / run.pledges_total if run.pledges_total else 1.0
        bar = "#" * int(min(share, 1.0) * 30)
        self.stderr.write(
            f"\rsettle [{bar:<30}] {min(share, 1.0):6.1%}  {run.pledges_done} pledges", ending=""
        )
        self.stderr.flush()

    def handle(self, *args: Any, **options: Any) -> None:
        show_progress = sys.stderr.isatty() and not options["json"]
        try:
            campaign_id = options["campaign"]
            if campaign_id is None:
                campaign_id = campaign_for_settlement(project_id=options["project"]).pk
            run = settlement_start(
                campaign_id=campaign_id,
                trigger=Trigger.COMMAND,
                batch_size=options["batch_size"],
                progress=self._progress if show_progress else None,
            )
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message} {exc.data or ''}".strip()) from exc
        if show_progress:
            self.stderr.write("")
        summary = settlement_summary(run)
        if options["json"]:
            self.stdout.write(json.dumps(summary))
            return
        for key, value in summary.items():
            if value not in (None, ""):
                self.stdout.write(f"{key:>16}: {value}")
