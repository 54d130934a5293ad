"""The harness's side of the second report's measurements: fresh databases, one process per
contender (``saka_bench_contender --contender second_*``), and the checks, by SQL on the copy,
of what each booked against what it reported and what was expected.

- :func:`settlement_probe`: for each P, a campaign of P held pledges seeded once (a template
  ``<prefix>_second_settle_tpl``), then settled on a fresh copy by the project and by the seeds;
- :func:`pockets_probe`: one member per (contender, K pockets) on one database, several
  deposits each (a process per member), the split checked pocket by pocket;
- :func:`deposits_probe`: N members with three pockets each, one deposit each from 4 worker
  processes at once (closed loop), every balance checked.
"""

from __future__ import annotations

import json
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

from bench.dbs import Server, check_name
from bench.latency import percentile
from bench.options import BenchOptions
from bench.processes import READY_TIMEOUT_S, finish_workers, last_json, manage, start_workers
from bench.second_report.render import (
    deposits_exact,
    reconcile_failed,
    settlement_exact,
    split_exact,
)
from bench.second_report.seeds_code import MAX_ESCROWS_PER_BATCH, MAX_POCKETS_PER_ALLOCATION
from bench.second_report.sides import DEPOSIT_POCKETS_BP, INITIAL_MAIN, deposit_amount
from bench.templates import Templates
from saka.euro.conf import get_settings
from saka.euro.splits import pocket_split, rate_ratio

POCKET_DEPOSIT = 10_05  # cents: not divisible by 10 or 100 (10 % -> 100.5, 1 % -> 10.05)
POCKET_DEPOSITS = 5  # deposits per member (the time is their median)
SEEDS_POCKET_CAP_CASE = 150  # also run for the seeds only: their silent cap at 100 pockets


def _side(server: Server, db: str, side: str, params: dict[str, Any], opts: BenchOptions) -> Any:
    out, _ = manage(
        server,
        db,
        "saka_bench_contender",
        "--contender",
        side,
        "--as-of",
        opts.as_of.isoformat(),
        "--params",
        json.dumps(params),
        timeout=opts.timeout_s,
    )
    return last_json(out)


# --- settlement -----------------------------------------------------------------------------

_PLEDGES = """
SELECT count(*), count(*) FILTER (WHERE status = 'released'),
       count(*) FILTER (WHERE status = 'held'), COALESCE(sum(amount_cents), 0),
       COALESCE(sum(commission_cents - amount_cents * %(num)s / %(den)s)
                FILTER (WHERE status = 'released'), 0)
FROM euro_pledge WHERE campaign_id = %(campaign)s
"""
_ESCROW_DEBITS = """
SELECT count(*) FILTER (WHERE n > 1), COALESCE(sum(debited), 0) FROM (
    SELECT p.id, count(s.id) AS n, -sum(s.amount) AS debited
    FROM euro_pledge p JOIN euro_posting s ON s.account_id = p.escrow_id AND s.amount < 0
    WHERE p.campaign_id = %(campaign)s GROUP BY p.id
) d
"""
_CREDITS = """
SELECT COALESCE(sum(s.amount) FILTER (WHERE a.kind = 'commission'), 0),
       COALESCE(sum(s.amount) FILTER (WHERE a.kind = 'project'), 0)
FROM euro_entry e JOIN euro_posting s ON s.entry_id = e.id
JOIN euro_account a ON a.id = s.account_id
WHERE e.kind = 'release' AND e.campaign_id = %(campaign)s
"""


def settlement_check(
    server: Server, db: str, *, campaign_id: int, reported: dict[str, int]
) -> dict[str, Any]:
    """What the copy shows after a settlement, against P and against what was reported."""
    num, den = rate_ratio(get_settings().commission_rate)
    params = {"campaign": campaign_id, "num": num, "den": den}
    with server.connect(db) as conn:
        row = conn.execute(_PLEDGES, params).fetchone()
        debits = conn.execute(_ESCROW_DEBITS, params).fetchone()
        credits = conn.execute(_CREDITS, params).fetchone()
    if row is None or debits is None or credits is None:  # pragma: no cover - aggregates
        raise RuntimeError("the settlement check returned nothing")
    pledges, released, held, amount, off_rule = (int(x) for x in row)
    twice, booked = int(debits[0]), int(debits[1])
    commission, net = int(credits[0]), int(credits[1])
    return {
        "expected": pledges,
        "expected_amount": amount,
        "released": released,
        "never_released": held,
        "released_twice": twice,
        "booked_amount": booked,
        "booked_commission": commission,
        "booked_net": net,
        "reported_not_booked": reported["amount"] - booked,
        "commission_reported_not_booked": reported["commission"] - commission,
        "commission_off_rule": off_rule,  # Σ (commission - floor(amount x rate)), released
    }


