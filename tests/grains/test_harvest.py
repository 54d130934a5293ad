"""Harvest rules (spec section 3): rewards and daily limits (to the day boundary, in the SAKA
time zone), what a harvest books, activity, and the queries it costs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from saka.core.errors import ValidationError
from saka.grains import selectors, services
from saka.grains.errors import DailyLimitReached
from saka.grains.models import AccountKind, EntryKind, SakaAccount, SakaEntry, SakaPosting
from tests.support.clock import T0
from tests.support.saka import entries, harvest, manual, saka_balance

pytestmark = pytest.mark.django_db


RULES = [
    # reason, reward, daily limit (spec section 3)
    ("content_read", 10, 3),
    ("poll_vote", 5, 10),
    ("invite_accepted", 50, 5),
    ("invest_bonus", 100, 1),
]


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
    # (a manual adjustment also loads the granter's permissions and writes its audit record)
    with django_assert_max_num_queries(13):
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
