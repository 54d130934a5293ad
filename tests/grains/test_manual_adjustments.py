"""Manual adjustments (spec section 3): 1 to 500 grains, staff only, capped at 1000 per rolling
24 hours per member, independent of the daily limits."""

from __future__ import annotations

from datetime import timedelta

import pytest

from saka.core.errors import DomainError, InvalidAmount
from saka.grains.errors import AdjustmentCapReached, DailyLimitReached
from saka.grains.models import SakaAccount, SakaEntry
from tests.support.clock import T0
from tests.support.saka import entries, harvest, manual, saka_balance

pytestmark = pytest.mark.django_db


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
    with pytest.raises(DomainError) as exc:
        manual(member.pk, 100, granted_by_id)
    assert (exc.value.http_status, exc.value.code) == (403, "permission_denied")
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


def test_an_adjustment_of_100_and_of_the_string_100_with_one_key_book_once(member, staff_user):
    # given an adjustment of 100 with a key, through the Python API
    from saka.grains.services import wallet_harvest

    def grant(amount):
        return wallet_harvest(
            member_id=member.pk,
            reason="manual_adjust",
            amount=amount,
            granted_by_id=staff_user.pk,
            idempotency_key="adj-1",
        )

    first = grant(100)
    # when it is retried with the amount as a string: the same validated request
    again = grant("100")
    # then it replays the first (no idempotency_conflict) and books once
    assert again == first
    assert saka_balance(member.pk) == 100
