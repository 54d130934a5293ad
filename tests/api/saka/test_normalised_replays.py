"""Idempotency compares the validated, normalised request (``100`` and ``"100"`` are one
request), and every replay answers the original status and body with
``Idempotent-Replayed: true`` (the header the payment webhook sends)."""

from __future__ import annotations

from typing import Any

import pytest

from saka.grains.models import SakaEntry
from tests.support.api import _adjust, boost_url, platform_harvest

pytestmark = pytest.mark.django_db

REPLAYED = "Idempotent-Replayed"


def test_an_adjustment_of_100_and_of_the_string_100_are_one_request(
    api: Any, staff_user: Any, member: Any
) -> None:
    # given an adjustment of 100 with a key
    first = _adjust(api, staff_user, member, 100, HTTP_IDEMPOTENCY_KEY="adj-100")
    # when the client retries it with the amount as a string
    again = _adjust(api, staff_user, member, "100", HTTP_IDEMPOTENCY_KEY="adj-100")
    # then it is the same request: a replay of the original, booked once
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert REPLAYED not in first
    assert again[REPLAYED] == "true"
    assert SakaEntry.objects.filter(member_id=member.pk).count() == 1


def test_a_plant_of_10_and_of_the_string_10_are_one_request(
    api: Any, member: Any, fund: Any
) -> None:
    fund(member)
    client = api(member)
    url = "/api/v1/me/saka/plant/"
    first = client.post(url, {"amount": 10}, format="json", HTTP_IDEMPOTENCY_KEY="p-10")
    again = client.post(url, {"amount": "10"}, format="json", HTTP_IDEMPOTENCY_KEY="p-10")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again[REPLAYED] == "true"


def test_a_harvest_replay_says_it_is_one(api: Any, platform_user: Any, member: Any) -> None:
    first = platform_harvest(api, platform_user, member, "content_read", HTTP_IDEMPOTENCY_KEY="h")
    again = platform_harvest(api, platform_user, member, "content_read", HTTP_IDEMPOTENCY_KEY="h")
    assert REPLAYED not in first
    assert (again.status_code, again[REPLAYED]) == (201, "true")
    assert again.json() == first.json()


def test_a_boost_replay_says_it_is_one(api: Any, member: Any, project: Any, fund: Any) -> None:
    fund(member)
    client = api(member)
    first = client.post(boost_url(project), {"amount": 12}, format="json", HTTP_IDEMPOTENCY_KEY="b")
    again = client.post(
        boost_url(project), {"amount": "12"}, format="json", HTTP_IDEMPOTENCY_KEY="b"
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert REPLAYED not in first
    assert again[REPLAYED] == "true"
    assert again.json() == first.json()


def test_a_request_without_a_key_is_never_a_replay(api: Any, member: Any, fund: Any) -> None:
    fund(member)
    client = api(member)
    for _ in range(2):
        response = client.post("/api/v1/me/saka/plant/", {"amount": 5}, format="json")
        assert response.status_code == 201
        assert REPLAYED not in response
