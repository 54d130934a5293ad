"""The policy lab's benchmark: the what-if over every wallet, against the dry runs it must
equal (docs/policy-lab.md; ``make bench-policy``).

On the database Django is connected to (PostgreSQL, empty of SAKA wallets): seed the spec's
synthetic population (``saka.demo.seed``, §7) at ``AS_OF``; time the what-if of each
candidate (median of ``repeat``) and check that its baseline side equals a compost and a
redistribution dry run at the parameters in force and its candidate side the dry runs at the
candidate's, to the grain (a difference is a ``BenchError``: a wrong result, never a figure).
Then a live compost fills the silo and the same is done a week later, when the redistribution
side has a pot to share.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.test import override_settings

from bench.dbs import BenchError
from saka.demo.seed import seed_population
from saka.grains.policy import Policy, policy_candidate, policy_defaults
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from saka.grains.whatif import WhatIfResult, whatif_compute

AS_OF = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # a Monday 03:00 UTC, as saka_bench's
CANDIDATES: dict[str, dict[str, Any]] = {
    "rules in force": {},
    "compost 20 %": {"compost_rate": "0.20"},
    "idle after 60 days": {"compost_inactivity_days": 60},
    "active in the last 30 days": {"redistribution_active_days": 30},
}


@dataclass
class WhatIfTiming:
    label: str
    as_of: datetime
    ms: float
    composting: int
    grains: int
    eligible: int
    per_wallet: int
    dry_runs_ms: float


@dataclass
class PolicyLabBench:
    wallets: int
    seed_s: float = 0.0
    rows: list[WhatIfTiming] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [
            f"## Policy lab: the what-if at {self.wallets:,} wallets (PostgreSQL)",
            "",
            "| when | candidate | what-if (median) | composting | grains | counted | share "
            "| both dry runs | equal |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        lines.extend(
            f"| {r.as_of:%Y-%m-%d} | {r.label} | {r.ms:,.0f} ms | {r.composting:,} "
            f"| {r.grains:,} | {r.eligible:,} | {r.per_wallet:,} | {r.dry_runs_ms:,.0f} ms | yes |"
            for r in self.rows
        )
        return "\n".join(lines) + "\n"


def _settings_of(policy: Policy) -> dict[str, Any]:
    return {f"SAKA_{k.upper()}": v for k, v in policy.parameters().items()}


def _check(label: str, side: dict[str, Any], policy: Policy, at: datetime) -> float:
    """The dry runs at ``policy``'s parameters; a difference with the what-if's side fails."""
    t0 = time.monotonic()
    with override_settings(**_settings_of(policy)):
        compost = compost_run_start(as_of=at, dry_run=True)
        redis = redistribution_run_start(as_of=at, dry_run=True)
    spent = (time.monotonic() - t0) * 1000
    got = (
        side["compost"].wallets,
        side["compost"].grains,
        side["redistribution"].eligible_wallets,
        side["redistribution"].per_wallet,
        side["redistribution"].credited,
    )
    want = (
        compost.wallets_done,
        compost.amount_done,
        redis.eligible_wallets,
        redis.per_wallet,
        redis.amount_done,
    )
    if got != want:
        raise BenchError(f"what-if {label!r} at {at:%Y-%m-%d}: {got} but the dry runs say {want}")
    return spent


def _time_whatifs(
    result: PolicyLabBench, at: datetime, repeat: int, log: Callable[[str], None]
) -> None:
    base = policy_defaults()
    for label, changes in CANDIDATES.items():
        cand = policy_candidate(changes, base=base)
        times, last = [], None
        for _ in range(repeat):
            t0 = time.monotonic()
            last = whatif_compute(candidate=cand, baseline=base, as_of=at)
            times.append((time.monotonic() - t0) * 1000)
        assert isinstance(last, WhatIfResult)  # noqa: S101 - repeat >= 1
        dry_ms = _check(label, last.baseline, base, at)
        _check(label, last.candidate, cand, at)
        row = WhatIfTiming(
            label=label,
            as_of=at,
            ms=statistics.median(times),
            composting=last.candidate["compost"].wallets,
            grains=last.candidate["compost"].grains,
            eligible=last.candidate["redistribution"].eligible_wallets,
            per_wallet=last.candidate["redistribution"].per_wallet,
            dry_runs_ms=dry_ms,
        )
        result.rows.append(row)
        log(f"  {at:%Y-%m-%d} {label}: {row.ms:,.0f} ms (dry runs {dry_ms:,.0f} ms), equal")


def policy_lab_bench(
    *, wallets: int, repeat: int = 3, log: Callable[[str], None] = lambda _: None
) -> PolicyLabBench:
    """Seed, time the what-ifs, compost, time them again a week later (see the module)."""
    if repeat < 1:
        raise BenchError("repeat must be at least 1")
    result = PolicyLabBench(wallets=wallets)
    t0 = time.monotonic()
    seed_population(wallets=wallets, as_of=AS_OF, log=log)
    result.seed_s = time.monotonic() - t0
    log(f"seeded {wallets:,} wallets in {result.seed_s:.1f} s")
    _time_whatifs(result, AS_OF, repeat, log)
    compost_run_start(as_of=AS_OF)
    _time_whatifs(result, AS_OF + timedelta(days=7), repeat, log)
    return result
