"""Compost and redistribution rules at their boundaries (spec section 3), on the database
that DATABASE_URL names (SQLite or PostgreSQL): eligibility windows to the second and to the
microsecond, thresholds, exact arithmetic, outcomes, one live run per period, dry runs, and
query counts that grow with the number of chunks, not of wallets.
"""

from __future__ import annotations

import math
from contextlib import suppress
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from saka.core.errors import DomainError
from saka.grains import selectors, services
from saka.grains.accounts import system_account_id
from saka.grains.models import (
    AccountKind,
    EntryKind,
    Run,
    RunKind,
    RunStatus,
    SakaAccount,
    SakaEntry,
)
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from saka.grains.selectors import compost_preview, run_summary
from tests.support.clock import A
from tests.support.runs_reference import (
    DAY,
    build_wallet,
    bulk_wallets,
    db_wallets,
    is_postgres,
    ledger_snapshot,
    migrate_wallet,
    new_member,
    run_postings,
    share,
    system_balance,
    wallet_id,
)

pytestmark = pytest.mark.django_db

SECOND = timedelta(seconds=1)
# Runs walk key ranges (0, size], (size, 2 size], ...: tests whose chunk geometry matters
# start from id 1 (PostgreSQL sequences are not rolled back with a test's transaction).
ids_from_one = pytest.mark.django_db(transaction=True, reset_sequences=True)
MICRO = timedelta(microseconds=1)


@pytest.fixture
def make_wallet(staff_user):
    """``make_wallet(balance, last_activity_at, planted=0)``: a new member's wallet whose last
    activity is that instant (``None``: a migrated wallet that never had activity)."""
    counter = {"n": 0}

    def make(balance: int, at: datetime | None, *, planted: int = 0) -> int:
        counter["n"] += 1
        member = new_member(f"w{counter['n']}")
        if at is None:
            migrate_wallet(member_id=member.pk, amount=balance)
        else:
            build_wallet(
                member_id=member.pk, balance=balance, at=at, staff_id=staff_user.pk, planted=planted
            )
        return wallet_id(member.pk)

    return make


def composted(run: Run) -> dict[int, int]:
    return {acc: -amount for acc, amount in run_postings(run.pk).items()}


def member_of(account_id: int) -> int:
    return SakaAccount.objects.values_list("member_id", flat=True).get(pk=account_id)


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
    assert previews["poor"].reason == "balance_below_minimum"
    assert previews["small"].reason == "amount_below_minimum"
    # and after the compost the preview counts a full window from it
    after = compost_preview(member_id=member_of(wallets["eligible"]), as_of=A + 7 * DAY)
    assert (after.eligible, after.days_until_eligible) == (False, 83)


# --- redistribution ---------------------------------------------------------------------------


def fill_silo(make_wallet, balances: list[int], *, at: datetime) -> int:
    """Wallets that never had activity, composted at ``at`` (10%): the silo then holds their
    amounts. (Migrated wallets: one entry each, however large the balance.)"""
    for b in balances:
        make_wallet(b, None)
    run = compost_run_start(as_of=at)
    return run.amount_done


def credits(run: Run) -> dict[int, int]:
    return run_postings(run.pk)


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


# --- one live run per period, dry runs --------------------------------------------------------


def test_one_live_compost_per_iso_week(make_wallet):
    # given a finished compost run of the week
    wallet = make_wallet(1000, A - 100 * DAY)
    first = compost_run_start(as_of=A)
    snapshot = ledger_snapshot()
    # when the same week is asked again, at the same instant and later in the week
    again = compost_run_start(as_of=A)
    later_in_week = compost_run_start(as_of=A + 6 * DAY + 20 * 3600 * SECOND)
    # then the finished run comes back and nothing is booked twice
    assert again.pk == first.pk == later_in_week.pk
    assert later_in_week.as_of == A
    assert ledger_snapshot() == snapshot
    assert composted(first) == {wallet: 100}
    assert Run.objects.filter(kind=RunKind.COMPOST, dry_run=False).count() == 1


def test_one_live_redistribution_per_month(make_wallet):
    # given a finished redistribution of the month
    fill_silo(make_wallet, [10_000], at=A)
    active = make_wallet(100, A - DAY)
    first = redistribution_run_start(as_of=A)
    snapshot = ledger_snapshot()
    # when the month is asked again, later in the month
    again = redistribution_run_start(as_of=A + 20 * DAY)
    # then the finished run comes back and nothing is booked twice
    assert again.pk == first.pk
    assert ledger_snapshot() == snapshot
    assert credits(first) == {active: first.per_wallet}
    assert Run.objects.filter(kind=RunKind.REDISTRIBUTION, dry_run=False).count() == 1


