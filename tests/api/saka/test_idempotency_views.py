"""Idempotency keys on the SAKA endpoints: a replay answers the same body and books once, the
same key with another body or member is a conflict, keys are scoped to the caller, a refused
request does not burn its key."""

from __future__ import annotations

from typing import Any

import pytest

from saka.grains.models import SakaEntry
from tests.support.api import _adjust, boost_url, platform_harvest, wallet_json

pytestmark = pytest.mark.django_db


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
