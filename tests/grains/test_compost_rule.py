"""The compost rule has one Python home (``saka.grains.rules.CompostRule``): the run's SQL
selects exactly the wallets and amounts it says (PostgreSQL: the chunk statement and the
dry-run totals; SQLite: the portable path), at every boundary; and it agrees with the tests'
independent reference model.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from hypothesis import example, given, settings
from hypothesis import strategies as st

from saka.core.money import MAX_BALANCE, sql_rate
from saka.engine import chunks
from saka.grains.models import (
    AccountKind,
    Run,
    RunChunk,
    RunChunkStep,
    RunKind,
    RunTrigger,
    SakaAccount,
    SakaPosting,
)
from saka.grains.rules import CompostRule
from saka.grains.runs import compost
from saka.grains.runs.periods import period_of
from saka.grains.sql.compost import COMPOST_AMOUNT
from tests.support.clock import A
from tests.support.runs_reference import CompostRules, Wallet, compost_amount

SECOND = timedelta(seconds=1)
MICRO = timedelta(microseconds=1)

RULES = [
    pytest.param(CompostRule(Decimal("0.29"), 50, 10, 90), id="rate_0.29_balance_boundary"),
    pytest.param(CompostRule(Decimal("0.29"), 20, 10, 90), id="rate_0.29_amount_boundary"),
    pytest.param(CompostRule(Decimal("0.10"), 50, 10, 90), id="defaults"),
    pytest.param(CompostRule(Decimal("1"), 0, 1, 1), id="rate_1_no_minimum"),
    pytest.param(CompostRule(Decimal("1"), 50, 60, 365), id="rate_1_amount_above_balance_min"),
]


def _balances(rule: CompostRule) -> list[int]:
    """0, either side of the minimum balance and of the smallest balance whose amount reaches
    the minimum amount."""
    first_kept = math.ceil(Fraction(rule.min_amount) / Fraction(str(rule.rate)))
    around = {0, rule.min_balance - 1, rule.min_balance, first_kept - 1, first_kept, first_kept + 1}
    return sorted(b for b in around if b >= 0)


def _instants(rule: CompostRule) -> list[datetime | None]:
    """Never, well before, exactly at, and just after the cutoff."""
    cutoff = rule.cutoff(A)
    return [None, cutoff - SECOND, cutoff, cutoff + MICRO, cutoff + SECOND]


def _grid(rule: CompostRule) -> list[tuple[int, datetime | None, datetime | None]]:
    return [
        (balance, activity, composted)
        for balance in _balances(rule)
        for activity in _instants(rule)
        for composted in _instants(rule)
    ]


def _what_the_run_takes(
    rule: CompostRule,
) -> tuple[dict[int, int], dict[int, int], tuple[int, int], tuple[str, dict[str, int]]]:
    """Build the grid's wallets, run the dry-run totals and one chunk over them with ``rule``,
    and roll everything back. Returns (what the rule says, what the chunk took, the chunk's
    (wallets, grains), the dry run's figures)."""
    user_model = get_user_model()
    with transaction.atomic():
        grid = _grid(rule)
        user_model.objects.bulk_create(
            [user_model(username=f"rule-{i}", password="!") for i in range(len(grid))]
        )
        users = user_model.objects.filter(username__startswith="rule-").order_by("pk")
        accounts = SakaAccount.objects.bulk_create(
            [
                SakaAccount(
                    kind=AccountKind.WALLET,
                    member_id=u.pk,
                    balance=balance,
                    last_activity_at=activity,
                    last_composted_at=composted,
                )
                for u, (balance, activity, composted) in zip(users, grid, strict=True)
            ]
        )
        ids = list(
            SakaAccount.objects.filter(member__username__startswith="rule-")
            .order_by("member_id")
            .values_list("id", flat=True)
        )
        assert len(ids) == len(accounts)
        said = {}
        for acc_id, (balance, activity, composted) in zip(ids, grid, strict=True):
            amount = rule.takes(
                balance=balance, last_activity_at=activity, last_composted_at=composted, as_of=A
            )
            if amount:
                said[acc_id] = amount
        run = Run.objects.create(
            kind=RunKind.COMPOST,
            period=period_of(RunKind.COMPOST, A),
            as_of=A,
            parameters={
                "inactivity_days": rule.inactivity_days,
                "rate": str(rule.rate),
                "min_balance": rule.min_balance,
                "min_amount": rule.min_amount,
            },
            trigger=RunTrigger.PYTHON,
            max_id=max(ids),
            chunk_size=max(ids),  # one chunk: (0, max_id]
        )
        dry = compost._compost_dry(run)
        # the chunk's work runs in a transaction, on its planned row (the engine's)
        assert chunks.plan(compost.COMPOST, run, compost.COMPOST.steps[0]) == 1
        compost._compost_chunk(run, 0, max(ids), "rule-test")
        chunk = RunChunk.objects.get(run_id=run.pk, step=RunChunkStep.APPLY, lo=0)
        assert chunk.done_at is not None
        run.refresh_from_db()
        assert (run.wallets_done, run.amount_done) == (chunk.wallets, chunk.amount)
        done = (chunk.wallets, chunk.amount)
        taken = {p.account_id: -p.amount for p in SakaPosting.objects.filter(run_id=run.pk)}
        transaction.set_rollback(True)
    return said, taken, done, dry


def _assert_the_run_follows_the_rule(rule: CompostRule) -> None:
    # given wallets on every side of the rule's boundaries
    # when the compost statement and its dry run go over them
    said, taken, done, dry = _what_the_run_takes(rule)
    # then they take exactly what the Python rule says, from exactly those wallets
    assert said, "the grid must contain wallets that compost"
    assert len(said) < len(_grid(rule)), "and wallets that do not"
    assert taken == said
    assert done == (len(said), sum(said.values()))
    assert dry == ("completed", {"wallets_done": len(said), "amount_done": sum(said.values())})


@pytest.mark.django_db
@pytest.mark.parametrize("rule", RULES)
def test_the_compost_run_selects_what_the_rule_says(rule: CompostRule) -> None:
    # PostgreSQL runs the chunk statement (SQL), SQLite the portable path (Python); CI runs
    # the suite on both, so both are pinned to the rule
    _assert_the_run_follows_the_rule(rule)


instants = st.one_of(
    st.none(),
    st.integers(min_value=-200 * 86_400, max_value=0).map(lambda s: A + timedelta(seconds=s)),
)


@given(
    balance=st.integers(min_value=0, max_value=10**9),
    activity=instants,
    composted=instants,
    rate=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1"), places=2),
    min_balance=st.integers(min_value=0, max_value=1000),
    min_amount=st.integers(min_value=1, max_value=1000),
    days=st.integers(min_value=1, max_value=365),
)
def test_the_rule_agrees_with_the_reference_model(
    balance: int,
    activity: datetime | None,
    composted: datetime | None,
    rate: Decimal,
    min_balance: int,
    min_amount: int,
    days: int,
) -> None:
    rule = CompostRule(rate, min_balance, min_amount, days)
    reference = CompostRules(
        inactivity_days=days, rate=str(rate), min_balance=min_balance, min_amount=min_amount
    )
    wallet = Wallet(balance=balance, last_activity_at=activity, last_composted_at=composted)
    takes = rule.takes(
        balance=balance, last_activity_at=activity, last_composted_at=composted, as_of=A
    )
    assert takes == compost_amount(wallet, reference, A)
    refusal = rule.refusal(
        balance=balance, last_activity_at=activity, last_composted_at=composted, as_of=A
    )
    assert (refusal == "") == (takes > 0)


# Rates as the settings allow them: 1 itself (an integral Decimal: it once reached PostgreSQL as
# an integer and was floored in double precision), and decimals down to a millionth.
compost_rates = st.one_of(
    st.sampled_from([Decimal(1), Decimal("1.0"), Decimal("0.10"), Decimal("0.29")]),
    st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(1), places=6),
)


@pytest.mark.postgres
@pytest.mark.django_db
@settings(max_examples=300, deadline=None, database=None)
@given(balance=st.integers(min_value=0, max_value=MAX_BALANCE), rate=compost_rates)
@example(balance=2**53 + 1, rate=Decimal(1))
@example(balance=MAX_BALANCE - 1, rate=Decimal(1))
@example(balance=MAX_BALANCE - 1, rate=Decimal("0.999999"))
def test_the_sql_amount_is_the_rule_s_to_the_grain_at_every_size(balance: int, rate: Decimal):
    # when PostgreSQL computes the compost amount with the run's own expression and parameter
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ({COMPOST_AMOUNT})::bigint FROM (SELECT %(balance)s::bigint AS balance) w",
            {"balance": balance, "rate": sql_rate(rate)},
        )
        (amount,) = cursor.fetchone()
    # then it is the Python rule's amount, exactly, up to the largest accepted balance
    assert amount == CompostRule(rate, 0, 1, 1).amount(balance)
    assert amount == math.floor(Fraction(balance) * Fraction(rate))
