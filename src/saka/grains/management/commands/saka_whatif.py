"""What the next compost and redistribution would do under candidate parameters, beside the
rules in force, over every wallet, writing nothing but the what-if's record (its id is what a
parameter change carries: the staff API or the admin, with the ``policy_maker`` role)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saka.core.clock import parse_instant
from saka.core.errors import DomainError
from saka.grains.policy import PARAMETERS, RATES
from saka.grains.whatif import policy_whatif


class Command(BaseCommand):
    help = (
        "Apply candidate compost/redistribution parameters to every wallet without booking "
        "anything, beside the rules in force (e.g. --compost-rate 0.2)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        for name in PARAMETERS:
            parser.add_argument(
                "--" + name.replace("_", "-"),
                dest=name,
                type=str if name in RATES else int,
                help="a decimal in (0, 1]" if name in RATES else "an integer",
            )
        parser.add_argument("--as-of", help="ISO 8601 instant with offset (default: now)")
        parser.add_argument("--json", action="store_true", help="print the what-if as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        changes = {name: options[name] for name in PARAMETERS if options[name] is not None}
        try:
            as_of = parse_instant(options["as_of"]) if options["as_of"] is not None else None
            whatif = policy_whatif(changes=changes, actor_id=None, as_of=as_of)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message} {exc.data or ''}".strip()) from exc
        if options["json"]:
            self.stdout.write(json.dumps({"id": whatif.pk, **whatif.result}, indent=2))
            return
        r = whatif.result
        b, c = r["baseline"], r["candidate"]
        rows = [
            ("composting wallets", b["compost"]["wallets"], c["compost"]["wallets"]),
            ("grains composted", b["compost"]["grains"], c["compost"]["grains"]),
            (
                "median amount",
                b["compost"]["percentiles"].get("p50", 0),
                c["compost"]["percentiles"].get("p50", 0),
            ),
            (
                "members counted",
                b["redistribution"]["eligible_wallets"],
                c["redistribution"]["eligible_wallets"],
            ),
            ("pot", b["redistribution"]["pot"], c["redistribution"]["pot"]),
            (
                "share per member",
                b["redistribution"]["per_wallet"],
                c["redistribution"]["per_wallet"],
            ),
        ]
        self.stdout.write(
            f"what-if {whatif.pk} at {r['as_of']} over {r['wallets']} wallets "
            f"({whatif.duration_ms} ms)"
        )
        self.stdout.write(f"{'':22}{'in force':>16}{'candidate':>16}")
        for label, before, after in rows:
            self.stdout.write(f"{label:22}{before:>16,}{after:>16,}")
        d = r["difference"]
        self.stdout.write(
            f"start composting {d['start_composting']:,}, stop {d['stop_composting']:,}, "
            f"amount changed {d['amount_changed']:,}, grains moved {d['grains_moved']:+,}; "
            f"start receiving {d['start_receiving']:,}, stop {d['stop_receiving']:,}"
        )
        changed = {k: v for k, v in whatif.parameters.items() if whatif.baseline[k] != v}
        self.stdout.write(f"candidate changes: {changed or 'none'}")
