"""The shared shape of ``saka_compost`` and ``saka_redistribute``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saka.core.clock import parse_instant
from saka.core.errors import DomainError
from saka.grains.models import Run, RunTrigger
from saka.grains.runs.chunks import DEFAULT_CHUNK_SIZE
from saka.grains.selectors import run_summary


class RunCommand(BaseCommand):
    start: Callable[..., Run]
    noun: str

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="compute and record, book nothing"
        )
        parser.add_argument("--as-of", help="ISO 8601 instant with offset (default: now)")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
        parser.add_argument(
            "--workers",
            type=int,
            help="parallel chunk workers on PostgreSQL (default: SAKA_RUN_WORKERS)",
        )

    def _progress(self, run: Run) -> None:
        done = run.chunks_done / run.chunks_total if run.chunks_total else 1.0
        bar = "#" * int(done * 30)
        self.stderr.write(
            f"\r{self.noun} [{bar:<30}] {done:6.1%}  {run.wallets_done} wallets", ending=""
        )
        self.stderr.flush()

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            # an empty --as-of "" (an unset shell variable) is an error, never "now"
            as_of = parse_instant(options["as_of"]) if options["as_of"] is not None else None
            show_progress = sys.stderr.isatty() and not options["json"]
            run = type(self).start(
                as_of=as_of,
                dry_run=options["dry_run"],
                trigger=RunTrigger.COMMAND,
                chunk_size=options["chunk_size"],
                workers=options["workers"],
                progress=self._progress if show_progress else None,
            )
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message} {exc.data or ''}".strip()) from exc
        if show_progress:
            self.stderr.write("")
        summary = run_summary(run)
        if options["json"]:
            self.stdout.write(json.dumps(summary))
            return
        for key, value in summary.items():
            if value is not None and key not in ("parameters",):
                self.stdout.write(f"{key:>20}: {value}")
