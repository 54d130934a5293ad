"""``manage.py saka_simulate``: the season simulator (``saka.grains.simulation``) from the
command line, without the API's bounds; several ``--compost-rate`` make several scenarios."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saka.core.clock import parse_instant
from saka.core.errors import DomainError
from saka.grains.simulation.chart import chart_write, scenario_label
from saka.grains.simulation.parameters import OVERRIDES, simulation_run
from saka.grains.simulation.simulate import SimulationReport

INT_OPTIONS = [name for name in OVERRIDES if not name.endswith("_rate")]


class Command(BaseCommand):
    help = (
        "Simulate N weeks of weekly compost and monthly redistribution on the database's "
        "wallets (default) or the synthetic population (--synthetic N); writes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--weeks", type=int, default=52)
        parser.add_argument("--synthetic", type=int, default=None, metavar="N")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--start", default=None, help="ISO instant (default: now)")
        parser.add_argument(
            "--compost-rate",
            action="append",
            default=None,
            help="repeat for several scenarios on one chart",
        )
        parser.add_argument("--redistribution-rate", default=None)
        for name in INT_OPTIONS:
            parser.add_argument("--" + name.replace("_", "-"), type=int, default=None)
        parser.add_argument("--json", type=Path, default=None, metavar="PATH")
        parser.add_argument("--png", type=Path, default=None, metavar="PATH")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        try:
            start = parse_instant(options["start"], field="start") if options["start"] else None
            common = {name: options[name] for name in INT_OPTIONS}
            common["redistribution_rate"] = options["redistribution_rate"]
            reports = [
                simulation_run(
                    weeks=options["weeks"],
                    synthetic_wallets=options["synthetic"],
                    seed=options["seed"],
                    start=start,
                    overrides={**common, "compost_rate": rate},
                )
                for rate in options["compost_rate"] or [None]
            ]
            if options["png"] is not None:
                chart_write(reports, options["png"])
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message} {exc.data or ''}".strip()) from exc
        for report in reports:
            self._table(report)
        if options["json"] is not None:
            options["json"].parent.mkdir(parents=True, exist_ok=True)
            body = reports[0].as_dict() if len(reports) == 1 else [r.as_dict() for r in reports]
            options["json"].write_text(json.dumps(body, indent=1) + "\n")
            self.stdout.write(f"JSON: {options['json']}")
        if options["png"] is not None:
            self.stdout.write(f"PNG: {options['png']}")
        self.stdout.write(f"done in {time.monotonic() - started:.1f} s")

    def _table(self, report: SimulationReport) -> None:
        p = report.parameters
        self.stdout.write(
            f"{scenario_label(report)}: {p['wallets']} wallets ({p['source']}), "
            f"{p['weeks']} weeks from {p['start']}, seed {p['seed']}, "
            f"simulated in {report.elapsed_ms} ms"
        )
        self.stdout.write(
            f"{'week':>4} {'compost at':<10} {'silo':>12} {'supply':>14} {'composted':>11} "
            f"{'share':>8} {'credited':>10} {'members':>8} {'each':>6} {'gini':>6} {'idle':>8}"
        )
        for w in report.weeks:
            self.stdout.write(
                f"{w.week:>4} {w.compost_at.date().isoformat():<10} {w.silo:>12} {w.supply:>14} "
                f"{w.composted:>11} {w.share_composted:>8} {w.redistributed:>10} "
                f"{w.members_credited:>8} {w.credited_per_active_member:>6} {w.gini:>6} "
                f"{w.idle_wallets:>8}"
            )
