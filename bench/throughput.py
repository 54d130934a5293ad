"""Member throughput probe: ``wallet_harvest`` as fast as it goes on distinct members, from one
process and then from several at once (harvests per second of each).

Each worker is its own process (own connection, no GIL shared with another worker), started
through :mod:`bench.processes` like the latency probe's, and harvests ``content_read`` for its
own members only, ``per_member`` times each, on successive days (the reason's daily limit is
never reached): a closed loop, nothing paced. All workers of a phase wait for one start file,
so they run together; the phase lasts from the first worker's start to the last one's end.
Bounded by the number of harvests and by ``seconds`` per phase.

Speed is reported, never asserted. What is checked is the bookkeeping: every member's
harvest entries and balance gain on the copy must be exactly what its worker says it booked.

Both ends live here: :func:`worker` runs in each worker process (``saka_bench_contender
--contender throughput_worker``), :func:`throughput_probe` in the harness.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.dbs import BenchError, Server, check_name
from bench.options import BenchOptions
from bench.processes import READY_TIMEOUT_S, finish_workers, start_workers
from bench.templates import FILE_COPY_FROM, Templates
from saka.core.errors import DomainError
from saka.grains.conf import HARVEST_RULES
from saka.grains.selectors import wallet_summary
from saka.grains.services import wallet_harvest

REASON = "content_read"


def harvest_plan(members: Sequence[int], per_member: int, as_of: datetime) -> list[Any]:
    """``(member_id, as_of)`` of every harvest, member after member: from the day after the
    population's ``as_of`` (at noon UTC), as many a day as the reason allows, a minute apart."""
    limit = HARVEST_RULES[REASON].daily_limit
    day = (as_of + timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    return [
        (member_id, day + timedelta(days=k // limit, minutes=k % limit))
        for member_id in members
        for k in range(per_member)
    ]


def worker(
    *,
    members: Sequence[int],
    per_member: int,
    as_of: datetime,
    seconds: float,
    start_file: str,
    ready_file: str,
) -> dict[str, Any]:
    """Harvest the plan of ``members``; returns what was booked per member, the refusals and
    the epoch instants of the first and last harvest. Touches ``ready_file`` once warm, starts
    when ``start_file`` exists; stops early at ``seconds``."""
    plan = harvest_plan(members, per_member, as_of)
    wallet_summary(member_id=members[0])  # warm: connection, ORM, no write
    Path(ready_file).touch()
    start, waited = Path(start_file), time.monotonic() + READY_TIMEOUT_S + 60
    while not start.exists():
        if time.monotonic() > waited:
            raise RuntimeError(f"no start signal ({start_file}) after {READY_TIMEOUT_S:.0f} s")
        time.sleep(0.001)
    booked = dict.fromkeys(members, 0)
    errors: dict[str, int] = {}
    started_at = time.time()
    deadline = time.monotonic() + seconds
    for member_id, at in plan:
        if time.monotonic() >= deadline:
            break
        try:
            wallet_harvest(member_id=member_id, reason=REASON, as_of=at)
        except DomainError as exc:
            errors[str(exc.code)] = errors.get(str(exc.code), 0) + 1
            continue
        booked[member_id] += 1
    ended_at = time.time()
    return {
        "harvests": sum(booked.values()),
        "booked": {str(m): n for m, n in booked.items()},
        "errors": errors,
        "started_at": started_at,
        "ended_at": ended_at,
    }


# --- the harness's side ---------------------------------------------------------------------


def _wallets(server: Server, db: str, members: Sequence[int]) -> dict[int, tuple[int, int]]:
    """``member_id -> (balance, harvest entries of the probe's reason)`` on the copy."""
    with server.connect(db) as conn:
        rows = conn.execute(
            "SELECT a.member_id, a.balance, (SELECT count(*) FROM grains_entry e "
            "  WHERE e.member_id = a.member_id AND e.kind = 'harvest' AND e.reason = %s) "
            "FROM grains_account a WHERE a.kind = 'wallet' AND a.member_id = ANY(%s)",
            [REASON, list(members)],
        ).fetchall()
    return {int(r[0]): (int(r[1]), int(r[2])) for r in rows}


def _phase(
    server: Server,
    db: str,
    opts: BenchOptions,
    groups: list[list[int]],
    *,
    name: str,
    tmp: Path,
) -> dict[str, Any]:
    """One phase: a worker process per group of members, all started together."""
    commands, ready_files = [], []
    for w, group in enumerate(groups):
        ready = tmp / f"ready-{name}-{w}"
        commands.append(
            [
                "saka_bench_contender",
                "--contender",
                "throughput_worker",
                "--as-of",
                opts.as_of.isoformat(),
                "--members",
                ",".join(str(m) for m in group),
                "--per-member",
                str(opts.throughput_per_member),
                "--seconds",
                str(opts.throughput_max_seconds),
                "--start-file",
                str(tmp / f"start-{name}"),
                "--ready-file",
                str(ready),
            ]
        )
        ready_files.append(ready)
    procs = start_workers(server, db, commands, ready_files=ready_files)
    (tmp / f"start-{name}").touch()
    results = finish_workers(
        procs, timeout=opts.throughput_max_seconds + READY_TIMEOUT_S, what="throughput worker"
    )
    harvests = sum(int(r["harvests"]) for r in results)
    seconds = max(float(r["ended_at"]) for r in results) - min(
        float(r["started_at"]) for r in results
    )
    errors: dict[str, int] = {}
    for r in results:
        for code, n in r["errors"].items():
            errors[code] = errors.get(code, 0) + n
    return {
        "processes": len(groups),
        "members": sum(len(g) for g in groups),
        "planned": sum(len(g) for g in groups) * opts.throughput_per_member,
        "harvests": harvests,
        "seconds": round(seconds, 3),
        "per_s": round(harvests / seconds, 1) if seconds > 0 else None,
        "errors": errors,
        "reported": {int(m): int(n) for r in results for m, n in r["booked"].items()},
    }


def _check(
    phase: dict[str, Any], before: dict[int, tuple[int, int]], after: dict[int, tuple[int, int]]
) -> None:
    """Add what the copy shows was booked for the phase's members, and whether it is exactly
    what the workers reported (``exact``), in place."""
    reward = HARVEST_RULES[REASON].reward
    reported: dict[int, int] = phase.pop("reported")
    entries = sum(after[m][1] - before[m][1] for m in reported)
    grains = sum(after[m][0] - before[m][0] for m in reported)
    wrong = [
        m
        for m, n in reported.items()
        if after[m][1] - before[m][1] != n or after[m][0] - before[m][0] != n * reward
    ]
    phase["booked_harvests"], phase["booked_grains"] = entries, grains
    phase["wrong_members"] = len(wrong)
    phase["exact"] = (
        not wrong
        and entries == phase["harvests"] > 0
        and grains == reward * phase["harvests"]
        and not phase["errors"]
    )


def throughput_probe(
    server: Server, templates: Templates, opts: BenchOptions, size: int
) -> dict[str, Any]:
    """Harvests per second from 1 process, then from ``throughput_processes`` processes at once,
    each on members of its own (fresh members for each phase), and whether each phase booked
    exactly what it reported."""
    processes, per_process = opts.throughput_processes, opts.throughput_members
    k = processes * per_process  # members per phase
    db = check_name(f"{opts.prefix}_throughput")
    server.create(db, template=templates.population(size), file_copy=size >= FILE_COPY_FROM)
    try:
        with server.connect(db) as conn:
            conn.execute("CHECKPOINT")
            rows = conn.execute(
                "SELECT member_id FROM grains_account WHERE kind = 'wallet' "
                "ORDER BY member_id LIMIT %s",
                [2 * k],
            ).fetchall()
        members = [int(r[0]) for r in rows]
        if len(members) < 2 * k:
            raise BenchError(f"the throughput probe needs {2 * k} wallets, N = {size}")
        before = _wallets(server, db, members)
        with tempfile.TemporaryDirectory(prefix="saka_bench_") as tmp:
            single = _phase(server, db, opts, [members[:k]], name="single", tmp=Path(tmp))
            groups = [
                members[k + w * per_process : k + (w + 1) * per_process] for w in range(processes)
            ]
            parallel = _phase(server, db, opts, groups, name="parallel", tmp=Path(tmp))
        after = _wallets(server, db, members)
    finally:
        server.drop(db)
    _check(single, before, after)
    _check(parallel, before, after)
    speedup = (
        round(parallel["per_s"] / single["per_s"], 2)
        if single["per_s"] and parallel["per_s"]
        else None
    )
    return {
        "size": size,
        "reason": REASON,
        "processes": processes,
        "members_per_process": per_process,
        "per_member": opts.throughput_per_member,
        "single": single,
        "parallel": parallel,
        "speedup": speedup,
        "exact": bool(single["exact"] and parallel["exact"]),
    }


def throughput_line(t: dict[str, Any]) -> str:
    """The probe's figures in one line (the harness's log)."""
    single, parallel = t["single"], t["parallel"]
    return (
        f"1 process {single['per_s']} harvests/s ({single['harvests']} in {single['seconds']} s), "
        f"{parallel['processes']} processes {parallel['per_s']} harvests/s "
        f"({parallel['harvests']} in {parallel['seconds']} s), x{t['speedup']}; "
        + ("booked exactly" if t["exact"] else "BOOKED OTHERWISE than reported")
    )