def settlement_probe(
    server: Server, templates: Templates, opts: BenchOptions
) -> list[dict[str, Any]]:
    out = []
    tpl = check_name(f"{opts.prefix}_second_settle_tpl")
    db = check_name(f"{opts.prefix}_second_settle")
    for pledges in opts.settlement_sizes:
        opts.log(f"  settlement of {pledges:,} pledges: seeding")
        server.create(tpl, template=templates.schema())
        try:
            seeded = _side(server, tpl, "second_settlement_seed", {"pledges": pledges}, opts)
            server.maintain(tpl)
            for family in ("project", "seeds"):
                server.create(db, template=tpl)
                try:
                    m = _side(
                        server,
                        db,
                        "second_settlement_run",
                        {"family": family, "campaign_id": seeded["campaign_id"]},
                        opts,
                    )
                    m["pledges"] = pledges
                    m["check"] = settlement_check(
                        server, db, campaign_id=seeded["campaign_id"], reported=m["reported"]
                    )
                finally:
                    server.drop(db)
                m["exact"] = settlement_exact(m)
                opts.log(
                    f"    {family}: {m['wall_s']:.3f} s, {m['queries']:,} queries, "
                    f"{m['peak_rss_mb']} MB; released {m['check']['released']:,} of "
                    f"{pledges:,}, reported {m['reported']['count']:,}"
                )
                out.append(m)
        finally:
            server.drop(tpl)
    return out


# --- pockets ------------------------------------------------------------------------------------


def split_check(
    *, amount: int, deposits: int, pockets: list[tuple[int, int]], main_gain: int
) -> dict[str, Any]:
    """The split of ``deposits`` identical deposits of ``amount`` cents, from the pockets'
    ``(percentage_bp, balance)`` and the main balance's gain, per deposit: Σ parts against the
    exact share of the total percentage, each part against its exact share."""
    total_bp = sum(bp for bp, _ in pockets)
    target = Fraction(amount * total_bp, 10_000)  # the exact Σ of the parts
    parts_sum = Fraction(sum(b for _, b in pockets), deposits)
    over = max(Fraction(0), parts_sum - (target.__ceil__()))
    under = max(Fraction(0), Fraction(target.__floor__()) - parts_sum)
    off = skipped = 0
    for bp, balance in pockets:
        exact = Fraction(amount * bp, 10_000)
        part = Fraction(balance, deposits)
        if abs(part - exact) >= 1:
            off += 1
        if balance == 0 and exact >= 1:
            skipped += 1
    return {
        "pockets": len(pockets),
        "percentage_bp": total_bp,
        "parts_per_deposit": float(parts_sum),
        "target_per_deposit": float(target),
        "main_per_deposit": float(Fraction(main_gain, deposits)),
        "conserved": parts_sum + Fraction(main_gain, deposits) == amount,
        "over_cents": int(over * deposits),
        "under_cents": int(under * deposits),
        "parts_off_by_a_cent_or_more": off,
        "skipped": skipped,
    }


def _pocket_state(server: Server, db: str, member_id: int) -> tuple[list[tuple[int, int]], int]:
    with server.connect(db) as conn:
        rows = conn.execute(
            "SELECT k.percentage_bp, a.balance FROM euro_pocket k JOIN euro_account a "
            "ON a.id = k.account_id WHERE k.member_id = %s ORDER BY k.id",
            [member_id],
        ).fetchall()
        main = conn.execute(
            "SELECT balance FROM euro_account WHERE kind = 'wallet' AND member_id = %s",
            [member_id],
        ).fetchone()
    return [(int(r[0]), int(r[1])) for r in rows], int(main[0]) if main else 0


def pockets_probe(server: Server, templates: Templates, opts: BenchOptions) -> list[dict[str, Any]]:
    cases = [["project", k] for k in opts.pocket_counts] + [
        ["seeds", k] for k in (*opts.pocket_counts, SEEDS_POCKET_CAP_CASE)
    ]
    db = check_name(f"{opts.prefix}_second_pockets")
    server.create(db, template=templates.schema())
    out = []
    try:
        members = _side(server, db, "second_pockets_seed", {"cases": cases}, opts)["members"]
        server.maintain(db)
        for family, count in cases:
            member_id = members[f"{family}:{count}"]
            m = _side(
                server,
                db,
                "second_pockets_run",
                {
                    "family": family,
                    "member_id": member_id,
                    "amount": POCKET_DEPOSIT,
                    "deposits": POCKET_DEPOSITS,
                },
                opts,
            )
            pockets, main = _pocket_state(server, db, member_id)
            m["count"] = count
            m["check"] = split_check(
                amount=POCKET_DEPOSIT,
                deposits=POCKET_DEPOSITS,
                pockets=pockets,
                main_gain=main - INITIAL_MAIN,
            )
            m["reconcile_new"] = sorted(
                set(reconcile_failed(m["reconcile"])) - set(reconcile_failed(m["reconcile_before"]))
            )
            m["exact"] = split_exact(m)
            c = m["check"]
            opts.log(
                f"    pockets {family} K={count}: {m['median_ms']} ms, {m['queries']} queries; "
                f"over {c['over_cents']}, under {c['under_cents']}, skipped {c['skipped']}"
            )
            out.append(m)
    finally:
        server.drop(db)
    return out


