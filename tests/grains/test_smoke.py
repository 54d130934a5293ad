import pytest

from saka.grains import services
from saka.grains.errors import DailyLimitReached
from saka.grains.selectors import wallet_summary

pytestmark = pytest.mark.django_db


def test_harvest_then_limit(member):
    # given three harvests of a 3/day reason
    for _ in range(3):
        services.wallet_harvest(member_id=member.pk, reason="content_read")
    # when a fourth comes
    with pytest.raises(DailyLimitReached):
        services.wallet_harvest(member_id=member.pk, reason="content_read")
    # then exactly three were booked
    assert wallet_summary(member_id=member.pk).balance == 30
