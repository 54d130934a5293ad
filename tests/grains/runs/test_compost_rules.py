"""Compost rules at their boundaries (spec section 3), on the database that DATABASE_URL names
(SQLite or PostgreSQL): who is eligible, to the second and to the microsecond, thresholds,
exact arithmetic, a composted wallet's next window, the preview agreeing with the run."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from django.test import override_settings

from saka.grains import selectors, services
from saka.grains.models import AccountKind, RunStatus
from saka.grains.runs.compost import compost_run_start
from saka.grains.selectors import compost_preview, run_summary
from tests.support.clock import A
from tests.support.run_rules import MICRO, SECOND, composted, member_of
from tests.support.runs_reference import DAY, system_balance

pytestmark = pytest.mark.django_db


# --- compost: who is eligible ---------------------------------------------------------------


def test_exactly_inactivity_days_idle_is_eligible_and_a_moment_less_is_not(make_wallet):
    # given wallets idle for exactly 90 days, and for 90 days minus 1 s, minus 1 us, minus 1 day
    exact = make_wallet(1000, A - 90 * DAY)
    longer = make_wallet(1000, A - 90 * DAY - MICRO)
    second_less = make_wallet(1000, A - 90 * DAY + SECOND)
    micro_less = make_wallet(1000, A - 90 * DAY + MICRO)
    day_less = make_wallet(1000, A - 89 * DAY)
    # when the weekly compost runs at A
    run = compost_run_start(as_of=A)
    # then only the wallets idle for at least 90 days compost, 10% each
    assert composted(run) == {exact: 100, longer: 100}
    assert second_less not in composted(run)
    assert micro_less not in composted(run)
    assert day_less not in composted(run)
    assert (run.status, run.outcome, run.wallets_done, run.amount_done) == (
        RunStatus.DONE,
        "completed",
        2,
        200,
    )


def test_a_wallet_that_never_had_activity_is_eligible(make_wallet):
    # given a wallet with grains but no recorded activity, and a recently active one
    never = make_wallet(700, None)
    active = make_wallet(700, A - DAY)
    # when compost runs
    run = compost_run_start(as_of=A)
    # then the never-active wallet composts and the active one does not
    assert composted(run) == {never: 70}
    assert active not in composted(run)


@override_settings(SAKA_COMPOST_MIN_AMOUNT=1)
def test_min_balance_is_inclusive(make_wallet):
    # given idle wallets just below, at and above the 50-grain minimum balance
    below = make_wallet(49, A - 100 * DAY)
    at_min = make_wallet(50, A - 100 * DAY)
    above = make_wallet(51, A - 100 * DAY)
    # when compost runs (min amount 1, so only the balance rule decides)
    run = compost_run_start(as_of=A)
    # then the wallet below the minimum keeps its grains
    assert composted(run) == {at_min: 5, above: 5}
    assert below not in composted(run)


def test_amounts_below_min_amount_are_skipped(make_wallet):
    # given idle wallets whose 10% is 9 (below the minimum of 10) and 10
    nine = make_wallet(99, A - 100 * DAY)
    ten = make_wallet(100, A - 100 * DAY)
    # when compost runs
    run = compost_run_start(as_of=A)
    # then floor(99 x 0.1) = 9 < 10 is skipped, floor(100 x 0.1) = 10 is composted
    assert composted(run) == {ten: 10}
    assert nine not in composted(run)
    assert selectors.wallet_summary(member_id=member_of(nine)).balance == 99


@override_settings(SAKA_COMPOST_RATE="1")
def test_rate_one_composts_the_whole_balance(make_wallet):
    # given an idle wallet of 300 grains and the maximum rate
    idle = make_wallet(300, A - 100 * DAY)
    # when compost runs
    run = compost_run_start(as_of=A)
    # then the wallet is emptied into the silo, never below zero
    assert composted(run) == {idle: 300}
    assert selectors.wallet_summary(member_id=member_of(idle)).balance == 0
    assert system_balance(AccountKind.SILO) == 300


@override_settings(SAKA_COMPOST_RATE="0.29")
def test_compost_arithmetic_is_exact(make_wallet):
    # given balances where a float product would round down one grain too far
    hundred = make_wallet(100, A - 100 * DAY)  # 100 x 0.29 = 28.999999999999996 as floats
    odd = make_wallet(5049, A - 100 * DAY)
    # when compost runs at 29%
    run = compost_run_start(as_of=A)
    # then each amount is the exact floor
    assert composted(run) == {hundred: 29, odd: 1464}
    assert math.floor(100 * 0.29) == 28  # the defect this guards against (spec 10.10)


def test_a_composted_wallet_waits_another_full_window(make_wallet):
    # given a wallet idle long ago, composted by the run of a Tuesday 00:00 (A1)
    a1 = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    a2 = a1 + 90 * DAY  # Monday 2026-06-01 00:00: a new ISO week starts
    wallet = make_wallet(2000, a1 - 200 * DAY)
    first = compost_run_start(as_of=a1)
    assert composted(first) == {wallet: 200}
    # when the next week's run, and the last run before the window ends, come
    next_week = compost_run_start(as_of=a1 + 7 * DAY)
    one_second_early = compost_run_start(as_of=a2 - SECOND)
    # then the wallet is not composted again until a full window has passed
    assert composted(next_week) == {}
    assert composted(one_second_early) == {}
    assert next_week.outcome == "nothing_to_compost"
    assert run_summary(next_week)["reason"] == "nothing_to_compost"
    # and the run at exactly one window later composts it again, from its new balance
    again = compost_run_start(as_of=a2)
    assert composted(again) == {wallet: 180}


def test_composting_is_not_member_activity(make_wallet):
    # given an idle wallet
    at = A - 120 * DAY
    wallet = make_wallet(1000, at)
    # when it is composted
    compost_run_start(as_of=A)
    # then its last activity is unchanged and only the compost columns moved
    view = selectors.wallet_summary(member_id=member_of(wallet))
    assert view.last_activity_at == at
    assert view.last_composted_at == A
    assert (view.balance, view.lifetime_composted, view.lifetime_harvested) == (900, 100, 1000)


def test_a_wallet_active_after_being_composted_restarts_its_own_window(make_wallet, staff_user):
    # given a wallet composted at A, then active 30 days later
    wallet = make_wallet(1000, A - 100 * DAY)
    compost_run_start(as_of=A)
    services.wallet_harvest(member_id=member_of(wallet), reason="content_read", as_of=A + 30 * DAY)
    # when the run 90 days after the compost comes (the compost window is over)
    run = compost_run_start(as_of=A + 90 * DAY)
    # then the activity keeps it (only 60 days idle), and 90 days after the activity it composts
    assert composted(run) == {}
    later = compost_run_start(as_of=A + 120 * DAY)
    assert composted(later) == {wallet: 91}


def test_compost_preview_agrees_with_the_run(make_wallet):
    # given wallets on each side of every rule
    wallets = {
        "eligible": make_wallet(1000, A - 90 * DAY),
        "recent": make_wallet(1000, A - 89 * DAY - 12 * 3600 * SECOND),
        "poor": make_wallet(40, A - 100 * DAY),
        "small": make_wallet(99, A - 100 * DAY),
        "never": make_wallet(500, None),
    }
    previews = {k: compost_preview(member_id=member_of(acc), as_of=A) for k, acc in wallets.items()}
    # when the run comes at the same instant
    run = compost_run_start(as_of=A)
    # then the preview said exactly what the run did
    taken = composted(run)
    for name, acc in wallets.items():
        assert previews[name].eligible == (acc in taken), name
        if acc in taken:
            assert previews[name].amount == taken[acc], name
    assert previews["recent"].days_until_eligible == 1
    assert previews["recent"].reason == "recently_active"
    # a wallet that waits: nothing now, amount_if_idle from eligible_at, which then holds
    assert (previews["recent"].amount, previews["recent"].amount_if_idle) == (0, 100)
    assert previews["recent"].eligible_at == A + 12 * 3600 * SECOND
    then = compost_preview(member_id=member_of(wallets["recent"]), as_of=A + DAY)
    assert (then.eligible, then.amount) == (True, previews["recent"].amount_if_idle)
    assert previews["poor"].eligible_at is None
    assert previews["poor"].reason == "balance_below_minimum"
    assert previews["small"].reason == "amount_below_minimum"
    # and after the compost the preview counts a full window from it
    after = compost_preview(member_id=member_of(wallets["eligible"]), as_of=A + 7 * DAY)
    assert (after.eligible, after.days_until_eligible) == (False, 83)
