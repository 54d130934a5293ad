"""Compost and redistribution against a plain-Python reference model (hypothesis).

Each example builds a small random population through the real services (manual harvests of
at most 500 grains, two a day, plants, and migrated wallets without activity), possibly an
earlier compost run, under random settings within their ranges; then it runs a dry and a live
compost and a dry and a live redistribution at ``as_of``, and compares every run, every
posting and every wallet with the model (``runs_reference``). It runs on the database that
DATABASE_URL names.

Examples share the test's database: each one uses new members and an ``as_of`` 420 days after
the previous one (a new ISO week and month, since a live run is unique per period). Wallets
of earlier examples take part in the runs too; the model reads them from the database when
the example starts and predicts them from there.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from saka.demo.seed import expected_compost, seed_balance, seed_idle_days
from saka.grains import services
from saka.grains.models import AccountKind, RunStatus
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from saka.grains.selectors import compost_preview, run_summary
from saka.ledger.reconcile import reconcile
from tests.support.runs_reference import (
    DAY,
    GRANT_MAX,
    GRANT_SPACING,
    CompostRules,
    RedistributionRules,
    Wallet,
    apply_compost,
    apply_redistribution,
    compost_plan,
    db_wallets,
    migrate_wallet,
    new_member,
    redistribution_plan,
    run_postings,
    system_balance,
    wallet_id,
)

pytestmark = pytest.mark.django_db

BASE = datetime(2001, 1, 1, 3, 0, tzinfo=UTC)
STEP = timedelta(days=420)  # > the oldest activity of an example (400 days + 7 of grants)
_examples = itertools.count(1)

JITTERS = [
    timedelta(0),
    -timedelta(microseconds=1),
    timedelta(microseconds=1),
    -timedelta(seconds=1),
    timedelta(seconds=1),
]
RATES = st.one_of(
    st.sampled_from(["1", "0.29", "0.1", "0.10", "0.05", "0.333", "0.5", "0.0001"]),
    st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(1), places=4, allow_nan=False).map(
        str
    ),
)


@dataclass(frozen=True)
class Spec:
    balance: int
    planted: int
    idle_days: int | None  # None: a migrated wallet with no activity
    jitter: timedelta


@st.composite
def scenarios(draw: Any) -> dict[str, Any]:
    cfg = {
        "SAKA_COMPOST_INACTIVITY_DAYS": draw(st.integers(1, 365)),
        "SAKA_COMPOST_RATE": draw(RATES),
        "SAKA_COMPOST_MIN_BALANCE": draw(st.integers(0, 500)),
        "SAKA_COMPOST_MIN_AMOUNT": draw(st.one_of(st.integers(1, 20), st.integers(1, 200))),
        "SAKA_REDISTRIBUTION_RATE": draw(RATES),
        "SAKA_REDISTRIBUTION_MIN_HARVESTED": draw(
            st.one_of(st.integers(0, 10), st.integers(0, 7000))
        ),
        "SAKA_REDISTRIBUTION_ACTIVE_DAYS": draw(
            st.one_of(st.just(0), st.integers(1, 400), st.integers(1, 400))
        ),
    }
    # idle days: anywhere, or right at one of the windows (where off-by-one bugs live)
    near = [cfg["SAKA_COMPOST_INACTIVITY_DAYS"] + d for d in (-1, 0, 1)] + [
        cfg["SAKA_REDISTRIBUTION_ACTIVE_DAYS"] + d for d in (-1, 0, 1)
    ]
    at_window = st.sampled_from([n for n in near if 0 <= n <= 400])
    idle = st.one_of(st.none(), st.integers(0, 400), at_window, at_window)
    specs = draw(
        st.lists(
            st.builds(
                Spec,
                balance=st.one_of(st.integers(0, 6000), st.integers(0, 120)),
                planted=st.one_of(st.just(0), st.integers(1, 1500)),
                idle_days=idle,
                jitter=st.one_of(st.just(timedelta(0)), st.sampled_from(JITTERS)),
            ),
            max_size=6,
        )
    )
    pre_compost = draw(st.one_of(st.none(), st.integers(7, 400)))
    return {"cfg": cfg, "specs": specs, "pre_compost": pre_compost}


def _defaults(**overrides: Any) -> dict[str, Any]:
    return {
        "SAKA_COMPOST_INACTIVITY_DAYS": 90,
        "SAKA_COMPOST_RATE": "0.10",
        "SAKA_COMPOST_MIN_BALANCE": 50,
        "SAKA_COMPOST_MIN_AMOUNT": 10,
        "SAKA_REDISTRIBUTION_RATE": "0.05",
        "SAKA_REDISTRIBUTION_MIN_HARVESTED": 1,
        "SAKA_REDISTRIBUTION_ACTIVE_DAYS": 30,
    } | overrides


_us, _s = timedelta(microseconds=1), timedelta(seconds=1)
# every window edge, to the microsecond, with an earlier compost 90 days before as_of
BOUNDARIES = {
    "cfg": _defaults(),
    "specs": [
        Spec(1000, 0, 90, timedelta(0)),
        Spec(1000, 0, 90, _us),
        Spec(1000, 0, 90, -_us),
        Spec(1000, 0, 30, timedelta(0)),
        Spec(1000, 0, 30, _us),
        Spec(99, 0, 200, timedelta(0)),
        Spec(100, 0, 200, timedelta(0)),
        Spec(49, 200, None, timedelta(0)),
        Spec(5000, 0, None, timedelta(0)),
    ],
    "pre_compost": 90,
}
# equal windows: each member is idle (composts) or active (credited), never both
EQUAL_WINDOWS = {
    "cfg": _defaults(SAKA_REDISTRIBUTION_ACTIVE_DAYS=45, SAKA_COMPOST_INACTIVITY_DAYS=45),
    "specs": [Spec(3000, 0, 45, j) for j in (timedelta(0), _us, -_us, _s, -_s)]
    + [Spec(3000, 0, 400, timedelta(0)), Spec(3000, 0, 0, timedelta(0))],
    "pre_compost": None,
}


def _events(specs: list[Spec], as_of: datetime, pre_compost: int | None) -> list[tuple]:
    """The example's timeline: ``(time, order, action, index, amount)``, oldest first."""
    events: list[tuple] = []
    for i, spec in enumerate(specs):
        if spec.idle_days is None:
            if spec.balance:
                events.append((datetime.min.replace(tzinfo=UTC), 0, "migrate", i, spec.balance))
            continue
        jitter = min(spec.jitter, timedelta(0)) if spec.idle_days == 0 else spec.jitter
        at = as_of - spec.idle_days * DAY + jitter
        planted = spec.planted if spec.balance + spec.planted else 1
        total = spec.balance + planted
        parts = [GRANT_MAX] * (total // GRANT_MAX) + [total % GRANT_MAX] * bool(total % GRANT_MAX)
        for j, part in enumerate(parts):
            events.append((at - j * GRANT_SPACING, 0, "grant", i, part))
        if planted:
            events.append((at, 1, "plant", i, planted))
    if pre_compost is not None:
        events.append((as_of - pre_compost * DAY, 2, "compost", None, 0))
    return sorted(events, key=lambda e: (e[0], e[1], e[3] if e[3] is not None else -1))


def _check_wallets(model: dict[int, Wallet], where: str) -> None:
    actual = db_wallets()
    assert actual == model, where


@pytest.mark.slow
@settings(
    max_examples=30,
    deadline=None,
    # An example depends on what earlier ones left in the database: a replayed or shrunk
    # example runs on another database state, so neither replays nor shrinking help here.
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(scenario=BOUNDARIES)
@example(scenario=EQUAL_WINDOWS)
@given(scenario=scenarios())
def test_runs_equal_the_reference_model(scenario, staff_user):
    k = next(_examples)
    as_of = BASE + k * STEP
    cfg = scenario["cfg"]
    compost_rules = CompostRules.from_settings(cfg)
    redistribution_rules = RedistributionRules.from_settings(cfg)
    with override_settings(**cfg):
        # given the database as earlier examples left it, read into the model ...
        model: dict[int, Wallet] = db_wallets()
        silo = system_balance(AccountKind.SILO)
        assert system_balance(AccountKind.POOL) == 0
        # ... and this example's population, built event by event through the services
        members = [new_member(f"x{k}-{i}") for i in range(len(scenario["specs"]))]
        accounts: dict[int, int] = {}  # spec index -> account id
        for at, _, action, i, amount in _events(scenario["specs"], as_of, scenario["pre_compost"]):
            if action == "migrate":
                accounts[i] = migrate_wallet(member_id=members[i].pk, amount=amount)
                model[accounts[i]] = Wallet(balance=amount, lifetime_harvested=amount)
            elif action == "grant":
                services.wallet_harvest(
                    member_id=members[i].pk,
                    reason="manual_adjust",
                    amount=amount,
                    granted_by_id=staff_user.pk,
                    as_of=at,
                )
                accounts.setdefault(i, wallet_id(members[i].pk))
                w = model.get(accounts[i], Wallet(balance=0))
                model[accounts[i]] = replace(
                    w,
                    balance=w.balance + amount,
                    lifetime_harvested=w.lifetime_harvested + amount,
                    last_activity_at=max(filter(None, [w.last_activity_at, at])),
                )
            elif action == "plant":
                services.wallet_plant(member_id=members[i].pk, amount=amount, as_of=at)
                w = model[accounts[i]]
                model[accounts[i]] = replace(
                    w,
                    balance=w.balance - amount,
                    last_activity_at=max(filter(None, [w.last_activity_at, at])),
                )
            else:  # an earlier live compost run
                plan = compost_plan(model, compost_rules, at)
                run = compost_run_start(as_of=at)
                assert {a: -x for a, x in run_postings(run.pk).items()} == plan
                silo += apply_compost(model, plan, at)
        _check_wallets(model, "population built")

        # when a member previews, then a dry and a live compost run at as_of
        plan = compost_plan(model, compost_rules, as_of)
        for i, member in enumerate(members):
            if i not in accounts:
                continue
            preview = compost_preview(member_id=member.pk, as_of=as_of)
            assert preview.eligible == (accounts[i] in plan), (i, preview)
            if preview.eligible:
                assert preview.amount == plan[accounts[i]]
        dry = compost_run_start(as_of=as_of, dry_run=True)
        live = compost_run_start(as_of=as_of)
        # then both equal the model, wallet by wallet
        assert (dry.wallets_done, dry.amount_done) == (len(plan), sum(plan.values()))
        assert live.status == RunStatus.DONE
        assert (live.wallets_done, live.amount_done) == (len(plan), sum(plan.values()))
        assert live.outcome == ("completed" if plan else "nothing_to_compost")
        assert {a: -x for a, x in run_postings(live.pk).items()} == plan
        silo += apply_compost(model, plan, as_of)
        event(f"compost: {'some' if plan else 'no'} wallets")
        _check_wallets(model, "after compost")
        assert system_balance(AccountKind.SILO) == silo

        # when a dry and a live redistribution run at as_of
        expected = redistribution_plan(model, silo, redistribution_rules, as_of)
        dry = redistribution_run_start(as_of=as_of, dry_run=True)
        live = redistribution_run_start(as_of=as_of)
        # then both equal the model
        for run in (dry, live):
            assert run.status == RunStatus.DONE
            assert run.outcome == expected.outcome
            assert run_summary(run)["reason"] == (expected.reason or None)
            assert (run.silo_before, run.pot, run.per_wallet) == (
                expected.silo_before,
                expected.pot,
                expected.per_wallet,
            )
            assert run.eligible_wallets == len(expected.eligible)
            assert (run.wallets_done, run.amount_done, run.silo_after) == (
                len(expected.credited),
                expected.total,
                expected.silo_after,
            )
        assert run_postings(live.pk) == dict.fromkeys(expected.credited, expected.per_wallet)
        event(f"redistribution: {expected.outcome}")
        apply_redistribution(model, expected)
        silo = expected.silo_after
        _check_wallets(model, "after redistribution")
        assert system_balance(AccountKind.SILO) == silo
        assert system_balance(AccountKind.POOL) == 0
        report = reconcile()
        assert report.ok, [d.message for d in report.discrepancies]


# --- the model itself, on hand-checked cases (a model that is wrong proves nothing) ------------


def test_reference_model_on_known_cases():
    at = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    rules = CompostRules()
    wallets = {
        1: Wallet(100, at - 90 * DAY),  # exactly 90 idle days: 10
        2: Wallet(100, at - 90 * DAY + timedelta(microseconds=1)),  # not idle enough
        3: Wallet(99, None),  # 9 < min amount
        4: Wallet(49, None),  # below min balance
        5: Wallet(5000, None, at - 90 * DAY),  # composted exactly one window ago: 500
        6: Wallet(5000, None, at - 89 * DAY),  # composted too recently
    }
    assert compost_plan(wallets, rules, at) == {1: 10, 5: 500}
    assert compost_plan({1: Wallet(100)}, CompostRules(rate="0.29", min_amount=1), at) == {1: 29}
    r = redistribution_plan(
        {1: Wallet(0, at - DAY, None, 1), 2: Wallet(0, at - 90 * DAY, None, 1)},
        337,
        RedistributionRules(rate="0.3"),
        at,
    )
    assert (r.pot, r.eligible, r.per_wallet, r.silo_after, r.outcome) == (
        101,
        frozenset({1}),
        101,
        236,
        "completed",
    )
    assert redistribution_plan({}, 19, RedistributionRules(), at).reason == (
        "nothing_to_redistribute"
    )
    assert redistribution_plan({1: Wallet(0)}, 400, RedistributionRules(), at).reason == (
        "no_eligible_wallets"
    )
    zero = redistribution_plan(
        {i: Wallet(0, at, None, 1) for i in range(11)}, 200, RedistributionRules(), at
    )
    assert (zero.reason, zero.total, zero.silo_after) == ("share_rounds_to_zero", 0, 200)


def test_reference_model_agrees_with_the_seed_reference():
    # the seed's own figures (spec 7) and the model agree on 1000 seeded wallets
    at = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    wallets = {
        i: Wallet(seed_balance(i), at - seed_idle_days(i) * DAY, None, seed_balance(i))
        for i in range(1, 1001)
    }
    plan = compost_plan(wallets, CompostRules(), at)
    assert (len(plan), sum(plan.values())) == expected_compost(wallets=1000)
