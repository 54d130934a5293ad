"""Operator accounts (staff, service accounts) are not members through the API either
(``saka.core.members``): 409 ``not_a_member``, nothing booked, no wallet."""

from __future__ import annotations

from typing import Any

import pytest

from saka.grains.models import SakaAccount
from tests.support.api import _adjust, boost_url

pytestmark = pytest.mark.django_db


def test_the_platform_cannot_harvest_for_itself(
    api: Any, platform_user: Any, assert_error: Any
) -> None:
    response = api(platform_user).post(
        "/api/v1/platform/saka/harvests/",
        {"member_id": platform_user.pk, "reason": "content_read"},
        format="json",
    )
    assert_error(response, 409, "not_a_member")
    assert not SakaAccount.objects.filter(member_id=platform_user.pk).exists()


def test_staff_cannot_adjust_another_operator(
    api: Any, staff_user: Any, platform_user: Any, assert_error: Any, books: Any
) -> None:
    before = books()
    assert_error(_adjust(api, staff_user, platform_user, 10), 409, "not_a_member")
    assert books() == before


@pytest.mark.parametrize("who", ["staff_user", "platform_user"])
def test_an_operator_cannot_plant_or_boost(
    who: str, request: pytest.FixtureRequest, api: Any, project: Any, assert_error: Any
) -> None:
    client = api(request.getfixturevalue(who))
    assert_error(
        client.post("/api/v1/me/saka/plant/", {"amount": 1}, format="json"), 409, "not_a_member"
    )
    assert_error(client.post(boost_url(project), {}, format="json"), 409, "not_a_member")
