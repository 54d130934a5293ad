"""What the SAKA endpoints do when they are used right: harvests, adjustments, plants,
idempotency, the history and its pagination, and the number of queries each request costs.

Boosts and the project list are tested in ``tests/api/projects``, throttling in
``tests/api/common``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse
from django.utils import timezone

from saka.api.common.pagination import NewestFirst as HistoryPagination
from saka.grains.models import EntryKind, SakaEntry
from saka.grains.services import wallet_harvest, wallet_plant
from tests.support.api import boost_url, platform_harvest, wallet_json

pytestmark = pytest.mark.django_db

ADJUST_URL = "saka_api:staff-adjustment"


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


def _adjust(api: Any, staff_user: Any, member: Any, amount: Any, **extra: Any) -> Any:
    return api(staff_user).post(
        reverse(ADJUST_URL), {"member_id": member.pk, "amount": amount}, format="json", **extra
    )


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


# --- idempotency ---------------------------------------------------------------------------


def test_harvest_replay_returns_the_same_body_and_books_once(
    api: Any, platform_user: Any, member: Any
) -> None:
    # given a harvest sent with an idempotency key
    first = platform_harvest(api, platform_user, member, "content_read", HTTP_IDEMPOTENCY_KEY="h-1")
    # when it is sent again with the same key and body
    again = platform_harvest(api, platform_user, member, "content_read", HTTP_IDEMPOTENCY_KEY="h-1")
    # then the same result is returned and only one harvest is booked
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert SakaEntry.objects.filter(member_id=member.pk).count() == 1
    assert wallet_json(api, member)["balance"] == 10


def test_harvest_replay_still_answers_after_the_limit_is_reached(
    api: Any, platform_user: Any, member: Any
) -> None:
    # given the member's only invest_bonus of the day, granted with a key
    first = platform_harvest(
        api, platform_user, member, "invest_bonus", HTTP_IDEMPOTENCY_KEY="bonus-1"
    )
    # when the platform retries it (the limit is now reached)
    again = platform_harvest(
        api, platform_user, member, "invest_bonus", HTTP_IDEMPOTENCY_KEY="bonus-1"
    )
    # then the retry gets the original result, not a limit error
    assert again.status_code == 201
    assert again.json() == first.json()
    assert wallet_json(api, member)["balance"] == 100


def test_boost_replay_returns_the_same_body_and_books_once(
    api: Any, member: Any, project: Any, fund: Any, books: Any
) -> None:
    # given a boost sent with an idempotency key
    fund(member)
    first = api(member).post(
        boost_url(project), {"amount": 12}, format="json", HTTP_IDEMPOTENCY_KEY="b-1"
    )
    after_first = books()
    # when the client retries it
    again = api(member).post(
        boost_url(project), {"amount": 12}, format="json", HTTP_IDEMPOTENCY_KEY="b-1"
    )
    # then it gets the same body and nothing more is booked
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert books() == after_first
    assert after_first.projects[project.pk] == (12, 1)
    assert wallet_json(api, member)["balance"] == 38


def test_staff_adjustment_replay_books_once(api: Any, staff_user: Any, member: Any) -> None:
    # given an adjustment sent with a key
    first = _adjust(api, staff_user, member, 400, HTTP_IDEMPOTENCY_KEY="adj-1")
    # when it is retried
    again = _adjust(api, staff_user, member, 400, HTTP_IDEMPOTENCY_KEY="adj-1")
    # then one grant is booked and only 400 of the cap is used
    assert again.json() == first.json()
    assert _adjust(api, staff_user, member, 500).json()["used_today"] == 900


@pytest.mark.parametrize(
    ("first_body", "second_body"),
    [({"amount": 12}, {"amount": 13}), ({}, {"amount": 11})],
)
def test_same_key_different_body_is_idempotency_conflict(
    first_body: dict[str, Any],
    second_body: dict[str, Any],
    api: Any,
    member: Any,
    project: Any,
    fund: Any,
    books: Any,
    assert_error: Any,
) -> None:
    # given a boost done with a key
    fund(member)
    first = api(member).post(
        boost_url(project), first_body, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert first.status_code == 201
    before = books()
    # when the key is reused for another amount
    again = api(member).post(
        boost_url(project), second_body, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    # then it is a conflict naming the key, and nothing is booked
    error = assert_error(again, 409, "idempotency_conflict")
    assert error["data"] == {"key": "k"}
    assert books() == before


def test_harvest_same_key_for_another_member_is_idempotency_conflict(
    api: Any, platform_user: Any, member: Any, other_member: Any, books: Any, assert_error: Any
) -> None:
    # given the platform used a key for one member
    platform_harvest(api, platform_user, member, "poll_vote", HTTP_IDEMPOTENCY_KEY="pv")
    before = books()
    # when it reuses the key for another member
    response = platform_harvest(
        api, platform_user, other_member, "poll_vote", HTTP_IDEMPOTENCY_KEY="pv"
    )
    # then it is a conflict and the other member gets nothing
    assert_error(response, 409, "idempotency_conflict")
    assert books() == before


def test_idempotency_keys_are_scoped_to_the_caller(
    api: Any, member: Any, other_member: Any, project: Any, fund: Any
) -> None:
    # given two members with grains
    fund(member)
    fund(other_member)
    # when both boost with the same key
    a = api(member).post(boost_url(project), {}, format="json", HTTP_IDEMPOTENCY_KEY="same")
    b = api(other_member).post(boost_url(project), {}, format="json", HTTP_IDEMPOTENCY_KEY="same")
    # then both are booked: a key belongs to its caller
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["entry_id"] != b.json()["entry_id"]
    assert b.json()["project_score"] == 20


def test_a_refused_request_does_not_burn_its_key(
    api: Any, member: Any, project: Any, fund: Any
) -> None:
    # given a boost refused for lack of grains, sent with a key
    refused = api(member).post(boost_url(project), {}, format="json", HTTP_IDEMPOTENCY_KEY="r")
    assert refused.status_code == 409
    # when the member gets grains and retries with the same key
    fund(member)
    retried = api(member).post(boost_url(project), {}, format="json", HTTP_IDEMPOTENCY_KEY="r")
    # then it is booked now
    assert retried.status_code == 201
    assert retried.json()["balance"] == 40


# --- history -------------------------------------------------------------------------------


@pytest.fixture
def seven_postings(member: Any) -> list[int]:
    """5 harvests then 2 plants for ``member``; returns the entry ids, oldest first."""
    entries = [wallet_harvest(member_id=member.pk, reason="poll_vote").entry_id for _ in range(5)]
    entries += [wallet_plant(member_id=member.pk, amount=2).entry_id for _ in range(2)]
    return entries


def _page(api: Any, user: Any, url: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    response = api(user).get(url, params or {})
    assert response.status_code == 200, response.content[:300]
    return response.json()


def test_history_is_newest_first_with_signed_amounts(
    api: Any, member: Any, seven_postings: list[int]
) -> None:
    # given 5 harvests then 2 plants
    # when the member reads their history
    page = _page(api, member, reverse("saka_api:saka-history"))
    # then it lists them newest first with signed amounts and their kinds
    results = page["results"]
    assert [r["entry_id"] for r in results] == seven_postings[::-1]
    assert [r["amount"] for r in results] == [-2, -2, 5, 5, 5, 5, 5]
    assert [r["kind"] for r in results] == ["plant"] * 2 + ["harvest"] * 5
    assert results[-1]["reason"] == "poll_vote"
    assert page["next"] is None
    assert set(results[0]) == {
        "id",
        "entry_id",
        "kind",
        "reason",
        "amount",
        "created_at",
        "project_id",
    }


def test_history_cursor_pagination(api: Any, member: Any, seven_postings: list[int]) -> None:
    # given 7 postings
    url = reverse("saka_api:saka-history")
    # when the member walks the history 3 at a time by following the next links
    pages, next_url = [], url + "?page_size=3"
    while next_url:
        page = _page(api, member, next_url)
        pages.append([r["entry_id"] for r in page["results"]])
        next_url = page["next"]
        if next_url:
            assert parse_qs(urlparse(next_url).query)["page_size"] == ["3"]
    # then pages of 3, 3, 1 cover every posting once, newest first
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [e for p in pages for e in p] == seven_postings[::-1]


def test_history_cursor_is_stable_while_new_postings_arrive(
    api: Any, member: Any, seven_postings: list[int]
) -> None:
    # given the member read the first page
    first = _page(api, member, reverse("saka_api:saka-history"), {"page_size": 3})
    # when a new harvest is booked before they read the next page
    new_entry = wallet_harvest(member_id=member.pk, reason="content_read").entry_id
    second = _page(api, member, first["next"])
    # then the next page continues where the first ended: no duplicate, no gap
    assert [r["entry_id"] for r in second["results"]] == seven_postings[::-1][3:6]
    # and the new posting shows on a fresh first page
    fresh = _page(api, member, reverse("saka_api:saka-history"), {"page_size": 3})
    assert fresh["results"][0]["entry_id"] == new_entry


@pytest.mark.parametrize(("kind", "count"), [("harvest", 5), ("plant", 2), ("compost", 0)])
def test_history_filter_by_kind(
    kind: str, count: int, api: Any, member: Any, seven_postings: list[int]
) -> None:
    # given 5 harvests and 2 plants
    # when the member filters by kind
    page = _page(api, member, reverse("saka_api:saka-history"), {"kind": kind})
    # then only that kind is listed
    assert len(page["results"]) == count
    assert {r["kind"] for r in page["results"]} <= {kind}


def test_history_filter_survives_pagination(
    api: Any, member: Any, seven_postings: list[int]
) -> None:
    # given 5 harvests and 2 plants
    # when the member pages through harvests only, 2 at a time
    page = _page(api, member, reverse("saka_api:saka-history"), {"kind": "harvest", "page_size": 2})
    second = _page(api, member, page["next"])
    # then the next link keeps the filter
    assert {r["kind"] for r in page["results"] + second["results"]} == {"harvest"}
    assert [r["entry_id"] for r in page["results"] + second["results"]] == seven_postings[4::-1][:4]


def test_history_page_size_is_capped(
    api: Any, member: Any, seven_postings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the cap on the page size (200), lowered to 4 so 7 postings can exceed it
    assert HistoryPagination.max_page_size == 200
    monkeypatch.setattr(HistoryPagination, "max_page_size", 4)
    # when the member asks for pages of 5 and of a million
    five = _page(api, member, reverse("saka_api:saka-history"), {"page_size": 5})
    huge = _page(api, member, reverse("saka_api:saka-history"), {"page_size": 10**6})
    # then both are capped
    assert len(five["results"]) == len(huge["results"]) == 4
    assert five["next"] is not None


@pytest.mark.parametrize("page_size", ["lots", "0", "-3", ""])
def test_history_page_size_that_is_not_a_positive_number_uses_the_default(
    page_size: str,
    api: Any,
    member: Any,
    seven_postings: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a default page size of 2
    monkeypatch.setattr(HistoryPagination, "page_size", 2)
    # when the member sends a page size that is not a positive number
    page = _page(api, member, reverse("saka_api:saka-history"), {"page_size": page_size})
    # then the default applies
    assert len(page["results"]) == 2


# --- query counts --------------------------------------------------------------------------


def test_wallet_query_count(
    api: Any, member: Any, fund: Any, django_assert_max_num_queries: Any
) -> None:
    # given a member with a wallet and harvests today
    fund(member, times=3)
    client = api(member)
    # when they read their wallet, then it costs at most 2 queries (wallet + today's usage)
    with django_assert_max_num_queries(2):
        response = client.get(reverse("saka_api:saka-wallet"))
    assert response.status_code == 200


@pytest.mark.parametrize("page_size", [1, 50])
def test_history_query_count_does_not_grow_with_the_page(
    page_size: int, api: Any, member: Any, django_assert_max_num_queries: Any
) -> None:
    # given a member with 15 postings
    for reason, times in (("poll_vote", 10), ("invite_accepted", 5)):
        for _ in range(times):
            wallet_harvest(member_id=member.pk, reason=reason)
    client = api(member)
    # when they read a page of their history, then it is three queries whatever its size (the
    # wallet's id, the live runs' ids, the page: see selectors.wallet_history)
    with django_assert_max_num_queries(3):
        response = client.get(reverse("saka_api:saka-history"), {"page_size": page_size})
    assert len(response.json()["results"]) == min(page_size, 15)
