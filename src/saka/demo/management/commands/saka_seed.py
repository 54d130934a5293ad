"""Create the synthetic population of spec §7 (fast on PostgreSQL: set-based SQL)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saka.core.clock import check_instant, now, parse_instant
from saka.core.errors import DomainError
from saka.demo.seed import expected_compost, seed_population


class Command(BaseCommand):
    help = "Create N synthetic SAKA wallets (spec §7) on a database without wallets."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wallets", type=int, required=True)
        parser.add_argument("--as-of", help="ISO 8601 instant with offset (default: now)")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        log = None if options["json"] else self.stdout.write
        try:
            as_of = now()
            if options["as_of"] is not None:
                as_of = check_instant(parse_instant(options["as_of"]))
            result = seed_population(wallets=options["wallets"], as_of=as_of, log=log)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        composted, total = expected_compost(wallets=result.wallets)
        summary = {
            "wallets": result.wallets,
            "total_balance": result.total_balance,
            "as_of": as_of.isoformat(),
            "expected_compost_wallets": composted,
            "expected_compost_total": total,
            "elapsed_s": round(result.elapsed_s, 2),
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            self.stdout.write(
                f"saka_seed: {result.wallets} wallets ({result.total_balance} grains) as of "
                f"{as_of.isoformat()} in {result.elapsed_s:.1f} s; a compost run at that instant "
                f"composts {composted} wallets ({total} grains)"
            )
