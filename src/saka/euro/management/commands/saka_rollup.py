"""Fold pending credits into the rolled-up balances: the EUR commission and project accounts,
and the projects' SAKA figures (what the ``ledger_rollup`` beat task does; cron it every
minute or so when there is no broker). Idempotent, safe beside any other process."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saka.core.errors import LockTimeout
from saka.euro.accounts import euro_rollup
from saka.projects.services import project_scores_rollup


class Command(BaseCommand):
    help = "Fold pending credits (EUR commission, project accounts) and pending project boosts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            folded = {"eur": euro_rollup(), "projects": project_scores_rollup()}
        except LockTimeout as exc:
            raise CommandError("another rollup holds the rows; try again") from exc
        if options["json"]:
            self.stdout.write(json.dumps(folded))
        else:
            self.stdout.write(
                f"saka_rollup: {folded['eur']} EUR credits, {folded['projects']} project boosts "
                "folded"
            )
