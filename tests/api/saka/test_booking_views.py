"""What the SAKA booking endpoints do when they are used right: platform harvests and their
daily limits, staff adjustments and their rolling cap, plants.

Boosts and the project list are tested in ``tests/api/projects``, throttling in
``tests/api/common``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from saka.grains.models import EntryKind, SakaEntry
from saka.grains.services import wallet_harvest
from tests.support.api import _adjust, platform_harvest, wallet_json

pytestmark = pytest.mark.django_db


# --- harvest (platform) --------------------------------------------------------------------


def test_platform_harvest_credits_the_member(api: Any, platform_user: Any, member: Any) -> None:
    # given a member without grains
    # when the platform grants an accepted invitation
    response = platform_harvest(api, platform_user, member, "invite_accepted")
    # then the member is credited and the response describes the booking
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "entry_id",
        "member_id",
        "reason",
        "amount",
        "balance",
        "created_at",
        "used_today",
        "daily_limit",
    }
    assert (body["member_id"], body["reason"], body["amount"], body["balance"]) == (
        member.pk,
        "invite_accepted",
        50,
        50,
    )
    assert (body["used_today"], body["daily_limit"]) == (1, 5)
    assert abs(datetime.fromisoformat(body["created_at"]) - timezone.now()) < timedelta(minutes=1)
    entry = SakaEntry.objects.get(pk=body["entry_id"])
    assert (entry.kind, entry.member_id, entry.granted_by_id, entry.amount) == (
        EntryKind.HARVEST,
        member.pk,
        platform_user.pk,
        50,
    )
    # and the member's wallet shows it
    wallet = wallet_json(api, member)
    assert (wallet["balance"], wallet["lifetime_harvested"]) == (50, 50)
    assert wallet["harvests_today"]["invite_accepted"] == {"used": 1, "daily_limit": 5}
    assert wallet["last_activity_at"] is not None


def test_platform_harvests_accumulate(api: Any, platform_user: Any, member: Any) -> None:
    # given a member who already harvested
    platform_harvest(api, platform_user, member, "invest_bonus")
    # when the platform grants two more
    second = platform_harvest(api, platform_user, member, "content_read")
    third = platform_harvest(api, platform_user, member, "content_read")
    # then each response reports the running balance and usage
    assert (second.json()["balance"], second.json()["used_today"]) == (110, 1)
    assert (third.json()["balance"], third.json()["used_today"]) == (120, 2)
    assert wallet_json(api, member)["balance"] == 120


def test_daily_limit_is_409_after_the_limit(
    api: Any, platform_user: Any, member: Any, books: Any, assert_error: Any
) -> None:
    # given a member who got the 3 daily content_read harvests
    statuses = [
        platform_harvest(api, platform_user, member, "content_read").status_code for _ in range(3)
    ]
    assert statuses == [201, 201, 201]
    before = books()
    # when the platform grants a fourth
    response = platform_harvest(api, platform_user, member, "content_read")
    # then it is refused with the limit in the data, and nothing is booked
    error = assert_error(response, 409, "daily_limit_reached")
    assert error["data"] == {"reason": "content_read", "daily_limit": 3, "used": 3}
    assert books() == before
    assert wallet_json(api, member)["balance"] == 30


def test_daily_limit_is_per_reason_and_per_member(
    api: Any, platform_user: Any, member: Any, other_member: Any
) -> None:
    # given a member at their invest_bonus limit (1 a day)
    assert platform_harvest(api, platform_user, member, "invest_bonus").status_code == 201
    assert platform_harvest(api, platform_user, member, "invest_bonus").status_code == 409
    # when they harvest another reason, and another member harvests the same reason
    other_reason = platform_harvest(api, platform_user, member, "poll_vote")
    other_member_same_reason = platform_harvest(api, platform_user, other_member, "invest_bonus")
    # then both are granted
    assert other_reason.status_code == 201
    assert other_member_same_reason.status_code == 201


def test_saka_disabled_is_503_and_books_nothing(
    api: Any,
    platform_user: Any,
    member: Any,
    fund: Any,
    settings: Any,
    books: Any,
    assert_error: Any,
) -> None:
    # given a member with grains, then SAKA switched off
    fund(member)
    settings.SAKA_ENABLED = False
    before = books()
    # when the platform grants a harvest and the member plants
    harvest = platform_harvest(api, platform_user, member, "content_read")
    plant = api(member).post(reverse("saka_api:saka-plant"), {"amount": 5}, format="json")
    # then both are refused as unavailable, and nothing is booked
    for response in (harvest, plant):
        assert_error(response, 503, "saka_disabled")
    assert books() == before


# --- staff adjustments ---------------------------------------------------------------------


def test_staff_adjustment_credits_the_member(api: Any, staff_user: Any, member: Any) -> None:
    # given a member without grains
    # when staff grants 300
    response = _adjust(api, staff_user, member, 300)
    # then the member is credited and the usage of the 24 h cap is reported
    assert response.status_code == 201
    body = response.json()
    assert (body["reason"], body["amount"], body["balance"]) == ("manual_adjust", 300, 300)
    assert (body["used_today"], body["daily_limit"]) == (300, 1000)
    assert SakaEntry.objects.get(pk=body["entry_id"]).granted_by_id == staff_user.pk
    assert wallet_json(api, member)["balance"] == 300


def test_staff_adjustment_of_501_is_invalid_amount(
    api: Any, staff_user: Any, member: Any, books: Any, assert_error: Any
) -> None:
    # given the per-grant maximum is 500
    before = books()
    # when staff grants 501, then it is refused and nothing is booked
    assert_error(_adjust(api, staff_user, member, 501), 400, "invalid_amount")
    assert books() == before
    # and 500 is fine
    assert _adjust(api, staff_user, member, 500).status_code == 201


def test_staff_adjustment_cap_over_24_hours(
    api: Any, staff_user: Any, member: Any, books: Any, assert_error: Any
) -> None:
    # given 600 granted in the last 24 hours
    assert _adjust(api, staff_user, member, 500).status_code == 201
    assert _adjust(api, staff_user, member, 100).status_code == 201
    before = books()
    # when staff grants 500 more (1100 > 1000)
    response = _adjust(api, staff_user, member, 500)
    # then it is refused with what is left, and nothing is booked
    error = assert_error(response, 409, "adjustment_cap_reached")
    assert error["data"] == {"used": 600, "remaining": 400, "cap": 1000}
    assert books() == before
    # and exactly the remaining 400 is granted, after which even 1 is refused
    assert _adjust(api, staff_user, member, 400).json()["used_today"] == 1000
    assert_error(_adjust(api, staff_user, member, 1), 409, "adjustment_cap_reached")
    assert wallet_json(api, member)["balance"] == 1000


@pytest.mark.parametrize(("hours_ago", "status"), [(23, 409), (25, 201)])
def test_staff_adjustment_cap_is_a_rolling_24_hours(
    hours_ago: int, status: int, api: Any, staff_user: Any, member: Any
) -> None:
    # given 1000 granted some hours ago
    at = timezone.now() - timedelta(hours=hours_ago)
    for _ in range(2):
        wallet_harvest(
            member_id=member.pk,
            reason="manual_adjust",
            amount=500,
            granted_by_id=staff_user.pk,
            as_of=at,
        )
    # when staff grants 1 more now
    response = _adjust(api, staff_user, member, 1)
    # then it counts against the cap only while those grants are within 24 hours
    assert response.status_code == status


# --- plant ---------------------------------------------------------------------------------------


def test_plant_spends_grains(api: Any, member: Any, fund: Any) -> None:
    # given a member with 50 grains
    fund(member)
    # when they plant 12 for a reason of theirs
    response = api(member).post(
        reverse("saka_api:saka-plant"), {"amount": 12, "reason": "tree"}, format="json"
    )
    # then the grains are spent
    assert response.status_code == 201
    body = response.json()
    assert (body["amount"], body["balance"], body["reason"]) == (12, 38, "tree")
    assert (body["project_id"], body["project_score"], body["project_supporters"]) == (
        None,
        None,
        None,
    )
    wallet = wallet_json(api, member)
    assert (wallet["balance"], wallet["lifetime_planted"]) == (38, 12)


def test_plant_accepts_a_digit_string_amount(api: Any, member: Any, fund: Any) -> None:
    # given a member with 50 grains
    fund(member)
    # when they plant "7" (a JSON string of digits, documented as accepted)
    response = api(member).post(reverse("saka_api:saka-plant"), {"amount": "7"}, format="json")
    # then 7 grains are planted
    assert response.status_code == 201
    assert response.json()["balance"] == 43


def test_plant_on_a_project_counts_like_a_boost(
    api: Any, member: Any, project: Any, fund: Any
) -> None:
    # given a member with grains
    fund(member)
    # when they plant on the project through the plant endpoint
    response = api(member).post(
        reverse("saka_api:saka-plant"), {"amount": 9, "project_id": project.pk}, format="json"
    )
    # then the project's figures move too
    assert response.status_code == 201
    assert (response.json()["project_score"], response.json()["project_supporters"]) == (9, 1)
