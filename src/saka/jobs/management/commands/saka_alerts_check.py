"""Run the alerts' checks here, without the broker (beat's task cannot run when the broker is
down): from cron, every 5 minutes, and nightly with ``--books`` (docs/alerts.md)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from saka.jobs.alerts import ERROR, RAISED, alerts_check


class Command(BaseCommand):
    help = (
        "Run the alerts' checks (compost overdue or empty, stalled runs, the broker; the books "
        "with --books); exit 1 when an alert is raised, 2 when a check failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--books", action="store_true", help="reconcile the books too")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        results = alerts_check(at=timezone.now(), books=options["books"])
        if options["json"]:
            self.stdout.write(json.dumps(results))
        else:
            for name, result in results.items():
                self.stdout.write(f"{name}: {result}")
        if ERROR in results.values():
            raise SystemExit(2)
        if RAISED in results.values():
            raise SystemExit(1)
