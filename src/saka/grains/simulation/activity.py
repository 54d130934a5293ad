"""Who harvests what, and when: cohorts of members and a seeded model of their weekly activity.

Each week, each member of a cohort is active with the cohort's probability; an active member
harvests once, an amount drawn from the cohort's ``harvest_sizes``, at an instant drawn
uniformly in the week's open interval (after its compost, before the next). The draws depend
only on the seed, the cohorts and the week, never on balances: the same seed gives the same
harvests to the simulator and to a replay through the real services (the agreement test).

Kept simple: one harvest per active week, no daily limit is checked (one harvest a week never
reaches one when the sizes are the reasons' rewards, 10/5/50/100), no plant (spending) is
modelled. Probabilities are probabilities (floats); amounts are integer grains.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import NamedTuple

from saka.core.errors import ValidationError

WEEK = timedelta(days=7)
WEEK_SECONDS = 7 * 86_400


@dataclass(frozen=True)
class Cohort:
    name: str
    share: Fraction  # of the wallets (the cohorts' shares sum to 1)
    weekly_activity_probability: float
    harvest_sizes: tuple[int, ...]


class Harvest(NamedTuple):
    """Wallet ``wallet`` (an index into ``SimWallets``) harvests ``amount`` at ``at``."""

    wallet: int
    amount: int
    at: datetime


class ActivityModel:
    """Cohorts and the seeded draws of their weekly harvests."""

    def __init__(self, cohorts: Sequence[Cohort]) -> None:
        if not cohorts:
            raise ValidationError("An activity model needs at least one cohort.", field="cohorts")
        if sum(c.share for c in cohorts) != 1:
            raise ValidationError("The cohorts' shares must sum to 1.", field="cohorts")
        for c in cohorts:
            if not 0 <= c.weekly_activity_probability <= 1:
                raise ValidationError(
                    "An activity probability is in 0..1.", field="cohorts", cohort=c.name
                )
            if not c.harvest_sizes or any(s < 1 for s in c.harvest_sizes):
                raise ValidationError(
                    "Harvest sizes are positive grains.", field="cohorts", cohort=c.name
                )
        self.cohorts = tuple(cohorts)

    def assign(self, n: int) -> list[int]:
        """The cohort (index) of each of ``n`` wallets: wallet j falls at the fraction
        ``(j * 7919 mod 10000) / 10000`` of the cumulative shares (spread, seedless)."""
        bounds: list[Fraction] = []
        total = Fraction(0)
        for c in self.cohorts:
            total += c.share
            bounds.append(total)
        last = len(self.cohorts) - 1
        out = []
        for j in range(n):
            x = Fraction((j * 7919) % 10_000, 10_000)
            out.append(next((k for k, b in enumerate(bounds) if x < b), last))
        return out

    def weeks(
        self, *, cohorts: Sequence[int], start: datetime, weeks: int, seed: int
    ) -> Iterator[list[Harvest]]:
        """Week k's harvests (k = 0..weeks-1), in time order; week k runs from
        ``start + k weeks`` (its compost instant) to the next, both excluded."""
        rng = random.Random(seed)  # noqa: S311 - a model, seeded to be replayed
        draw, pick, within = rng.random, rng.choice, rng.randrange
        probability = [c.weekly_activity_probability for c in self.cohorts]
        sizes = [c.harvest_sizes for c in self.cohorts]
        for k in range(weeks):
            week_start = start + k * WEEK
            out = [
                (within(1, WEEK_SECONDS), j, pick(sizes[c]))
                for j, c in enumerate(cohorts)
                if draw() < probability[c]
            ]
            out.sort()
            yield [Harvest(j, amount, week_start + timedelta(seconds=s)) for s, j, amount in out]


def default_model() -> ActivityModel:
    """Regulars (20%, active 9 weeks in 10), occasional (30%, 1 in 4), dormant (50%, 1 in
    100); harvest sizes are the reasons' rewards (content_read 10, invite_accepted 50,
    invest_bonus 100)."""
    return ActivityModel(
        [
            Cohort("regulars", Fraction(1, 5), 0.9, (10, 50, 100)),
            Cohort("occasional", Fraction(3, 10), 0.25, (10, 50)),
            Cohort("dormant", Fraction(1, 2), 0.01, (10,)),
        ]
    )
