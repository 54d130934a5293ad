"""The second report's results (``results["second_report"]``) as Markdown tables, and the
quick run's failures: the project's settlement or pocket split not exact, or the seeds'
re-implementation no longer showing the defects it must show (then it is not faithful)."""

from __future__ import annotations

from typing import Any

from bench.second_report.seeds_code import MAX_ESCROWS_PER_BATCH, MAX_POCKETS_PER_ALLOCATION

LABEL = {"project": "project (saka)", "seeds": "seeds' report"}
CLAIM_RSS_MB = 10.0  # "1,000 escrows under 10 MB"


def _n(value: Any) -> str:
    return "—" if value is None else f"{value:,}"


def reconcile_failed(rec: dict[str, Any] | None) -> list[str]:
    return [] if rec is None else list(rec["checks_failed"])


def settlement_exact(m: dict[str, Any]) -> bool:
    """A settlement released every pledge once, booked and reported exactly the campaign's
    amount, the commission by the project's rule, and left the books clean."""
    c = m["check"]
    return (
        c["released"] == c["expected"] == m["reported"]["count"]
        and not c["never_released"]
        and not c["released_twice"]
        and c["booked_amount"] == c["expected_amount"] == m["reported"]["amount"]
        and not c["reported_not_booked"]
        and not c["commission_reported_not_booked"]
        and not c["commission_off_rule"]
        and c["booked_commission"] + c["booked_net"] == c["booked_amount"]
        and not reconcile_failed(m["reconcile"])
    )


def deposits_exact(d: dict[str, Any]) -> bool:
    """Every member got its deposit once, main balance and pockets exactly, books clean."""
    return bool(
        d["deposits"] == d["members"]
        and not d["wrong_members"]
        and not d["errors"]
        and d["reconcile_ok"]
    )


def split_exact(m: dict[str, Any]) -> bool:
    """Every deposit split exactly: parts + main = the deposit, Σ parts the exact share of the
    total percentage, each part within a cent of its own, no pocket skipped, books clean."""
    c = m["check"]
    return bool(
        c["conserved"]
        and not c["over_cents"]
        and not c["under_cents"]
        and not c["parts_off_by_a_cent_or_more"]
        and not c["skipped"]
        and not m["reconcile_new"]
    )


def settlement_result(m: dict[str, Any]) -> str:
    if settlement_exact(m):
        return "exact"
    c = m["check"]
    parts = [
        f"{label} {c[key]:,}"
        for key, label in (
            ("never_released", "never released"),
            ("released_twice", "released twice"),
            ("reported_not_booked", "cents reported not booked"),
            ("commission_reported_not_booked", "commission cents reported not booked"),
            ("commission_off_rule", "commission cents off floor rule"),
        )
        if c[key]
    ]
    failed = (m["reconcile"] or {}).get("checks_failed") or []
    if failed:
        parts.append("reconcile: " + ", ".join(failed))
    return ", ".join(parts) or "not exact"


