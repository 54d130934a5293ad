"""Settle a project's closed campaign: release (succeeded) or refund (failed, cancelled), in
this process (threads on PostgreSQL); or join a settlement being done by others (``--join``)."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saka.core.clock import parse_instant
from saka.core.errors import DomainError, ValidationError
from saka.engine import lifecycle as engine
from saka.engine.models import UNFINISHED
from saka.euro.conf import MAX_SETTLEMENT_CHUNK, MAX_WORKERS
from saka.euro.errors import SettlementNotFound
from saka.euro.models import SettlementRun, Trigger
from saka.euro.selectors import campaign_for_settlement, settlement_get, settlement_summary
from saka.euro.settlement import SETTLEMENT, settlement_start


class Command(BaseCommand):
    help = (
        "Settle the latest campaign of --project (or --campaign): release or refund every "
        "held pledge, chunk by chunk. Resumes an interrupted settlement; idempotent. "
        "--join adds this process to a settlement other processes are doing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group()
        target.add_argument("--project", type=int, help="project id: its latest campaign")
        target.add_argument("--campaign", type=int, help="campaign id")
        parser.add_argument(
            "--chunk-size",
            "--batch-size",
            dest="chunk_size",
            type=int,
            default=None,
            help=f"held pledges per chunk, 1..{MAX_SETTLEMENT_CHUNK} "
            "(default SAKA_SETTLEMENT_BATCH_SIZE); fixed when the settlement opens",
        )
        parser.add_argument(
            "--as-of",
            help="ISO 8601 instant with offset the pledges are settled at (default: now); "
            "fixed when the settlement opens",
        )
        parser.add_argument(
            "--workers",
            type=int,
            help=f"parallel chunk workers (threads) on PostgreSQL, 1..{MAX_WORKERS} "
            "(default: SAKA_RUN_WORKERS; with --join: 1)",
        )
        parser.add_argument(
            "--join",
            nargs="?",
            const=0,
            type=int,
            metavar="RUN_ID",
            help="join settlement RUN_ID (default: the campaign's, or the one unfinished "
            "settlement) and work on it until it is done",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def _progress(self, run: SettlementRun) -> None:
        done = run.pledges_done + run.pledges_skipped
        share = min(done / run.pledges_total if run.pledges_total else 1.0, 1.0)
        bar = "#" * int(share * 30)
        self.stderr.write(
            f"\rsettle [{bar:<30}] {share:6.1%}  {run.pledges_done} pledges", ending=""
        )
        self.stderr.flush()

    def handle(self, *args: Any, **options: Any) -> None:
        show_progress = sys.stderr.isatty() and not options["json"]
        try:
            # an empty --as-of "" (an unset shell variable) is an error, never "now"
            as_of = parse_instant(options["as_of"]) if options["as_of"] is not None else None
            campaign_id = options["campaign"]
            if campaign_id is None and options["project"] is not None:
                campaign_id = campaign_for_settlement(project_id=options["project"]).pk
            if options["join"] is not None:
                workers = 1 if options["workers"] is None else options["workers"]
                if not 1 <= workers <= MAX_WORKERS:
                    raise ValidationError(
                        f"workers must be an integer in 1..{MAX_WORKERS}.", field="workers"
                    )
                run = self._join(options["join"], campaign_id, workers)
            elif campaign_id is None:
                raise CommandError("Give --project or --campaign (or --join).")
            else:
                run = settlement_start(
                    campaign_id=campaign_id,
                    as_of=as_of,
                    trigger=Trigger.COMMAND,
                    chunk_size=options["chunk_size"],
                    workers=options["workers"],
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

    def _join(self, run_id: int, campaign_id: int | None, threads: int) -> SettlementRun:
        """Join settlement ``run_id`` (0: the campaign's, or the only unfinished one) and work
        on it until it is done."""
        if run_id:
            run = SettlementRun.objects.filter(pk=run_id).first()
            if run is None:
                raise SettlementNotFound(run_id=run_id)
        elif campaign_id is not None:
            run = settlement_get(campaign_id=campaign_id)
        else:
            unfinished = list(
                SettlementRun.objects.filter(status__in=UNFINISHED)
                .order_by("pk")
                .values_list("pk", flat=True)[:10]
            )
            if not unfinished:
                raise SettlementNotFound("No settlement is unfinished.")
            if len(unfinished) > 1:
                raise ValidationError(
                    "Several settlements are unfinished: give RUN_ID or --campaign.",
                    field="join",
                    run_ids=unfinished,
                )
            run = SettlementRun.objects.get(pk=unfinished[0])
        result: SettlementRun = engine.drive(SETTLEMENT, run.pk, threads=threads)
        return result
