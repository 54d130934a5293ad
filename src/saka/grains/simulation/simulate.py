"""Replay weeks of the live schedule on a copy of the wallets, through the live runs' rules.

The clock is the live schedule (spec §3): week k's compost at ``c0 + k weeks`` (``c0``: the
first Monday 03:00 UTC at or after ``start``), a redistribution at the 1st of a month 04:00
UTC when one falls in the week. Within week k: the compost; the week's harvests up to the
redistribution's instant (included); the redistribution; the rest of the week's harvests.

Each step is the rule itself, wallet by wallet: ``CompostRule.takes`` (the grains a compost
takes, 0: none; the wallet's ``last_composted`` becomes the run's instant),
``RedistributionRule.eligible`` and ``.plan`` (pot, share, refusal), and the runs' one extra
rule, the balance ceiling (a share that would take a wallet above ``MAX_BALANCE`` is not
credited and stays in the silo). Not modelled: the silo's own ceiling (a compost chunk that
would take the silo above ``MAX_BALANCE`` is refused), plants, manual adjustments.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from operator import mul
from typing import Any

from saka.core.clock import ensure_aware
from saka.core.money import MAX_BALANCE
from saka.grains.policy import Policy
from saka.grains.simulation.activity import WEEK, ActivityModel, Harvest
from saka.grains.simulation.population import SimWallets

COMPOST_HOUR = 3  # Monday 03:00 UTC
REDISTRIBUTION_HOUR = 4  # the 1st, 04:00 UTC


def first_compost_at(start: datetime) -> datetime:
    """The first weekly compost instant (Monday 03:00 UTC) at or after ``start``."""
    utc = ensure_aware(start).astimezone(UTC)
    monday = datetime(utc.year, utc.month, utc.day, COMPOST_HOUR, tzinfo=UTC) - timedelta(
        days=utc.weekday()
    )
    return monday if monday >= utc else monday + WEEK


def redistribution_in(week_start: datetime) -> datetime | None:
    """The monthly redistribution instant in ``[week_start, week_start + 1 week)``, if any."""
    first = datetime(week_start.year, week_start.month, 1, REDISTRIBUTION_HOUR, tzinfo=UTC)
    if first < week_start:
        year, month = divmod(week_start.year * 12 + week_start.month, 12)
        first = datetime(year, month + 1, 1, REDISTRIBUTION_HOUR, tzinfo=UTC)
    return first if first < week_start + WEEK else None


def gini(balances: list[int]) -> Fraction:
    """The Gini coefficient of ``balances``, exact: with x sorted ascending (1-based),
    ``2 Σ i x_i / (n Σ x) - (n + 1) / n`` (0 for no wallet or no grain)."""
    n, total = len(balances), sum(balances)
    if n == 0 or total == 0:
        return Fraction(0)
    weighted = sum(map(mul, range(1, n + 1), sorted(balances)))
    return Fraction(2 * weighted, n * total) - Fraction(n + 1, n)


def decimal_of(value: Fraction, places: int) -> str:
    """``value`` rounded half-even to ``places`` decimals, as a string (never a float)."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return str(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN))


@dataclass(frozen=True)
class SimulationWeek:
    """One simulated week: its runs' figures and the wallets at its end."""

    week: int
    compost_at: datetime
    redistribution_at: datetime | None
    silo: int
    pool: int
    supply: int  # Σ wallet balances at the end of the week
    composted: int
    wallets_composted: int
    share_composted: str  # composted / supply just before the compost
    redistribution_outcome: str  # "" without a redistribution this week
    redistributed: int
    members_credited: int
    credited_per_active_member: int  # the share each credited member got (0: none)
    harvested: int
    active_members: int  # members who harvested this week
    gini: str
    idle_wallets: int  # no activity for the compost's inactivity window, at its instant

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["compost_at"] = self.compost_at.isoformat()
        out["redistribution_at"] = (
            self.redistribution_at.isoformat() if self.redistribution_at else None
        )
        return out


@dataclass(frozen=True)
class SimulationReport:
    parameters: dict[str, Any]
    weeks: list[SimulationWeek]
    elapsed_ms: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "parameters": self.parameters,
            "weeks": [w.as_dict() for w in self.weeks],
            "elapsed_ms": self.elapsed_ms,
        }


WeekObserver = Callable[[SimulationWeek, SimWallets], None]