def settlement_table(sr: dict[str, Any]) -> str:
    rows = sr.get("settlement") or []
    if not rows:
        return ""
    lines = [
        "Campaign settlement (escrow release), the seeds' report against the project: one "
        "process each on a fresh copy of the same campaign (P held pledges, closed as "
        f"succeeded). The seeds release `[:{MAX_ESCROWS_PER_BATCH}]` ids in batches of 100 "
        "and report totals over all held pledges. Report's claim: 1,000 escrows under "
        f"{CLAIM_RSS_MB:g} MB.",
        "",
        "| P | contender | time (s) | queries | peak RSS (MB) | RSS growth (MB) | "
        "released (expected) | reported | cents booked (reported) | result |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for m in rows:
        c = m["check"]
        lines.append(
            f"| {m['pledges']:,} | {LABEL[m['family']]} | {m['wall_s']:.3f} | {m['queries']:,} | "
            f"{m['peak_rss_mb']} | {m['peak_rss_mb'] - m['rss_before_mb']:.1f} | "
            f"{c['released']:,} ({c['expected']:,}) | "
            f"{m['reported']['count']:,} | {c['booked_amount']:,} ({m['reported']['amount']:,}) "
            f"| {settlement_result(m)} |"
        )
    return "\n".join(lines)


def pocket_result(m: dict[str, Any]) -> str:
    if split_exact(m):
        return "exact"
    c, n = m["check"], m["deposits"]
    parts = [
        f"{label} {value:,}"
        for value, label in (
            (c["over_cents"] // n, "cents over-allocated per deposit"),
            (c["under_cents"] // n, "cents under-allocated per deposit"),
            (c["skipped"], "pockets skipped"),
            (c["parts_off_by_a_cent_or_more"], "parts off by ≥ 1 cent"),
        )
        if value
    ]
    if not c["conserved"]:
        parts.append("parts + main != deposit")
    if m["reconcile_new"]:
        parts.append("reconcile: " + ", ".join(m["reconcile_new"]))
    return ", ".join(parts) or "not exact"


def pockets_table(sr: dict[str, Any]) -> str:
    rows = sr.get("pockets") or []
    if not rows:
        return ""
    deposit = sr["pocket_deposit"]
    lines = [
        f"Pocket split of a deposit: one member per row with K pockets of 100 %/K each, "
        f"{sr['pocket_deposits']} deposits of {deposit / 100:.2f} EUR (median time; queries of "
        "one deposit, the project's through the signed webhook, the seeds' deposit with its "
        f"allocation, whose own statements are in brackets). The seeds cap at "
        f"{MAX_POCKETS_PER_ALLOCATION} pockets (the project refuses a 101st at creation). "
        "Report's claim: 100 pockets in 3 queries, 0.1 to 0.3 s.",
        "",
        "| K | contender | median (ms) | queries | Σ parts per deposit (exact) | result |",
        "|---:|---|---:|---:|---:|---|",
    ]
    for m in rows:
        c = m["check"]
        queries = f"{m['queries']}" + (
            f" ({m['allocation_queries']})" if m.get("allocation_queries") is not None else ""
        )
        lines.append(
            f"| {m['count']} | {LABEL[m['family']]} | {m['median_ms']} | {queries} | "
            f"{c['parts_per_deposit']:g} ({c['target_per_deposit']:g}) | {pocket_result(m)} |"
        )
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def deposits_result(d: dict[str, Any]) -> str:
    if deposits_exact(d):
        return "exact, reconcile clean"
    parts = []
    if d["deposits"] != d["members"]:
        refused = ", ".join(f"{code} {n:,}" for code, n in sorted(d["errors"].items()))
        parts.append(
            f"refused {d['members'] - d['deposits']:,}" + (f" ({refused})" if refused else "")
        )
    if d["wrong_members"]:
        parts.append(f"members off the exact split {d['wrong_members']:,}")
    if not d["reconcile_ok"]:
        parts.append("reconcile NOT CLEAN")
    return ", ".join(parts) or "not exact"


def deposits_table(sr: dict[str, Any]) -> str:
    rows = [d for d in (sr.get("deposits"), sr.get("deposits_seeds")) if d]
    if not rows:
        return ""
    first = rows[0]
    lines = [
        f"Concurrent deposits: one deposit (10.00 to 99.99 EUR) to each of {first['members']:,} "
        f"distinct members with {len(first['pockets_bp'])} pockets of 33.33 %, from "
        f"{first['processes']} worker processes at once (closed loop); every member's main "
        "balance and pockets checked against the exact split.",
        "",
        "| contender | booked (of) | deposits/s | p50 (ms) | p99 (ms) | result |",
        "|---|---:|---:|---:|---:|---|",
    ]
    lines += [
        f"| {LABEL[d.get('family', 'project')]} | {d['deposits']:,} ({d['members']:,}) | "
        f"{_n(d['per_s'])} | {_ms(d['p50_ms'])} | {_ms(d['p99_ms'])} | {deposits_result(d)} |"
        for d in rows
    ]
    return "\n".join(lines)


def second_report_markdown(results: dict[str, Any]) -> str:
    """The Markdown block of ``results["second_report"]`` (empty when it was not run)."""
    sr = results.get("second_report")
    if not sr:
        return ""
    blocks = [settlement_table(sr), pockets_table(sr), deposits_table(sr)]
    return "\n\n".join(b for b in blocks if b)


def _seeds_defect_missing(m: dict[str, Any], deposit: int) -> str | None:
    """Why a seeds row no longer shows the defect it must show (None: it does)."""
    if "pledges" in m:
        c, p = m["check"], m["pledges"]
        if p > MAX_ESCROWS_PER_BATCH and (
            c["never_released"] != p - MAX_ESCROWS_PER_BATCH or c["reported_not_booked"] <= 0
        ):
            return f"seeds' settlement at P={p:,} released {c['released']:,} (must be 1,000)"
        if p <= MAX_ESCROWS_PER_BATCH and c["never_released"]:
            return f"seeds' settlement at P={p:,} left {c['never_released']:,} held"
        return None
    c, k = m["check"], m["count"]
    if deposit == 10_05:  # the defects this deposit must show (10 % -> 100.5, 1 % -> 10.05)
        if k == 10 and c["over_cents"] <= 0:
            return "seeds' pocket split at K=10 does not over-allocate"
        if k == 100 and c["under_cents"] <= 0:
            return "seeds' pocket split at K=100 does not under-allocate"
    if k > MAX_POCKETS_PER_ALLOCATION and c["skipped"] != k - MAX_POCKETS_PER_ALLOCATION:
        return f"seeds' pocket split at K={k} skipped {c['skipped']} pockets"
    return None


def second_report_failures(results: dict[str, Any]) -> list[str]:
    """What makes ``saka_bench`` exit 1: the project not exact, the seeds not faithful."""
    sr = results.get("second_report")
    if not sr:
        return []
    out = []
    for m in sr.get("settlement") or []:
        if m["family"] == "project" and not settlement_exact(m):
            out.append(f"project settlement at P={m['pledges']:,}: {settlement_result(m)}")
        elif m["family"] == "seeds" and (why := _seeds_defect_missing(m, 0)):
            out.append(f"not faithful: {why}")
    for m in sr.get("pockets") or []:
        if m["family"] == "project" and not split_exact(m):
            out.append(f"project pocket split at K={m['count']}: {pocket_result(m)}")
        elif m["family"] == "seeds" and (why := _seeds_defect_missing(m, sr["pocket_deposit"])):
            out.append(f"not faithful: {why}")
    d = sr.get("deposits")
    if d and not deposits_exact(d):
        out.append(f"project concurrent deposits: {deposits_result(d)}")
    return out
