"""The shared shape of ``saka_compost`` and ``saka_redistribute``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saka.core.clock import parse_instant
from saka.core.errors import DomainError
from saka.engine import lifecycle as engine
from saka.engine.models import UNFINISHED
from saka.engine.spec import RunSpec
from saka.grains.errors import RunNotFound
from saka.grains.models import Run, RunTrigger
from saka.grains.runs.chunks import DEFAULT_CHUNK_SIZE
from saka.grains.selectors import run_summary


class RunCommand(BaseCommand):
    start: Callable[..., Run]
    spec: RunSpec
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
            help="parallel chunk workers (threads) on PostgreSQL (default: SAKA_RUN_WORKERS)",
        )
        parser.add_argument(
            "--join",
            nargs="?",
            const=0,
            type=int,
            metavar="RUN_ID",
            help="add this process to a live run being done (default: the unfinished one)",
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
            if options["join"] is not None:
                run = self._join(options["join"], options["workers"] or 1)
            else:
                run = self._start(options, as_of, show_progress)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message} {exc.data or ''}".strip()) from exc
        self._report(run, options, show_progress)

    def _join(self, run_id: int, threads: int) -> Run:
        """Join the given live run (0: the kind's unfinished one) and work until it is done."""
        kind = self.spec.live["kind"]
        runs = Run.objects.filter(kind=kind, dry_run=False)
        run = (
            runs.filter(pk=run_id).first() if run_id else runs.filter(status__in=UNFINISHED).first()
        )
        if run is None:
            raise RunNotFound(kind=str(kind), run_id=run_id or None)
        result: Run = engine.drive(self.spec, run.pk, threads=threads)
        return result

    def _start(self, options: dict[str, Any], as_of: Any, show_progress: bool) -> Run:
        run: Run = type(self).start(
            as_of=as_of,
            dry_run=options["dry_run"],
            trigger=RunTrigger.COMMAND,
            chunk_size=options["chunk_size"],
            workers=options["workers"],
            progress=self._progress if show_progress else None,
        )
        return run

    def _report(self, run: Run, options: dict[str, Any], show_progress: bool) -> None:
        if show_progress:
            self.stderr.write("")
        summary = run_summary(run)
        if options["json"]:
            self.stdout.write(json.dumps(summary))
            return
        for key, value in summary.items():
            if value is not None and key not in ("parameters",):
                self.stdout.write(f"{key:>20}: {value}")