def simulate(
    *,
    wallets: SimWallets,
    silo: int,
    pool: int,
    policy: Policy,
    start: datetime,
    weeks: int,
    activity: ActivityModel,
    seed: int,
    on_week: WeekObserver | None = None,
) -> SimulationReport:
    """Replay ``weeks`` weeks from ``start`` on a copy of ``wallets`` (see the module's
    docstring); ``on_week`` sees each week's row and the wallets at its end."""
    started = time.monotonic()
    w = wallets.copy()
    if len(w.cohort) != len(w):
        w.cohort = activity.assign(len(w))
    bal, last, comp, life = w.balance, w.last_activity, w.last_composted, w.lifetime_harvested
    takes = policy.compost.takes
    cutoff_of = policy.compost.cutoff
    eligible = policy.redistribution.eligible
    plan_of = policy.redistribution.plan
    c0 = first_compost_at(start)
    silo_at_start = silo
    supply = sum(bal)
    rows: list[SimulationWeek] = []

    def harvest(batch: list[Harvest]) -> int:
        total = 0
        for h in batch:
            j = h.wallet
            bal[j] += h.amount
            life[j] += h.amount
            previous = last[j]
            last[j] = h.at if previous is None or previous < h.at else previous
            total += h.amount
        return total

    draws = activity.weeks(cohorts=w.cohort, start=c0, weeks=weeks, seed=seed)
    for k, harvests in enumerate(draws):
        at = c0 + k * WEEK
        supply_before = supply
        # the compost at `at`, and the idle count at that instant
        # (the cutoff only spares calls: a wallet active or composted after it is one the
        # rule refuses, "recently_active"; tests pin both to the rule)
        cutoff = cutoff_of(at)
        composted = count = idle = 0
        for j, (b, a, c) in enumerate(zip(bal, last, comp, strict=True)):
            if a is not None and a > cutoff:
                continue
            idle += 1
            if c is not None and c > cutoff:
                continue
            x = takes(balance=b, last_activity_at=a, last_composted_at=c, as_of=at)
            if x:
                bal[j] = b - x
                comp[j] = at
                composted += x
                count += 1
        silo += composted
        supply -= composted
        # the harvests up to the redistribution, the redistribution, the rest of the week
        redistribution_at = redistribution_in(at)
        outcome, credited, per = "", 0, 0
        if redistribution_at is None:
            harvested = harvest(harvests)
        else:
            split = bisect_right([h.at for h in harvests], redistribution_at)
            harvested = harvest(harvests[:split])
            targets = [
                j
                for j, (h, a) in enumerate(zip(life, last, strict=True))
                if eligible(lifetime_harvested=h, last_activity_at=a, as_of=redistribution_at)
            ]
            plan = plan_of(silo=silo, eligible=len(targets))
            outcome = plan.reason or "completed"
            if not plan.reason:
                per, limit = plan.per_wallet, MAX_BALANCE - plan.per_wallet
                for j in targets:
                    if bal[j] <= limit:
                        bal[j] += per
                        credited += 1
                if credited < len(targets):
                    outcome = "completed_with_return"
                silo -= per * credited
                supply += per * credited
            harvested += harvest(harvests[split:])
        supply += harvested
        row = SimulationWeek(
            week=k,
            compost_at=at,
            redistribution_at=redistribution_at,
            silo=silo,
            pool=pool,
            supply=supply,
            composted=composted,
            wallets_composted=count,
            share_composted=decimal_of(
                Fraction(composted, supply_before) if supply_before else Fraction(0), 6
            ),
            redistribution_outcome=outcome,
            redistributed=per * credited,
            members_credited=credited,
            credited_per_active_member=per if credited else 0,
            harvested=harvested,
            active_members=len({h.wallet for h in harvests}),
            gini=decimal_of(gini(bal), 4),
            idle_wallets=idle,
        )
        rows.append(row)
        if on_week is not None:
            on_week(row, w)
    return SimulationReport(
        parameters={
            **policy.parameters(),
            "policy_version_id": policy.version_id,
            "start": c0.isoformat(),
            "weeks": weeks,
            "seed": seed,
            "wallets": len(w),
            "silo_at_start": silo_at_start,
            "pool_at_start": pool,
            "cohorts": [
                {
                    "name": c.name,
                    "share": str(c.share),
                    "weekly_activity_probability": c.weekly_activity_probability,
                    "harvest_sizes": list(c.harvest_sizes),
                }
                for c in activity.cohorts
            ],
        },
        weeks=rows,
        elapsed_ms=int((time.monotonic() - started) * 1000),
    )
