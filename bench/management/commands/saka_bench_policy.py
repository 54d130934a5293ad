"""Time the policy lab's what-if against the dry runs it must equal (bench/policy_lab.py) on
the database of ``DATABASE_URL``, a PostgreSQL database whose name contains ``bench``
(``make bench-policy``: ``saka_policy_bench``); ``--reset`` empties it first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.management.base import CommandParser

from bench.management.bench_command import BenchCommand
from bench.policy_lab import PolicyLabBench, policy_lab_bench


class Command(BenchCommand):
    help = "Seed, then time the what-if of a few candidates and check it equals the dry runs."
    example_database = "saka_policy_bench"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wallets", type=int, default=10_000)
        parser.add_argument("--repeat", type=int, default=3, help="what-ifs per candidate")
        super().add_arguments(parser)

    def bench(self, options: dict[str, Any], log: Callable[[str], None]) -> PolicyLabBench:
        return policy_lab_bench(wallets=options["wallets"], repeat=options["repeat"], log=log)
