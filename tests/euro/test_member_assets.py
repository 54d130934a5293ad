"""The EUR side of the member's assets overview (``saka.euro.selectors.member_assets_eur``):
available, held, pockets, donations held and released per project, equity behind its flag,
zeros for a member without a wallet, and a query count that does not grow with the books."""

from __future__ import annotations

from typing import Any

import pytest

from saka.euro.selectors import (
    MemberEuroAssets,
    PledgeTotals,
    ProjectPledgeTotals,
    euro_public_settings,
    member_assets_eur,
    pocket_list,
    wallet_summary,
)
from saka.euro.services.pledges import pledge_create
from saka.euro.services.pockets import pocket_create
from tests.support.assets import euro_scenario
from tests.support.euro import deposit, open_campaign

pytestmark = pytest.mark.django_db


def test_the_assets_of_a_member_with_every_kind_of_pledge(make_user: Any) -> None:
    # given the scenario: a pocket, pledges held, cancelled, released and refunded
    world = euro_scenario(make_user)
    # when the member's EUR assets are read
    assets = member_assets_eur(member_id=world.member.pk)
    # then each figure is what the services booked
    assert assets == MemberEuroAssets(
        member_id=world.member.pk,
        available=800_00,
        held=50_00,
        pockets_total=100_00,
        pockets=pocket_list(member_id=world.member.pk),
        donations=PledgeTotals(
            held=50_00,
            released=50_00,
            projects=[
                ProjectPledgeTotals(world.garden.pk, "Community garden", 50_00, 0),
                ProjectPledgeTotals(world.school.pk, "School roof", 0, 50_00),
            ],
        ),
        equity=None,
    )
    assert [(p.id, p.balance) for p in assets.pockets] == [(world.pocket_id, 100_00)]
    assert assets.total == 950_00
    # and the overview agrees with the wallet's own summary
    wallet = wallet_summary(member_id=world.member.pk)
    assert (assets.available, assets.held, assets.total) == (
        wallet.available,
        wallet.held,
        wallet.total,
    )


def test_the_other_member_sees_only_their_own(make_user: Any) -> None:
    # given the scenario's other member (70.00 released to the school, 10.00 held)
    world = euro_scenario(make_user)
    # when their assets are read
    assets = member_assets_eur(member_id=world.other.pk)
    # then none of the member's money is in them
    assert (assets.available, assets.held, assets.pockets) == (420_00, 10_00, [])
    assert assets.donations.projects == [
        ProjectPledgeTotals(world.garden.pk, "Community garden", 10_00, 0),
        ProjectPledgeTotals(world.school.pk, "School roof", 0, 70_00),
    ]


def test_equity_positions_are_shown_only_while_equity_pledges_are_on(
    make_user: Any, settings: Any
) -> None:
    # given equity pledges on and the member's equity pledge of 40.00 to the garden
    settings.SAKA_EQUITY_PLEDGES_ENABLED = True
    world = euro_scenario(make_user, equity=True)
    # when the assets are read with the flag on, then off
    on = member_assets_eur(member_id=world.member.pk)
    settings.SAKA_EQUITY_PLEDGES_ENABLED = False
    off = member_assets_eur(member_id=world.member.pk)
    # then equity is its own total, never counted as a donation; hidden once the flag is off
    assert on.equity == PledgeTotals(
        held=40_00,
        released=0,
        projects=[ProjectPledgeTotals(world.garden.pk, "Community garden", 40_00, 0)],
    )
    assert on.donations.held == off.donations.held == 50_00
    assert off.equity is None
    # and the escrow held counts every kind, as the wallet's own summary does
    assert on.held == off.held == 90_00
    assert on.available == 760_00


def test_a_member_without_a_wallet_gets_zeros(member: Any) -> None:
    # given a member who never deposited
    # when their assets are read
    assets = member_assets_eur(member_id=member.pk)
    # then everything is zero and nothing was created
    empty = PledgeTotals(held=0, released=0, projects=[])
    assert assets == MemberEuroAssets(member.pk, 0, 0, 0, [], empty, None)


@pytest.mark.parametrize("n", [1, 12])
def test_the_query_count_does_not_grow_with_pockets_or_pledges(
    n: int, make_user: Any, django_assert_max_num_queries: Any, settings: Any
) -> None:
    from saka.projects.services import project_create

    # given n pockets and n pledges to each of n projects (equity on: the widest answer)
    settings.SAKA_EQUITY_PLEDGES_ENABLED = True
    rich, owner = make_user(), make_user()
    deposit(rich, 10_000_00)
    for i in range(n):
        pocket_create(member_id=rich.pk, name=f"P{i}", percentage="1")
        project = project_create(owner_id=owner.pk, title=f"Project {i}")
        open_campaign(project)
        for _ in range(n):
            pledge_create(member_id=rich.pk, project_id=project.pk, amount=1_00)
    # when the assets are read
    with django_assert_max_num_queries(3):
        assets = member_assets_eur(member_id=rich.pk)
    # then it took three queries (wallet, pockets, grouped pledges) whatever n
    assert (len(assets.pockets), len(assets.donations.projects)) == (n, n)
    assert assets.held == n * n * 1_00


def test_the_public_settings(settings: Any) -> None:
    from decimal import Decimal

    # given a commission of 2.5 % and equity pledges on
    settings.SAKA_PLATFORM_COMMISSION_RATE = "0.025"
    settings.SAKA_EQUITY_PLEDGES_ENABLED = True
    # when the public EUR settings are read
    public = euro_public_settings()
    # then they say so, exactly
    assert (public.currency, public.commission_rate, public.equity_pledges) == (
        "EUR",
        Decimal("0.025"),
        True,
    )
