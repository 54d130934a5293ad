"""One contender (or one member-probe or fan-out worker) in this fresh process; one JSON line
on stdout.

Started by ``saka_bench`` with ``DATABASE_URL`` pointing at a fresh copy of the population.
Not meant to be run by hand on a database you care about: contenders write.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from bench import fanout, latency, server_load, settlement_latency, throughput
from bench.contenders import CONTENDERS, rss_mb, run_contender
from bench.dbs import PREFIX
from bench.floor import DEFAULT_VARIANT, VARIANTS
from bench.second_report.sides import SIDES as SECOND_SIDES
from saka.core.clock import parse_instant
from saka.core.errors import DomainError
from saka.grains.runs.chunks import DEFAULT_CHUNK_SIZE

SETTLEMENT_SIDES = ("settlement_seed", "settlement_latency_worker", "settlement_run")


def _settlement_side(options: dict[str, Any]) -> dict[str, Any]:
    """The sides of the member latency during a settlement (bench.settlement_latency)."""
    name = options["contender"]
    if name == "settlement_seed":
        return settlement_latency.seed(
            pledges=options["pledges"], probe_members=options["probe_members"]
        )
    if name == "settlement_run":
        if not options["campaign"]:
            raise CommandError("settlement_run needs --campaign")
        return settlement_latency.run_settlement(
            campaign_id=options["campaign"], workers=options["threads"]
        )
    if not options["members"] or not options["project"]:
        raise CommandError("settlement_latency_worker needs --members and --project")
    result = settlement_latency.worker(
        members=[int(m) for m in options["members"].split(",")],
        project_id=options["project"],
        seconds=options["seconds"],
        max_ops=options["max_ops"],
        rate=options["rate"],
        stop_file=options["stop_file"],
        ready_file=options["ready_file"],
    )
    result["peak_rss_mb"] = rss_mb()
    return result


class Command(BaseCommand):
    help = "Run one saka_bench contender in this process (used by saka_bench)."
    requires_system_checks: list[str] = []  # a fresh process per contender: start fast

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--contender",
            required=True,
            choices=[
                *CONTENDERS,
                "latency_worker",
                "throughput_worker",
                "run_worker",
                "server_seed",
                "server_profile",
                *SETTLEMENT_SIDES,
                *SECOND_SIDES,
            ],
        )
        parser.add_argument("--as-of", required=True, help="the population's as_of (ISO 8601)")
        parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
        parser.add_argument("--floor-variant", choices=VARIANTS, default=DEFAULT_VARIANT)
        parser.add_argument("--seconds", type=float, default=10.0)
        parser.add_argument("--max-ops", type=int, default=2000)
        parser.add_argument("--rate", type=float, default=25.0)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--stop-file")
        parser.add_argument("--ready-file")
        parser.add_argument("--start-file", help="throughput worker: start once it exists")
        parser.add_argument("--members", help="throughput worker: comma-separated member ids")
        parser.add_argument("--per-member", type=int, default=1, help="throughput worker")
        parser.add_argument(
            "--processes",
            type=int,
            help="project contenders: drive the run with this many processes (bench.fanout)",
        )
        parser.add_argument(
            "--threads", type=int, default=1, help="fan-out: threads each process drives with"
        )
        parser.add_argument(
            "--kind", choices=sorted(fanout.SPECS), help="run_worker: the run's kind"
        )
        parser.add_argument("--pledges", type=int, default=20_000, help="settlement_seed")
        parser.add_argument("--probe-members", type=int, default=16, help="settlement_seed")
        parser.add_argument("--project", type=int, help="settlement_latency_worker: donations'")
        parser.add_argument("--campaign", type=int, help="settlement_run: the campaign to settle")
        parser.add_argument("--tokens", type=int, default=1000, help="server_seed: members")
        parser.add_argument("--phase", help="server_profile: the request profiled")
        parser.add_argument("--calls", type=int, default=200, help="server_profile")
        parser.add_argument("--seeded-file", help="server_profile: server_seed's result")
        parser.add_argument("--params", help="second_* sides: their keyword arguments (JSON)")
        parser.add_argument("--reconcile", action="store_true", help="reconcile after the work")
        parser.add_argument(
            "--no-checkpoint", action="store_true", help="skip the CHECKPOINT before the clock"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("saka_bench_contender runs on PostgreSQL only.")
        name = str(connection.settings_dict["NAME"])
        if not name.startswith(PREFIX):
            raise CommandError(f"refusing to write to {name!r}: not a saka_bench_* database")
        try:
            as_of = parse_instant(options["as_of"])
            if options["contender"] in SECOND_SIDES:
                result = SECOND_SIDES[options["contender"]](**json.loads(options["params"] or "{}"))
            elif options["contender"] in SETTLEMENT_SIDES:
                result = _settlement_side(options)
            elif options["contender"] == "latency_worker":
                result = latency.worker(
                    seconds=options["seconds"],
                    max_ops=options["max_ops"],
                    rate=options["rate"],
                    seed=options["seed"],
                    stop_file=options["stop_file"],
                    ready_file=options["ready_file"],
                )
                result["peak_rss_mb"] = rss_mb()
            elif options["contender"] == "throughput_worker":
                if not options["members"] or not options["start_file"] or not options["ready_file"]:
                    raise CommandError(
                        "throughput_worker needs --members, --start-file, --ready-file"
                    )
                result = throughput.worker(
                    members=[int(m) for m in options["members"].split(",")],
                    per_member=options["per_member"],
                    as_of=as_of,
                    seconds=options["seconds"],
                    start_file=options["start_file"],
                    ready_file=options["ready_file"],
                )
                result["peak_rss_mb"] = rss_mb()
            elif options["contender"] == "server_seed":
                result = server_load.seed(members=options["tokens"])
            elif options["contender"] == "server_profile":
                if not options["phase"] or not options["seeded_file"]:
                    raise CommandError("server_profile needs --phase and --seeded-file")
                result = server_load.profile_write(
                    phase=options["phase"],
                    calls=options["calls"],
                    seeded=json.loads(Path(options["seeded_file"]).read_text()),
                )
            elif options["contender"] == "run_worker":
                if not options["kind"]:
                    raise CommandError("run_worker needs --kind")
                result = fanout.worker(options["kind"], threads=options["threads"])
            elif options["processes"] is not None:
                result = fanout.run_fanout(
                    options["contender"],
                    as_of=as_of,
                    processes=options["processes"],
                    threads=options["threads"],
                    chunk_size=options["chunk_size"],
                    reconcile=options["reconcile"],
                    checkpoint=not options["no_checkpoint"],
                )
            else:
                result = run_contender(
                    options["contender"],
                    as_of=as_of,
                    options={
                        "chunk_size": options["chunk_size"],
                        "floor_variant": options["floor_variant"],
                    },
                    reconcile=options["reconcile"],
                    checkpoint=not options["no_checkpoint"],
                )
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message} {exc.data or ''}".strip()) from exc
        self.stdout.write(json.dumps(result, default=str))
