"""Smoke test: three harvests of a 3-a-day reason, then the limit (at a fixed instant, so the
day cannot turn between them)."""

import pytest

from saka.grains import services
from saka.grains.errors import DailyLimitReached
from saka.grains.selectors import wallet_summary
from tests.support.clock import T0

pytestmark = pytest.mark.django_db


def test_harvest_then_limit(member):
    # given three harvests of a 3/day reason
    for _ in range(3):
        services.wallet_harvest(member_id=member.pk, reason="content_read", as_of=T0)
    # when a fourth comes
    with pytest.raises(DailyLimitReached):
        services.wallet_harvest(member_id=member.pk, reason="content_read", as_of=T0)
    # then exactly three were booked
    assert wallet_summary(member_id=member.pk).balance == 30