# --- concurrent deposits ------------------------------------------------------------------------


def deposits_probe(
    server: Server, templates: Templates, opts: BenchOptions, *, family: str = "project"
) -> dict[str, Any]:
    n, processes = opts.concurrent_deposits, opts.deposit_processes
    db = check_name(f"{opts.prefix}_second_deposits_{family}")
    server.create(db, template=templates.schema())
    try:
        members: list[int] = _side(server, db, "second_deposits_seed", {"members": n}, opts)[
            "members"
        ]
        server.maintain(db)
        with tempfile.TemporaryDirectory(prefix="saka_bench_") as tmp:
            start = Path(tmp) / "start"
            commands, ready = [], []
            for w in range(processes):
                path = Path(tmp) / f"ready-{w}"
                params = {
                    "members": members[w::processes],
                    "start_file": str(start),
                    "ready_file": str(path),
                    "seconds": opts.throughput_max_seconds,
                    "family": family,
                }
                commands.append(
                    [
                        "saka_bench_contender",
                        "--contender",
                        "second_deposit_worker",
                        "--as-of",
                        opts.as_of.isoformat(),
                        "--params",
                        json.dumps(params),
                    ]
                )
                ready.append(path)
            procs = start_workers(server, db, commands, ready_files=ready)
            start.touch()
            results = finish_workers(
                procs,
                timeout=opts.throughput_max_seconds + READY_TIMEOUT_S,
                what="second report deposit worker",
            )
        with server.connect(db) as conn:
            rows = conn.execute(
                "SELECT a.member_id, a.kind, a.balance FROM euro_account a "
                "LEFT JOIN euro_pocket k ON k.account_id = a.id "
                "WHERE a.member_id = ANY(%s) AND a.kind IN ('wallet', 'pocket') "
                "ORDER BY a.member_id, a.kind, k.id",
                [members],
            ).fetchall()
        rec = last_json(manage(server, db, "saka_reconcile", "--json", timeout=opts.timeout_s)[0])
    finally:
        server.drop(db)
    booked = {m for r in results for m in r["booked"]}
    state: dict[int, dict[str, list[int]]] = {}
    for member_id, kind, balance in rows:
        state.setdefault(int(member_id), {"wallet": [], "pocket": []})[kind].append(int(balance))
    wrong = 0
    for member_id in members:
        parts, main = pocket_split(deposit_amount(member_id), list(DEPOSIT_POCKETS_BP))
        if member_id not in booked:
            parts, main = [0] * len(parts), 0
        got = state.get(member_id, {"wallet": [], "pocket": []})
        if got["wallet"] != [main] or got["pocket"] != parts:
            wrong += 1
    ms = [float(x) for r in results for x in r["ms"]]
    errors: dict[str, int] = {}
    for r in results:
        for code, k in r["errors"].items():
            errors[code] = errors.get(code, 0) + k
    seconds = max(float(r["ended_at"]) for r in results) - min(
        float(r["started_at"]) for r in results
    )
    out = {
        "family": family,
        "members": n,
        "processes": processes,
        "pockets_bp": list(DEPOSIT_POCKETS_BP),
        "deposits": len(booked),
        "seconds": round(seconds, 3),
        "per_s": round(len(booked) / seconds, 1) if seconds > 0 else None,
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "errors": errors,
        "wrong_members": wrong,
        "reconcile_ok": bool(rec.get("ok")),
        "peak_rss_mb": max(float(r["peak_rss_mb"]) for r in results),
    }
    out["exact"] = deposits_exact(out)
    return out


def second_report_probe(server: Server, templates: Templates, opts: BenchOptions) -> dict[str, Any]:
    """All three measurements (the results' ``second_report``)."""
    settle = settlement_probe(server, templates, opts) if opts.settlement_sizes else []
    pockets = pockets_probe(server, templates, opts) if opts.pocket_counts else []
    deposits = deposits_seeds = None
    if opts.concurrent_deposits:
        opts.log(
            f"  {opts.concurrent_deposits:,} concurrent deposits from "
            f"{opts.deposit_processes} processes"
        )
        deposits = deposits_probe(server, templates, opts)
        deposits_seeds = deposits_probe(server, templates, opts, family="seeds")
    return {
        "source": "/work/shared/seeds/001_874c3c7f00e6db78.txt",
        "seeds_limits": {
            "max_escrows_per_batch": MAX_ESCROWS_PER_BATCH,
            "max_pockets_per_allocation": MAX_POCKETS_PER_ALLOCATION,
        },
        "pocket_deposit": POCKET_DEPOSIT,
        "pocket_deposits": POCKET_DEPOSITS,
        "settlement": settle,
        "pockets": pockets,
        "deposits": deposits,
        "deposits_seeds": deposits_seeds,
    }