def test_dry_compost_writes_only_its_run_and_matches_the_live_run(make_wallet):
    # given a mixed population
    for i in range(12):
        make_wallet(90 + 397 * i, A - (40 + 11 * i) * DAY)
    make_wallet(800, None)
    snapshot, runs = ledger_snapshot(), Run.objects.count()
    # when a dry run is made
    dry = compost_run_start(as_of=A, dry_run=True)
    # then only its run row was written
    assert ledger_snapshot() == snapshot
    assert Run.objects.count() == runs + 1
    assert (dry.dry_run, dry.status) == (True, RunStatus.DONE)
    # and the live run at the same instant does exactly what it announced
    live = compost_run_start(as_of=A)
    assert live.pk != dry.pk
    assert (dry.wallets_done, dry.amount_done) == (live.wallets_done, live.amount_done)
    assert dry.wallets_done == len(composted(live)) > 0
    assert dry.amount_done == sum(composted(live).values())


def test_dry_redistribution_writes_only_its_run_and_matches_the_live_run(make_wallet):
    # given a silo and a mixed population
    fill_silo(make_wallet, [3000, 4000, 5000], at=A - 7 * DAY)
    for i in range(9):
        make_wallet(50 + 101 * i, A - (10 * i + 3) * DAY)
    snapshot, runs = ledger_snapshot(), Run.objects.count()
    # when a dry run is made
    dry = redistribution_run_start(as_of=A, dry_run=True)
    # then only its run row was written
    assert ledger_snapshot() == snapshot
    assert Run.objects.count() == runs + 1
    # and the live run at the same instant has the same figures
    live = redistribution_run_start(as_of=A)
    fields = (
        "outcome",
        "silo_before",
        "pot",
        "eligible_wallets",
        "per_wallet",
        "wallets_done",
        "amount_done",
        "silo_after",
    )
    assert [getattr(dry, f) for f in fields] == [getattr(live, f) for f in fields]
    assert live.wallets_done == len(credits(live)) > 0


def test_a_dry_run_never_blocks_or_replaces_the_live_run(make_wallet):
    # given dry runs of the week, made before and after the live run
    make_wallet(1000, A - 100 * DAY)
    dry_before = compost_run_start(as_of=A, dry_run=True)
    live = compost_run_start(as_of=A)
    dry_after = compost_run_start(as_of=A, dry_run=True)
    # then each dry run is its own record; the live run is unique and did the work
    assert len({dry_before.pk, live.pk, dry_after.pk}) == 3
    assert live.wallets_done == 1
    assert dry_after.wallets_done == 0  # composted wallets wait a full window


# --- query counts -----------------------------------------------------------------------------


def per_chunk_max(kind: str = "compost") -> int:
    """Queries a key range may cost: PostgreSQL does a chunk in one statement (plus its
    synchronous_commit setting and transaction bookkeeping); SQLite in a few simple ones
    (about 9). A redistribution does two chunks per key range: freeze, then credit."""
    per_step = 6 if is_postgres() else 10
    return per_step * (2 if kind == "redistribution" else 1)


def _queries(start, **kwargs) -> tuple[int, Run]:
    with CaptureQueriesContext(connection) as ctx:
        run = start(**kwargs)
    return len(ctx.captured_queries), run


# Two runs of a kind whose eligible set is the same: compost at A and one window later (the
# idle wallets compost again, the others acted after A); redistribution at A and a month
# later (the active wallets acted 10 days before A, the others 200 days before).
TWICE = {
    "compost": (compost_run_start, A, A + 90 * DAY, A + DAY),
    "redistribution": (redistribution_run_start, A, A + 31 * DAY, A - 10 * DAY),
}


def _population(n: int, *, prefix: str, kind: str, offset: int = 0) -> list[int]:
    """n wallets, balances 50..5049 like the seed, half of them eligible at both instants of
    ``TWICE[kind]`` and half at neither, mixed so that any slice has both."""
    other = TWICE[kind][3]
    return bulk_wallets(
        [
            (50 + ((i + offset) * 7919) % 5000, A - 200 * DAY if (i * 53) % 7 < 4 else other)
            for i in range(1, n + 1)
        ],
        prefix=prefix,
        as_of=A,
    )


def _system_accounts(make_wallet, kind: str) -> None:
    """The silo and pool exist before the measured runs (their first use creates them); the
    redistribution gets a silo from wallets idle at both instants, the compost none (those
    wallets would compost again at the second instant)."""
    if kind == "redistribution":
        fill_silo(make_wallet, [50_000, 50_000], at=A - 7 * DAY)
    system_account_id(AccountKind.SILO)
    system_account_id(AccountKind.POOL)


