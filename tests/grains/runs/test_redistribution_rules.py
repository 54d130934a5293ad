"""Redistribution rules at their boundaries (spec section 3), on the database that DATABASE_URL
names (SQLite or PostgreSQL): exact arithmetic and the remainder, the reasons for nothing to
do, the activity and harvest windows, and the credited set frozen at ``as_of`` while members
act during the run."""

from __future__ import annotations

from contextlib import suppress

import pytest
from django.db import IntegrityError
from django.test import override_settings

from saka.core.errors import DomainError
from saka.grains import selectors, services
from saka.grains.models import AccountKind, EntryKind, Run, RunKind, RunStatus, SakaEntry
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from saka.grains.selectors import run_summary
from tests.support.clock import A
from tests.support.run_rules import MICRO, SECOND, composted, credits, fill_silo, member_of
from tests.support.runs_reference import DAY, share, system_balance

pytestmark = pytest.mark.django_db


# --- redistribution ---------------------------------------------------------------------------


@override_settings(SAKA_REDISTRIBUTION_RATE="0.3")
def test_redistribution_arithmetic_and_remainder_stays_in_silo(make_wallet):
    # given a silo of 337 grains (composts of 100, 137 and 100) and four active members
    silo = fill_silo(make_wallet, [1000, 1370, 1000], at=A)
    assert silo == 337
    active = [make_wallet(60, A - d * DAY) for d in (0, 1, 30, 89)]
    # when the month's redistribution runs at 30%
    run = redistribution_run_start(as_of=A)
    # then pot = floor(337 x 0.3) = 101, per = 101 // 4 = 25, 1 grain stays in the silo
    assert (run.silo_before, run.pot, run.eligible_wallets, run.per_wallet) == (337, 101, 4, 25)
    assert credits(run) == dict.fromkeys(active, 25)
    assert (run.wallets_done, run.amount_done, run.silo_after) == (4, 100, 237)
    assert system_balance(AccountKind.SILO) == 237
    assert system_balance(AccountKind.POOL) == 0
    assert (run.outcome, run_summary(run)["reason"]) == ("completed", None)


@pytest.mark.parametrize(
    ("silo_balances", "active_members", "reason"),
    [
        ([], 2, "nothing_to_redistribute"),  # empty silo
        ([190], 2, "nothing_to_redistribute"),  # silo 19: floor(19 x 0.05) = 0
        ([4000], 0, "no_eligible_wallets"),  # silo 400, pot 20, nobody active
        ([2000], 11, "share_rounds_to_zero"),  # pot 10 for 11 members
    ],
)
@pytest.mark.parametrize("dry_run", [False, True])
def test_nothing_redistributed_has_a_distinct_reason(
    make_wallet, silo_balances, active_members, reason, dry_run
):
    # given a silo and some active members
    silo = fill_silo(make_wallet, silo_balances, at=A) if silo_balances else 0
    for _ in range(active_members):
        make_wallet(60, A - DAY)
    entries = SakaEntry.objects.filter(kind=EntryKind.REDISTRIBUTION).count()
    # when the redistribution runs
    run = redistribution_run_start(as_of=A, dry_run=dry_run)
    # then nothing moves and the run says why
    assert run.status == RunStatus.DONE
    assert run.outcome == reason
    assert run_summary(run)["reason"] == reason
    assert (run.wallets_done, run.amount_done, run.silo_before, run.silo_after) == (
        0,
        0,
        silo,
        silo,
    )
    assert SakaEntry.objects.filter(kind=EntryKind.REDISTRIBUTION).count() == entries
    assert system_balance(AccountKind.SILO) == silo


@override_settings(SAKA_REDISTRIBUTION_ACTIVE_DAYS=0, SAKA_REDISTRIBUTION_MIN_HARVESTED=100)
def test_active_days_zero_means_no_activity_condition(make_wallet):
    # given a silo, long-idle and never-active members with enough lifetime harvest, and one
    # active member below the minimum lifetime harvest
    fill_silo(make_wallet, [10_000], at=A)  # silo 1000, pot 50; that wallet never acted
    idle = make_wallet(100, A - 300 * DAY)
    never = make_wallet(100, None)
    poor = make_wallet(99, A - DAY)
    # when the redistribution runs
    run = redistribution_run_start(as_of=A)
    # then every member with lifetime harvest >= 100 is credited, whatever their activity
    credited = credits(run)
    assert idle in credited
    assert never in credited
    assert poor not in credited
    assert run.eligible_wallets == len(credited) == 3


def test_min_harvested_counts_harvests_not_balance(make_wallet):
    # given an active member who harvested 60 but planted 59 (balance 1)
    fill_silo(make_wallet, [20_000], at=A)
    planter = make_wallet(1, A - DAY, planted=59)
    # when the redistribution runs (min harvested 1)
    run = redistribution_run_start(as_of=A)
    # then the member is credited: lifetime harvest counts, not the balance
    assert planter in credits(run)


