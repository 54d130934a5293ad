"""The season simulator and the live runs agree: a small population replayed both ways, week
by week, with the same activity draws; the simulator's eligibility equals the runs' SQL count
(hypothesis). Runs on the database DATABASE_URL names (PostgreSQL and SQLite)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saka.demo.seed import seed_population
from saka.grains import services
from saka.grains.conf import HARVEST_RULES
from saka.grains.models import AccountKind, SakaAccount
from saka.grains.policy import policy_current
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from saka.grains.simulation.activity import WEEK, ActivityModel, Cohort, default_model
from saka.grains.simulation.population import SimWallets, synthetic, wallets_snapshot
from saka.grains.simulation.simulate import SimulationWeek, first_compost_at, simulate
from tests.support.runs_reference import DAY, bulk_wallets, migrate_wallet, new_member

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # a Monday 03:00: 10 weeks cross Apr 1, May 1
WEEKS = 10
SEED = 13
REASON_OF = {rule.reward: reason for reason, rule in HARVEST_RULES.items()}
MODEL = ActivityModel(
    [
        Cohort("regulars", Fraction(1, 3), 0.6, (10, 50, 100)),
        Cohort("occasional", Fraction(1, 3), 0.2, (5, 10, 50)),
        Cohort("dormant", Fraction(1, 3), 0.03, (10,)),
    ]
)


def _population() -> None:
    """56 wallets of varied balances (0.. ~6,000) and last activity (0..199 days before the
    start), and 4 migrated ones that never had activity."""
    specs = [(1 + (i * 7919) % 6000, START - ((i * 37) % 200) * DAY) for i in range(56)]
    bulk_wallets(specs, prefix="agree", as_of=START - 200 * DAY)
    for i, amount in enumerate((40, 700, 2500, 9000)):
        migrate_wallet(member_id=new_member(f"migrated-{i}").pk, amount=amount)


def _state(composted: int, credited: int) -> dict[str, Any]:
    rows = SakaAccount.objects.values_list("id", "kind", "balance")
    return {
        "silo": sum(b for _, k, b in rows if k == AccountKind.SILO),
        "pool": sum(b for _, k, b in rows if k == AccountKind.POOL),
        "wallets": {pk: b for pk, k, b in rows if k == AccountKind.WALLET},
        "composted": composted,
        "credited": credited,
    }


def test_the_simulator_and_the_live_runs_agree_week_by_week() -> None:
    # given a small population whose books balance, and the activity drawn for it
    _population()
    snapshot = wallets_snapshot()
    wallets = snapshot.wallets
    wallets.cohort = MODEL.assign(len(wallets))
    c0 = first_compost_at(START)
    draws = list(MODEL.weeks(cohorts=wallets.cohort, start=c0, weeks=WEEKS, seed=SEED))
    members = dict(
        SakaAccount.objects.filter(kind=AccountKind.WALLET).values_list("id", "member_id")
    )
    simulated: list[dict[str, Any]] = []

    def observe(week: SimulationWeek, now: SimWallets) -> None:
        simulated.append(
            {
                "silo": week.silo,
                "pool": week.pool,
                "wallets": dict(zip(now.ids, now.balance, strict=True)),
                "composted": week.composted,
                "credited": week.redistributed,
            }
        )

    # when the simulator replays the weeks ...
    report = simulate(
        wallets=wallets,
        silo=snapshot.silo,
        pool=snapshot.pool,
        policy=policy_current(),
        start=START,
        weeks=WEEKS,
        activity=MODEL,
        seed=SEED,
        on_week=observe,
    )

    # ... and the live runs replay them, the same draws booked through the real services
    def book(harvests: list[Any]) -> None:
        for h in harvests:
            services.wallet_harvest(
                member_id=members[wallets.ids[h.wallet]], reason=REASON_OF[h.amount], as_of=h.at
            )

    live: list[dict[str, Any]] = []
    for k, harvests in enumerate(draws):
        at = c0 + k * WEEK
        compost = compost_run_start(as_of=at)
        redistribution_at = report.weeks[k].redistribution_at
        credited = 0
        if redistribution_at is None:
            book(harvests)
        else:
            book([h for h in harvests if h.at <= redistribution_at])
            credited = redistribution_run_start(as_of=redistribution_at).amount_done
            book([h for h in harvests if h.at > redistribution_at])
        live.append(_state(compost.amount_done, credited))

    # then every week the silo, the pool, each wallet, the composted and credited agree
    for k in range(WEEKS):
        assert simulated[k] == live[k], f"week {k}"
    # (and the replay did something: composts, two redistributions that credited, harvests)
    weeks = report.weeks
    assert [w.redistribution_at.date().isoformat() for w in weeks if w.redistribution_at] == [
        "2026-04-01",
        "2026-05-01",
    ]
    assert all(w.redistributed > 0 for w in weeks if w.redistribution_at)
    assert sum(1 for w in weeks if w.composted) >= 5
    assert sum(w.harvested for w in weeks) > 0


_accounts = itertools.count(1)
_activity = st.one_of(st.none(), st.integers(min_value=0, max_value=200))


@pytest.mark.slow
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    wallets=st.lists(st.tuples(st.integers(1, 60), _activity), min_size=0, max_size=12),
    min_harvested=st.integers(0, 61),
    active_days=st.sampled_from([0, 1, 30, 90, 200]),
    offset_days=st.integers(0, 10),
)
def test_the_simulator_counts_the_eligible_wallets_the_sql_counts(
    wallets: list[tuple[int, int | None]], min_harvested: int, active_days: int, offset_days: int
) -> None:
    # given random wallets (lifetime harvest = balance; None: never active) and random rules
    as_of = START + offset_days * DAY
    n = next(_accounts)
    active = [(b, START - d * DAY) for b, d in wallets if d is not None]
    if active:
        bulk_wallets(active, prefix=f"elig{n}", as_of=START - 300 * DAY)
    for j, (b, d) in enumerate(wallets):
        if d is None:
            migrate_wallet(member_id=new_member(f"elig{n}-m{j}").pk, amount=b)
    with override_settings(
        SAKA_REDISTRIBUTION_MIN_HARVESTED=min_harvested,
        SAKA_REDISTRIBUTION_ACTIVE_DAYS=active_days,
    ):
        rule = policy_current().redistribution
        # when the runs' dry run counts them and the simulator's rule does
        dry = redistribution_run_start(as_of=as_of, dry_run=True)
        snap = wallets_snapshot().wallets
        counted = sum(
            rule.eligible(lifetime_harvested=h, last_activity_at=a, as_of=as_of)
            for h, a in zip(snap.lifetime_harvested, snap.last_activity, strict=True)
        )
    # then the counts are equal (every wallet of the database, earlier examples' too)
    assert dry.eligible_wallets == counted


def test_the_seeded_database_and_the_synthetic_population_simulate_alike() -> None:
    # given the synthetic population of 300 wallets booked in the database (saka_seed)
    seed_population(wallets=300, as_of=START)

    def run(snap: Any) -> list[dict[str, Any]]:
        return simulate(
            wallets=snap.wallets,
            silo=snap.silo,
            pool=snap.pool,
            policy=policy_current(),
            start=START,
            weeks=12,
            activity=default_model(),
            seed=5,
        ).as_dict()["weeks"]

    # when both are simulated, then every week is the same
    assert run(wallets_snapshot()) == run(synthetic(300, START))