@ids_from_one
@override_settings(SAKA_REDISTRIBUTION_RATE="0.5", SAKA_RUN_WORKERS=1)  # queries of this thread
@pytest.mark.parametrize("kind", ["compost", "redistribution"])
def test_run_queries_grow_with_chunks_not_wallets(kind, make_wallet):
    # given 300 wallets (and a silo to redistribute twice)
    start, first, second, _ = TWICE[kind]
    _system_accounts(make_wallet, kind)
    ids = _population(300, prefix="q", kind=kind)
    # when the run is made with chunks of 10, then on the same eligible set with chunks of 100
    n10, run10 = _queries(start, as_of=first, chunk_size=10)
    n100, run100 = _queries(start, as_of=second, chunk_size=100)
    # then it did the same work, and the extra queries are a few per extra chunk
    assert run10.wallets_done == run100.wallets_done > 100
    extra_chunks = run10.chunks_done - run100.chunks_done
    assert extra_chunks >= max(ids) // 10 - max(ids) // 100 - 1
    per_chunk = (n10 - n100) / extra_chunks
    assert 1 <= per_chunk <= per_chunk_max(kind)
    # and the whole run stays within a fixed cost plus that much per chunk
    assert n10 <= 40 + per_chunk * run10.chunks_done


@ids_from_one
@override_settings(SAKA_REDISTRIBUTION_RATE="0.5", SAKA_RUN_WORKERS=1)  # queries of this thread
@pytest.mark.parametrize("kind", ["compost", "redistribution"])
def test_run_queries_do_not_grow_with_wallets_in_one_chunk(kind, make_wallet):
    # given 50 wallets, all in one chunk
    start, first, second, _ = TWICE[kind]
    _system_accounts(make_wallet, kind)
    _population(50, prefix="s", kind=kind)
    n50, run50 = _queries(start, as_of=first, chunk_size=1000)
    # when 450 more wallets join (still one chunk) and the next run comes
    _population(450, prefix="l", kind=kind, offset=50)
    n500, run500 = _queries(start, as_of=second, chunk_size=1000)
    # then the run did ten times the work with the same number of queries (PostgreSQL: one
    # statement per chunk); SQLite only adds its insert batches of 999 parameters
    assert run50.chunks_done == run500.chunks_done == 1
    assert run500.wallets_done > 5 * run50.wallets_done > 0
    if is_postgres():
        assert n500 == n50
    else:
        assert n50 <= n500 <= n50 + math.ceil(run500.wallets_done * 4 / 999)


@ids_from_one
@override_settings(SAKA_RUN_WORKERS=1)  # the queries of this thread's connection
def test_a_run_pins_its_query_count(make_wallet, django_assert_max_num_queries):
    # given 120 wallets; chunks of 50 walk the key range from 0 to the highest wallet id
    ids = _population(120, prefix="p", kind="compost")
    chunks = math.ceil(max(ids) / 50)
    # when the compost runs, then it takes at most a fixed cost plus a few queries per chunk
    with django_assert_max_num_queries(15 + per_chunk_max() * chunks):
        run = compost_run_start(as_of=A, chunk_size=50)
    assert run.chunks_done == chunks
    assert run.wallets_done > 0


# --- runs write the postings the summary reports ----------------------------------------------


@ids_from_one
def test_run_figures_equal_what_was_booked(make_wallet):
    # given a population composted and redistributed
    fill_silo(make_wallet, [3000, 4000], at=A - 7 * DAY)
    _population(150, prefix="b", kind="redistribution")
    compost = compost_run_start(as_of=A, chunk_size=40)
    redistribution = redistribution_run_start(as_of=A, chunk_size=40)
    # then the run rows' figures are exactly the postings of each run
    taken, credited = composted(compost), credits(redistribution)
    assert (compost.wallets_done, compost.amount_done) == (len(taken), sum(taken.values()))
    assert (redistribution.wallets_done, redistribution.amount_done) == (
        len(credited),
        sum(credited.values()),
    )
    assert set(credited.values()) == {redistribution.per_wallet}
    assert redistribution.amount_done == redistribution.per_wallet * redistribution.eligible_wallets
    assert system_balance(AccountKind.SILO) == redistribution.silo_after
    assert sum(w.balance for w in db_wallets().values()) + redistribution.silo_after == sum(
        SakaEntry.objects.filter(kind=EntryKind.HARVEST).values_list("amount", flat=True)
    )


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
