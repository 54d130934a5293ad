"""The EUR panels' selectors (saka.euro.selectors.economy) on known figures: deposits and fees
per day, open pockets, campaigns' goal progress, settlements under way."""

from __future__ import annotations

from datetime import timedelta

import pytest

from saka.core.clock import now
from saka.euro.selectors import economy
from saka.euro.services.pledges import pledge_create
from saka.euro.services.pockets import pocket_close, pocket_create, pocket_transfer
from tests.support.euro import deposit, open_campaign

pytestmark = pytest.mark.django_db


def test_deposits_and_fees_are_summed_per_day(make_user, django_assert_max_num_queries):
    # given two deposits today, with fees of 30 and 0 cents
    member = make_user()
    deposit(member, 50_00, fee=30)
    deposit(member, 20_00)
    # when the daily series is read
    with django_assert_max_num_queries(3):
        rows = economy.deposits_daily(as_of=now() + timedelta(seconds=1))
    # then one day: two deposits, 70.00 EUR gross, 0.30 EUR of fees
    assert rows == [
        {
            "day": now().date().isoformat(),
            "deposits": 2,
            "gross_cents": 70_00,
            "fee_cents": 30,
        }
    ]


def test_pockets_counts_only_open_pockets_and_their_cents(funded):
    # given two members' pockets holding 12.00 and 3.00 EUR, and a closed pocket
    first, second = funded(100_00), funded(100_00)
    a = pocket_create(member_id=first.pk, name="Holidays").pocket_id
    b = pocket_create(member_id=second.pk, name="Bike").pocket_id
    closed = pocket_create(member_id=second.pk, name="Old").pocket_id
    pocket_transfer(member_id=first.pk, pocket_id=a, direction="to_pocket", amount=12_00)
    pocket_transfer(member_id=second.pk, pocket_id=b, direction="to_pocket", amount=3_00)
    pocket_close(member_id=second.pk, pocket_id=closed)
    # when the pockets panel is read
    found = economy.pockets_overview()
    # then the two open pockets, of two members, 15.00 EUR
    assert found == {"pockets": 2, "members": 2, "cents": 15_00, "amount": "15.00"}


def test_campaigns_show_raised_over_goal(project, funded):
    # given an open campaign of 100.00 EUR with 25.00 EUR pledged
    campaign = open_campaign(project, goal=100_00)
    member = funded(50_00)
    pledge_create(member_id=member.pk, project_id=project.pk, amount=25_00)
    # when the campaigns panel is read
    (found,) = economy.campaigns_progress()
    # then 25 % of the goal (2,500 basis points)
    assert (found["id"], found["goal_cents"], found["raised_cents"]) == (campaign.pk, 100_00, 25_00)
    assert found["progress_bp"] == 2_500
    assert found["title"] == project.title


def test_no_settlement_under_way_is_an_empty_list():
    assert economy.settlements_unfinished() == []
