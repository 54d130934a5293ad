"""Throttling of the endpoints: a member's rate, the platform's own rate, and a throttled
write books nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from saka.api.common.throttling import MemberThrottle, PlatformThrottle
from tests.support.api import platform_harvest

pytestmark = pytest.mark.django_db


def test_member_endpoints_are_throttled(
    api: Any, member: Any, other_member: Any, monkeypatch: pytest.MonkeyPatch, assert_error: Any
) -> None:
    # given a member rate of 3 requests a minute
    monkeypatch.setattr(MemberThrottle, "rate", "3/min", raising=False)
    url = reverse("saka_api:saka-wallet")
    # when a member sends 4 requests
    statuses = [api(member).get(url).status_code for _ in range(3)]
    fourth = api(member).get(url)
    # then the fourth is throttled, with the wait in the data and a Retry-After header
    assert statuses == [200, 200, 200]
    error = assert_error(fourth, 429, "throttled")
    assert 0 < error["data"]["wait_seconds"] <= 60
    assert 0 < int(fourth.headers["Retry-After"]) <= 60
    # and another member is not affected
    assert api(other_member).get(url).status_code == 200


def test_a_throttled_write_books_nothing(
    api: Any,
    member: Any,
    fund: Any,
    monkeypatch: pytest.MonkeyPatch,
    books: Any,
    assert_error: Any,
) -> None:
    # given a member rate of 1 request a minute, already used
    fund(member)
    monkeypatch.setattr(MemberThrottle, "rate", "1/min", raising=False)
    url = reverse("saka_api:saka-plant")
    assert api(member).post(url, {"amount": 1}, format="json").status_code == 201
    before = books()
    # when they plant again
    response = api(member).post(url, {"amount": 1}, format="json")
    # then it is throttled and not booked
    assert_error(response, 429, "throttled")
    assert books() == before


def test_platform_endpoint_has_its_own_throttle(
    api: Any,
    platform_user: Any,
    member: Any,
    monkeypatch: pytest.MonkeyPatch,
    books: Any,
    assert_error: Any,
) -> None:
    # given a tiny member rate and a platform rate of 2 a minute
    monkeypatch.setattr(MemberThrottle, "rate", "1/min", raising=False)
    monkeypatch.setattr(PlatformThrottle, "rate", "2/min", raising=False)
    # when the platform grants 3 harvests
    first = platform_harvest(api, platform_user, member, "poll_vote")
    second = platform_harvest(api, platform_user, member, "poll_vote")
    before = books()
    third = platform_harvest(api, platform_user, member, "poll_vote")
    # then the platform's own rate applies: the third is throttled and not booked
    assert (first.status_code, second.status_code) == (201, 201)
    assert_error(third, 429, "throttled")
    assert books() == before


def test_throttle_rates_are_configured() -> None:
    # given the reference settings
    # when the throttles are built
    member, platform = MemberThrottle(), PlatformThrottle()
    # then both have a finite rate, the platform's higher than a member's
    assert member.num_requests is not None
    assert platform.num_requests is not None
    assert 0 < member.num_requests / member.duration < platform.num_requests / platform.duration
