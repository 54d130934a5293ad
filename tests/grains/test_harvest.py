"""Harvest rules (spec section 3): rewards, daily limits, manual adjustments, activity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from saka.core.errors import InvalidAmount, MemberNotFound, ValidationError
from saka.grains import selectors, services
from saka.grains.errors import (
    AdjustmentCapReached,
    DailyLimitReached,
    NotAllowed,
    SakaDisabled,
    UnknownReason,
)
from saka.grains.models import AccountKind, EntryKind, SakaAccount, SakaEntry, SakaPosting
from tests.support.clock import T0
from tests.support.saka import harvest, saka_balance

pytestmark = pytest.mark.django_db


RULES = [
    # reason, reward, daily limit (spec section 3)
    ("content_read", 10, 3),
    ("poll_vote", 5, 10),
    ("invite_accepted", 50, 5),
    ("invest_bonus", 100, 1),
]


def manual(member_id, amount, granted_by_id, as_of=T0):
    return services.wallet_harvest(
        member_id=member_id,
        reason="manual_adjust",
        amount=amount,
        granted_by_id=granted_by_id,
        as_of=as_of,
    )


def entries(member_id):
    return SakaEntry.objects.filter(member_id=member_id).count()


# --- rewards and daily limits ------------------------------------------------------------------


@pytest.mark.parametrize(("reason", "reward", "limit"), RULES)
def test_each_reason_pays_its_reward_up_to_its_daily_limit(member, reason, reward, limit):
    # given the member harvests ``limit`` times on one day, at different hours
    results = [
        harvest(member.pk, reason, as_of=T0 + timedelta(minutes=7 * i)) for i in range(limit)
    ]
    # then each harvest paid the fixed reward and counted towards the limit
    assert [r.amount for r in results] == [reward] * limit
    assert [r.used_today for r in results] == list(range(1, limit + 1))
    assert {r.daily_limit for r in results} == {limit}
    assert [r.balance for r in results] == [reward * (i + 1) for i in range(limit)]
    # when one more comes the same day
    with pytest.raises(DailyLimitReached) as exc:
        harvest(member.pk, reason, as_of=T0 + timedelta(hours=11, minutes=59))
    # then it is refused with the limit in the error, and nothing is booked
    assert exc.value.data == {"reason": reason, "daily_limit": limit, "used": limit}
    assert exc.value.code == "daily_limit_reached"
    assert saka_balance(member.pk) == reward * limit
    assert entries(member.pk) == limit
    # and the next calendar day the reason pays again
    assert harvest(member.pk, reason, as_of=T0 + timedelta(days=1)).used_today == 1
    assert saka_balance(member.pk) == reward * (limit + 1)


def test_limits_are_per_reason_and_per_member(member, other_member):
    # given the member reached the content_read limit
    for _ in range(3):
        harvest(member.pk, "content_read")
    # when / then other reasons and other members are not affected
    assert harvest(member.pk, "poll_vote").used_today == 1
    assert harvest(other_member.pk, "content_read").used_today == 1
    with pytest.raises(DailyLimitReached):
        harvest(member.pk, "content_read")
    assert saka_balance(member.pk) == 35
    assert saka_balance(other_member.pk) == 10


def test_utc_day_boundary_is_exclusive_at_midnight(member):
    # given three harvests at the very end of a UTC day
    end_of_day = datetime(2025, 6, 10, 23, 59, 59, 999999, tzinfo=UTC)
    for _ in range(3):
        harvest(member.pk, as_of=end_of_day)
    with pytest.raises(DailyLimitReached):
        harvest(member.pk, as_of=end_of_day)
    # when the next harvest is exactly at midnight
    result = harvest(member.pk, as_of=datetime(2025, 6, 11, tzinfo=UTC))
    # then it is on the next day
    assert result.used_today == 1


@pytest.mark.parametrize(
    ("time_zone", "allowed"),
    [("UTC", False), ("Europe/Paris", True)],
)
def test_day_boundaries_follow_saka_time_zone(member, time_zone, allowed):
    # given three content reads on 10 June at noon UTC (10 June in Paris too)
    with override_settings(SAKA_TIME_ZONE=time_zone):
        for _ in range(3):
            harvest(member.pk, as_of=T0)
        # when one more comes at 23:30 UTC on 10 June: 01:30 on 11 June in Paris
        late = datetime(2025, 6, 10, 23, 30, tzinfo=UTC)
        if allowed:
            result = harvest(member.pk, as_of=late)
            # then in Paris it is the first harvest of a new day
            assert result.used_today == 1
            assert selectors.harvest_usage(member_id=member.pk, as_of=late)["content_read"] == {
                "used": 1,
                "daily_limit": 3,
            }
        else:
            # then in UTC it is still 10 June, past the limit
            with pytest.raises(DailyLimitReached):
                harvest(member.pk, as_of=late)
            assert selectors.harvest_usage(member_id=member.pk, as_of=late)["content_read"] == {
                "used": 3,
                "daily_limit": 3,
            }
    assert entries(member.pk) == (4 if allowed else 3)


@override_settings(SAKA_TIME_ZONE="Europe/Paris")
def test_paris_day_starts_at_22_utc_in_summer(member):
    # given a harvest at 21:59:59 UTC (23:59:59 in Paris) and one at 22:00 UTC (00:00 next day)
    harvest(member.pk, "invest_bonus", as_of=datetime(2025, 6, 10, 21, 59, 59, tzinfo=UTC))
    # when
    result = harvest(member.pk, "invest_bonus", as_of=datetime(2025, 6, 10, 22, 0, tzinfo=UTC))
    # then both pass the 1/day limit: they are on two Paris days
    assert result.used_today == 1
    assert saka_balance(member.pk) == 200


@override_settings(SAKA_TIME_ZONE="Europe/Paris")
def test_a_23_hour_day_at_the_spring_clock_change(member):
    # given 30 March 2025 in Paris: 23:00 UTC on the 29th to 22:00 UTC on the 30th (23 hours)
    first_instant = datetime(2025, 3, 29, 23, 0, tzinfo=UTC)
    last_instant = datetime(2025, 3, 30, 21, 59, 59, tzinfo=UTC)
    harvest(member.pk, "invest_bonus", as_of=first_instant)
    # when / then the day's last instant is the same day, the next instant a new one
    with pytest.raises(DailyLimitReached):
        harvest(member.pk, "invest_bonus", as_of=last_instant)
    harvest(member.pk, "invest_bonus", as_of=datetime(2025, 3, 30, 22, 0, tzinfo=UTC))
    with pytest.raises(DailyLimitReached):
        harvest(member.pk, "invest_bonus", as_of=datetime(2025, 3, 31, 21, 0, tzinfo=UTC))
    # and an instant before the day belongs to the 29th
    harvest(member.pk, "invest_bonus", as_of=datetime(2025, 3, 29, 22, 59, 59, tzinfo=UTC))
    assert saka_balance(member.pk) == 300


def test_day_limit_does_not_depend_on_the_order_of_days(member):
    # given harvests on day 2, then day 0, then day 2 again
    day = timedelta(days=1)
    for offset in (2, 0, 2, 0, 2):
        harvest(member.pk, as_of=T0 + offset * day)
    # when the fourth of day 2 comes (after days out of order)
    with pytest.raises(DailyLimitReached):
        harvest(member.pk, as_of=T0 + 2 * day)
    # then day 0 still has one left, day 1 three
    assert harvest(member.pk, as_of=T0).used_today == 3
    assert harvest(member.pk, as_of=T0 + day).used_today == 1


# --- manual adjustments ------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [1, 250, 500, "500"])
def test_manual_adjust_grants_1_to_500(member, staff_user, amount):
    # when
    result = manual(member.pk, amount, staff_user.pk)
    # then the amount is granted as asked and the granter is recorded
    assert result.amount == int(amount)
    assert result.daily_limit == 1000
    assert result.used_today == int(amount)
    assert saka_balance(member.pk) == int(amount)
    entry = SakaEntry.objects.get(pk=result.entry_id)
    assert entry.granted_by_id == staff_user.pk
    assert entry.reason == "manual_adjust"


@pytest.mark.parametrize("amount", [None, 0, -1, 501, 10**6, 1.5, 10.0, True, "abc", "1e2"])
def test_manual_adjust_refuses_amounts_outside_1_to_500(member, staff_user, amount):
    # when / then
    with pytest.raises(InvalidAmount):
        manual(member.pk, amount, staff_user.pk)
    assert entries(member.pk) == 0
    assert not SakaAccount.objects.filter(member=member).exists()


def test_manual_adjust_is_capped_at_1000_per_rolling_24_hours(member, staff_user):
    # given 500 at T0 and 500 an hour later
    manual(member.pk, 500, staff_user.pk, as_of=T0)
    manual(member.pk, 500, staff_user.pk, as_of=T0 + timedelta(hours=1))
    # when one more grain comes within 24 hours of the first grant
    with pytest.raises(AdjustmentCapReached) as exc:
        manual(
            member.pk, 1, staff_user.pk, as_of=T0 + timedelta(hours=24) - timedelta(microseconds=1)
        )
    # then it is refused, with the figures, and nothing is booked
    assert exc.value.data == {"used": 1000, "remaining": 0, "cap": 1000}
    assert exc.value.code == "adjustment_cap_reached"
    assert saka_balance(member.pk) == 1000
    # and exactly 24 hours after the first grant, the first grant has left the window
    result = manual(member.pk, 500, staff_user.pk, as_of=T0 + timedelta(hours=24))
    assert result.used_today == 1000
    # but the grant of T0 + 1 h is still inside it
    with pytest.raises(AdjustmentCapReached):
        manual(member.pk, 1, staff_user.pk, as_of=T0 + timedelta(hours=25) - timedelta(seconds=1))
    manual(member.pk, 1, staff_user.pk, as_of=T0 + timedelta(hours=25))
    assert saka_balance(member.pk) == 1501


def test_manual_adjust_cap_counts_amounts_not_grants(member, staff_user):
    # given 999 granted in three grants
    for amount in (500, 400, 99):
        manual(member.pk, amount, staff_user.pk)
    # when 2 more are asked, then refused; 1 more passes
    with pytest.raises(AdjustmentCapReached) as exc:
        manual(member.pk, 2, staff_user.pk)
    assert exc.value.data["remaining"] == 1
    manual(member.pk, 1, staff_user.pk)
    assert saka_balance(member.pk) == 1000


def test_manual_adjust_is_independent_of_the_daily_limits(member, staff_user):
    # given the content_read limit is reached
    for _ in range(3):
        harvest(member.pk, "content_read")
    # when a manual adjustment and then a fourth read come
    manual(member.pk, 500, staff_user.pk)
    with pytest.raises(DailyLimitReached):
        harvest(member.pk, "content_read")
    # then only the adjustment was added; and normal harvests do not use the adjustment cap
    assert manual(member.pk, 500, staff_user.pk).used_today == 1000
    assert saka_balance(member.pk) == 1030


def test_manual_adjust_cap_is_per_member(member, other_member, staff_user):
    # given the member's cap is used up
    manual(member.pk, 500, staff_user.pk)
    manual(member.pk, 500, staff_user.pk)
    # when / then another member still gets one
    assert manual(other_member.pk, 500, staff_user.pk).used_today == 500


@pytest.mark.parametrize("granter", ["none", "self", "other_member", "platform", "inactive_staff"])
def test_manual_adjust_is_staff_only(member, other_member, platform_user, make_user, granter):
    # given a granter that is not an active staff member
    granted_by_id = {
        "none": None,
        "self": member.pk,
        "other_member": other_member.pk,
        "platform": platform_user.pk,
        "inactive_staff": make_user(staff=True, is_active=False).pk,
    }[granter]
    # when / then
    with pytest.raises(NotAllowed) as exc:
        manual(member.pk, 100, granted_by_id)
    assert exc.value.http_status == 403
    assert entries(member.pk) == 0


def test_manual_adjust_cap_holds_for_grants_dated_before_existing_ones(member, staff_user):
    # given 1000 granted at T0
    manual(member.pk, 500, staff_user.pk, as_of=T0)
    manual(member.pk, 500, staff_user.pk, as_of=T0)
    # when a grant dated one hour earlier comes (within 24 h of the existing ones)
    with pytest.raises(AdjustmentCapReached):
        manual(member.pk, 500, staff_user.pk, as_of=T0 - timedelta(hours=1))
    # then nothing more was granted within those 24 hours
    assert saka_balance(member.pk) == 1000


# --- bad requests ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reason", ["", "unknown", "CONTENT_READ", " content_read", "project_boost", None, 42]
)
def test_unknown_reason_is_refused(member, reason):
    # when / then
    with pytest.raises(UnknownReason) as exc:
        harvest(member.pk, reason)
    assert exc.value.code == "unknown_reason"
    assert "content_read" in exc.value.data["known"]
    assert "manual_adjust" in exc.value.data["known"]
    assert not SakaAccount.objects.filter(member=member).exists()


def test_unhashable_reason_is_a_typed_error(member):
    with pytest.raises(UnknownReason):
        harvest(member.pk, ["content_read"])


@pytest.mark.parametrize("amount", [10, 1, "10", 0])
def test_fixed_reward_reasons_take_no_amount(member, amount):
    # when a normal reason is sent with an amount (even the right one)
    with pytest.raises(InvalidAmount) as exc:
        harvest(member.pk, "content_read", amount=amount)
    # then it is refused and says what the reward is
    assert exc.value.data == {"field": "amount", "reward": 10}
    assert entries(member.pk) == 0


def test_unknown_member_is_not_found(member):
    # when / then
    with pytest.raises(MemberNotFound):
        harvest(member.pk + 10_000)
    assert not SakaAccount.objects.filter(kind=AccountKind.WALLET).exists()


def test_inactive_member_is_not_found(make_user):
    # given a deactivated member
    gone = make_user(is_active=False)
    # when / then
    with pytest.raises(MemberNotFound):
        harvest(gone.pk)
    assert entries(gone.pk) == 0


@pytest.mark.parametrize("bad_id", ["1", 1.0, True, None])
def test_member_id_must_be_an_int(member, bad_id):
    with pytest.raises(MemberNotFound):
        harvest(bad_id)
    assert not SakaEntry.objects.exists()


def test_naive_as_of_is_refused(member):
    with pytest.raises(ValidationError) as exc:
        harvest(member.pk, as_of=datetime(2025, 6, 10, 12, 0))  # noqa: DTZ001 - on purpose
    assert exc.value.data == {"field": "as_of"}
    assert entries(member.pk) == 0


@pytest.mark.parametrize(
    ("reason", "as_of"),
    [
        ("content_read", datetime(9999, 12, 31, 23, 30, tzinfo=UTC)),
        ("manual_adjust", datetime(1, 1, 1, 0, 30, tzinfo=UTC)),
        ("content_read", datetime(1, 1, 1, 0, 30, tzinfo=UTC)),
        ("plant", datetime(1, 1, 1, 0, 30, tzinfo=UTC)),
    ],
)
def test_as_of_out_of_range_is_a_typed_error(member, staff_user, reason, as_of):
    # given grains to plant
    harvest(member.pk, "invest_bonus")
    calls = {
        "plant": lambda: services.wallet_plant(member_id=member.pk, amount=1, as_of=as_of),
        "manual_adjust": lambda: manual(member.pk, 5, staff_user.pk, as_of=as_of),
        "content_read": lambda: harvest(member.pk, reason, as_of=as_of),
    }
    # when / then an absurd instant is refused as bad input, and nothing is booked
    with pytest.raises(ValidationError):
        calls[reason]()
    assert entries(member.pk) == 1


def test_saka_disabled_refuses_and_books_nothing(member, staff_user):
    # given SAKA switched off
    with override_settings(SAKA_ENABLED=False):
        # when / then every harvest is refused
        with pytest.raises(SakaDisabled) as exc:
            harvest(member.pk)
        assert exc.value.http_status == 503
        with pytest.raises(SakaDisabled):
            manual(member.pk, 100, staff_user.pk)
    assert entries(member.pk) == 0
    assert not SakaAccount.objects.filter(member=member).exists()
    # and switched on again, harvesting works
    harvest(member.pk)
    assert saka_balance(member.pk) == 10


# --- booking, wallet, activity -----------------------------------------------------------------


def test_wallet_is_created_on_first_use(member):
    # given a member who never used SAKA
    assert not SakaAccount.objects.filter(member=member).exists()
    assert selectors.wallet_summary(member_id=member.pk).balance == 0
    # when
    harvest(member.pk)
    harvest(member.pk)
    # then exactly one wallet exists, holding both harvests
    wallet = SakaAccount.objects.get(member=member)
    assert wallet.kind == AccountKind.WALLET
    assert wallet.balance == 20


def test_harvest_books_one_balanced_entry_from_issuance(member):
    # when
    result = harvest(member.pk, "invite_accepted")
    # then one harvest entry, two postings: issuance -50, wallet +50
    entry = SakaEntry.objects.get(pk=result.entry_id)
    assert (entry.kind, entry.reason, entry.amount, entry.member_id) == (
        EntryKind.HARVEST,
        "invite_accepted",
        50,
        member.pk,
    )
    assert entry.created_at == T0
    postings = {p.account.kind: p.amount for p in SakaPosting.objects.filter(entry=entry)}
    assert postings == {AccountKind.ISSUANCE: -50, AccountKind.WALLET: 50}
    # and the external issuance account keeps no cached balance
    assert SakaAccount.objects.get(kind=AccountKind.ISSUANCE).balance == 0
    assert result.created_at == T0.isoformat()


def test_harvest_is_activity(member):
    # when
    harvest(member.pk, "poll_vote", as_of=T0)
    # then
    view = selectors.wallet_summary(member_id=member.pk)
    assert view.last_activity_at == T0
    assert view.lifetime_harvested == 5
    # when a later harvest comes, activity moves forward
    later = T0 + timedelta(days=3, hours=2)
    harvest(member.pk, "invest_bonus", as_of=later)
    view = selectors.wallet_summary(member_id=member.pk)
    assert view.last_activity_at == later
    assert view.lifetime_harvested == 105
    # and a back-dated one never moves it back
    harvest(member.pk, "poll_vote", as_of=T0 - timedelta(days=10))
    view = selectors.wallet_summary(member_id=member.pk)
    assert view.last_activity_at == later
    assert view.lifetime_harvested == 110
    assert view.lifetime_planted == 0


def test_refused_harvest_changes_no_activity(member):
    # given the limit of invest_bonus reached at T0
    harvest(member.pk, "invest_bonus", as_of=T0)
    # when a refused one comes later
    with pytest.raises(DailyLimitReached):
        harvest(member.pk, "invest_bonus", as_of=T0 + timedelta(hours=5))
    # then activity and counters are those of the first
    view = selectors.wallet_summary(member_id=member.pk)
    assert view.last_activity_at == T0
    assert view.lifetime_harvested == 100


def test_harvest_usage_reports_each_reason(member, staff_user):
    # given
    harvest(member.pk, "content_read")
    harvest(member.pk, "content_read")
    harvest(member.pk, "poll_vote")
    harvest(member.pk, "poll_vote", as_of=T0 - timedelta(days=1))
    manual(member.pk, 10, staff_user.pk)
    # when
    usage = selectors.harvest_usage(member_id=member.pk, as_of=T0)
    # then
    assert usage == {
        "content_read": {"used": 2, "daily_limit": 3},
        "poll_vote": {"used": 1, "daily_limit": 10},
        "invite_accepted": {"used": 0, "daily_limit": 5},
        "invest_bonus": {"used": 0, "daily_limit": 1},
    }


# --- query counts ------------------------------------------------------------------------------


def test_harvest_query_counts(member, other_member, staff_user, django_assert_max_num_queries):
    # first harvest ever: creates the wallet and the issuance account
    with django_assert_max_num_queries(13):
        harvest(member.pk)
    # first harvest of another member: creates the wallet only
    with django_assert_max_num_queries(11):
        harvest(other_member.pk)
    # steady state
    with django_assert_max_num_queries(9):
        harvest(member.pk)
    with django_assert_max_num_queries(10):
        manual(member.pk, 10, staff_user.pk)
    # with an idempotency key, then its replay
    with django_assert_max_num_queries(14):
        harvest(member.pk, "poll_vote", idempotency_key="k-1")
    # (the replay includes the system-account look-up made before the transaction opens)
    with django_assert_max_num_queries(5):
        harvest(member.pk, "poll_vote", idempotency_key="k-1")
    # a refused harvest stops early
    harvest(member.pk)
    with django_assert_max_num_queries(7), pytest.raises(DailyLimitReached):
        harvest(member.pk)


def test_selector_query_counts(member, django_assert_num_queries):
    # given some history
    for reason in ("content_read", "poll_vote", "invest_bonus"):
        harvest(member.pk, reason)
    # when / then each selector's queries are fixed, whatever the history size
    with django_assert_num_queries(1):
        selectors.wallet_summary(member_id=member.pk)
    with django_assert_num_queries(1):
        selectors.harvest_usage(member_id=member.pk, as_of=T0)
    # history: the wallet's id and the live runs' ids (its two index paths), then one page
    with django_assert_num_queries(3):
        rows = list(selectors.wallet_history(member_id=member.pk))
    with django_assert_num_queries(0):
        kinds = [row.entry.kind for row in rows]  # entries came with the postings
    assert kinds == [EntryKind.HARVEST] * 3
    assert [row.amount for row in rows] == [100, 5, 10]  # newest first


def test_wallet_history_filters_by_kind(member):
    # given
    harvest(member.pk)
    services.wallet_plant(member_id=member.pk, amount=4, as_of=T0)
    # when / then
    assert [p.amount for p in selectors.wallet_history(member_id=member.pk, kind="plant")] == [-4]
    assert [p.amount for p in selectors.wallet_history(member_id=member.pk)] == [-4, 10]
    with pytest.raises(ValidationError):
        selectors.wallet_history(member_id=member.pk, kind="bogus")