@pytest.mark.parametrize("days", [30, 90])
def test_equal_windows_make_a_member_either_idle_or_active_never_both(make_wallet, days):
    # given equal compost and activity windows and members around the boundary
    offsets = [
        days * DAY + SECOND,
        days * DAY,
        days * DAY - MICRO,
        days * DAY - SECOND,
        (days - 1) * DAY,
        DAY,
        (days + 1) * DAY,
    ]
    with override_settings(SAKA_COMPOST_INACTIVITY_DAYS=days, SAKA_REDISTRIBUTION_ACTIVE_DAYS=days):
        wallets = {off: make_wallet(3000, A - off) for off in offsets}
        # when compost and then redistribution run at the same instant
        compost = compost_run_start(as_of=A)
        redistribution = redistribution_run_start(as_of=A)
    # then each member is in exactly one of the two sets, split exactly at the window
    taken, credited = composted(compost), credits(redistribution)
    assert redistribution.outcome == "completed"
    for off, acc in wallets.items():
        assert (acc in taken) != (acc in credited), off
        assert (acc in taken) == (off >= days * DAY), off


def test_redistribution_is_not_activity_and_not_harvest(make_wallet):
    # given a member active 80 days before the redistribution
    fill_silo(make_wallet, [10_000], at=A)
    at = A - 80 * DAY
    member = make_wallet(500, at)
    before = selectors.wallet_summary(member_id=member_of(member))
    # when they are credited
    run = redistribution_run_start(as_of=A)
    per = credits(run)[member]
    # then only balance and lifetime redistributed move
    after = selectors.wallet_summary(member_id=member_of(member))
    assert after.balance == before.balance + per
    assert after.lifetime_redistributed == per
    assert after.lifetime_harvested == before.lifetime_harvested
    assert after.last_activity_at == at
    # and 10 days later (90 idle days) the weekly compost takes its share: the credit did not
    # make the member active (spec 10.7)
    later = compost_run_start(as_of=A + 10 * DAY)
    assert composted(later)[member] == share(500 + per, "0.10")


# --- the redistribution set is frozen at as_of ------------------------------------------------


def _first_chunk_before(account_id: int) -> int:
    """A chunk size whose first chunk ends just before ``account_id`` and whose second chunk
    holds it and the next few ids (chunks walk (0, size], (size, 2 size], ...)."""
    return max(account_id - 1, 1)


def _acting_after_first_chunk(actions, *, before: int):
    """A progress callback that runs ``actions`` once, between the first and second chunk,
    while the wallet ``before`` is still to come."""
    done: list[bool] = []

    def progress(run: Run) -> None:
        if not done:
            done.append(True)
            assert run.cursor < before
            actions()

    return progress


@override_settings(SAKA_REDISTRIBUTION_MIN_HARVESTED=1000)
def test_members_acting_during_the_run_do_not_change_the_credited_set(make_wallet, staff_user):
    # given a silo, then (in later chunks) an active member, an idle member, and an active
    # member just below the minimum lifetime harvest
    fill_silo(make_wallet, [10_000, 10_000], at=A)
    active = make_wallet(1000, A - DAY)
    idle = make_wallet(1000, A - 120 * DAY)
    below = make_wallet(990, A - DAY)
    later = A + 3600 * SECOND  # members act while the run executes, after its as_of

    def actions():
        services.wallet_harvest(member_id=member_of(active), reason="content_read", as_of=later)
        services.wallet_plant(member_id=member_of(active), amount=5, as_of=later)
        services.wallet_harvest(member_id=member_of(idle), reason="content_read", as_of=later)
        services.wallet_harvest(member_id=member_of(below), reason="invest_bonus", as_of=later)

    # when the redistribution runs, and they act after the first chunk (before theirs)
    run = redistribution_run_start(
        as_of=A,
        chunk_size=_first_chunk_before(active),
        progress=_acting_after_first_chunk(actions, before=active),
    )
    # then exactly the members counted at the start are credited: the active one only
    assert run.outcome == "completed"
    assert run.eligible_wallets == 1
    assert credits(run) == {active: run.per_wallet}
    assert (run.wallets_done, run.amount_done) == (1, run.per_wallet)
    assert system_balance(AccountKind.POOL) == 0


def test_activity_dated_before_as_of_but_committed_during_the_run_is_not_credited(make_wallet):
    # given a silo, an active member and, in a later chunk, an idle member
    fill_silo(make_wallet, [10_000], at=A)
    active = make_wallet(100, A - DAY)
    idle = make_wallet(100, A - 200 * DAY)

    def late_event():
        # a harvest of an event that happened 1 s before as_of, booked while the run executes
        with suppress(DomainError):
            services.wallet_harvest(
                member_id=member_of(idle), reason="content_read", as_of=A - SECOND
            )

    # when the redistribution runs, the late harvest being booked after the first chunk
    with suppress(IntegrityError):
        redistribution_run_start(
            as_of=A,
            chunk_size=_first_chunk_before(active),
            progress=_acting_after_first_chunk(late_event, before=active),
        )
    run = Run.objects.get(kind=RunKind.REDISTRIBUTION, dry_run=False)
    # then the run completes and credits exactly the set it counted
    assert (run.status, run.outcome) == (RunStatus.DONE, "completed")
    assert credits(run) == {active: run.per_wallet}
    assert run.wallets_done == run.eligible_wallets == 1
    assert idle not in credits(run)
