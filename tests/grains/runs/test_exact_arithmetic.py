"""Exact arithmetic at every size (issue 16, defect 3): the compost's SQL, its dry run and the
Python rule agree to the grain at balances above 2**53 and at the ceiling, with a rate of 1
(which once reached PostgreSQL as an integer and was floored in double precision) as with
decimal rates; a balance is never taken above ``MAX_BALANCE``: a redistribution share that
would is not credited (returned to the silo), a compost that would push the silo above it is
refused with ``BalanceLimitExceeded`` and the run stays resumable."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from django.test import override_settings

from saka.core.money import MAX_BALANCE, sql_rate
from saka.grains.conf import load_settings
from saka.grains.models import AccountKind, Run, RunChunk, RunStatus, SakaAccount
from saka.grains.rules import CompostRule
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from saka.ledger.errors import BalanceLimitExceeded
from tests.support.clock import A
from tests.support.run_rules import composted, credits, fill_silo
from tests.support.runs_reference import DAY, ledger_snapshot, system_balance
from tests.support.saka import harvest

pytestmark = pytest.mark.django_db

TWO_53 = 2**53


def _exact_floor(balance: int, rate: str) -> int:
    """floor(balance x rate) with fractions: independent of ``floor_share``."""
    return math.floor(Fraction(balance) * Fraction(rate))


def _balances_of(ids: list[int]) -> dict[int, int]:
    return dict(SakaAccount.objects.filter(pk__in=ids).values_list("pk", "balance"))


CASES = [
    pytest.param("1", [TWO_53 + 1, 999], id="rate_1_above_2_53"),
    pytest.param("1", [MAX_BALANCE - 1], id="rate_1_at_the_ceiling"),
    pytest.param("0.10", [TWO_53 + 1, TWO_53 + 7, TWO_53 + 9], id="rate_0.10_above_2_53"),
    pytest.param("0.10", [MAX_BALANCE - 1, MAX_BALANCE], id="rate_0.10_at_the_ceiling"),
    pytest.param("0.29", [MAX_BALANCE - 3, TWO_53 + 5], id="rate_0.29_both"),
]


@pytest.mark.postgres
@pytest.mark.parametrize(("rate", "balances"), CASES)
def test_compost_dry_live_and_rule_agree_exactly_at_every_size(make_wallet, rate, balances):
    # given idle (migrated) wallets far above 2**53, up to the ceiling
    with override_settings(SAKA_COMPOST_RATE=rate, SAKA_COMPOST_MIN_BALANCE=0):
        ids = [make_wallet(b, None) for b in balances]
        rule = CompostRule.of_run(_params(rate))
        expected = {i: _exact_floor(b, rate) for i, b in zip(ids, balances, strict=True)}
        assert expected == {i: rule.amount(b) for i, b in zip(ids, balances, strict=True)}
        # when a dry run and the live run are made at the same instant
        dry = compost_run_start(as_of=A, dry_run=True)
        live = compost_run_start(as_of=A)
    # then each wallet gave exactly floor(balance x rate), as the dry run and the rule said
    assert live.status == RunStatus.DONE
    assert composted(live) == expected
    assert (dry.wallets_done, dry.amount_done) == (live.wallets_done, live.amount_done)
    assert live.amount_done == sum(expected.values())
    assert _balances_of(ids) == {i: b - expected[i] for i, b in zip(ids, balances, strict=True)}
    assert system_balance(AccountKind.SILO) == sum(expected.values())


def _params(rate: str) -> dict[str, object]:
    return {"rate": rate, "min_balance": 0, "min_amount": 10, "inactivity_days": 90}


def test_a_redistribution_share_never_takes_a_wallet_above_the_ceiling(make_wallet):
    # given a silo, an ordinary active wallet and an active wallet just under the ceiling
    fill_silo(make_wallet, [10_000], at=A - 7 * DAY)
    ordinary = make_wallet(100, A - DAY)
    high = make_wallet(MAX_BALANCE - 20, None)
    harvest(SakaAccount.objects.get(pk=high).member_id, as_of=A - DAY)  # active: MAX - 10
    silo = system_balance(AccountKind.SILO)
    # when a dry run and the live redistribution are made (rate 0.05: a share above 10)
    dry = redistribution_run_start(as_of=A, dry_run=True)
    live = redistribution_run_start(as_of=A)
    # then the wallet at the ceiling is not credited: its share went back to the silo
    assert live.status == RunStatus.DONE
    per = live.per_wallet
    assert per > 10
    assert live.eligible_wallets == 2
    assert credits(live) == {ordinary: per}
    assert _balances_of([high]) == {high: MAX_BALANCE - 10}
    assert live.outcome == "completed_with_return"
    assert system_balance(AccountKind.SILO) == silo - per == live.silo_after
    # and the dry run announced exactly that
    fields = ("outcome", "eligible_wallets", "per_wallet", "wallets_done", "amount_done")
    assert [getattr(dry, f) for f in (*fields, "silo_after")] == [
        getattr(live, f) for f in (*fields, "silo_after")
    ]


@override_settings(SAKA_COMPOST_RATE="1", SAKA_COMPOST_MIN_BALANCE=0)
def test_a_compost_that_would_push_the_silo_above_the_ceiling_is_typed_and_resumable(
    make_wallet,
):
    # given a silo at the ceiling (a wallet of MAX_BALANCE composted at rate 1)
    make_wallet(MAX_BALANCE, None)
    first = compost_run_start(as_of=A)
    assert system_balance(AccountKind.SILO) == MAX_BALANCE
    # and, a week later, another idle wallet and an active one
    idle = make_wallet(1000, None)
    active = make_wallet(100, A + 6 * DAY)
    snapshot = ledger_snapshot()
    # when the next compost runs
    with pytest.raises(BalanceLimitExceeded) as refused:
        compost_run_start(as_of=A + 7 * DAY)
    # then it is refused with the typed error, nothing booked, the run interrupted with the
    # error and its chunk pending, its lease given up: never a bare IntegrityError
    assert refused.value.data["maximum"] == MAX_BALANCE
    assert ledger_snapshot() == snapshot
    run = Run.objects.exclude(pk=first.pk).get(dry_run=False, kind="compost")
    assert run.status == RunStatus.INTERRUPTED
    assert run.error.startswith("BalanceLimitExceeded")
    pending = RunChunk.objects.filter(run_id=run.pk, done_at__isnull=True)
    assert pending.count() == 1
    assert pending.get().lease_until is None
    # and once a redistribution has made room in the silo, the same run resumes and finishes
    redistributed = redistribution_run_start(as_of=A + 7 * DAY)
    assert credits(redistributed) == {active: redistributed.per_wallet}
    assert redistributed.pot > 0
    resumed = compost_run_start(as_of=A + 7 * DAY)
    assert (resumed.pk, resumed.status) == (run.pk, RunStatus.DONE)
    assert composted(resumed) == {idle: 1000}


@pytest.mark.parametrize("rate", [Decimal(1), Decimal("1.0"), 1, "1", 1.0])
def test_a_rate_of_one_however_written_is_one_exact_decimal(rate):
    # when the compost rate is written as an int, a Decimal, a str or a float
    with override_settings(SAKA_COMPOST_RATE=rate):
        conf = load_settings()
    # then the run records one exact decimal, and the SQL gets it as a fixed-point string
    assert conf.compost_rate == 1
    assert isinstance(conf.compost_rate, Decimal)
    assert sql_rate(conf.compost_rate) in {"1", "1.0"}
