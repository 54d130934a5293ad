"""The SAKA side of the member's assets overview (``saka.grains.selectors.member_assets_saka``):
the wallet's counters after harvests, a boost and a compost run, the next compost as the
preview says it, zeros for a member without a wallet, nothing while SAKA is off; one query."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from saka.grains.selectors import (
    MemberSakaAssets,
    compost_preview,
    member_assets_saka,
    saka_public_settings,
)
from tests.support.assets import saka_scenario
from tests.support.clock import A

pytestmark = pytest.mark.django_db


def test_the_counters_and_the_next_compost_after_harvest_plant_and_compost(
    member: Any, project: Any, django_assert_max_num_queries: Any
) -> None:
    # given 150 harvested, 10 planted, 14 composted at A
    saka_scenario(member, project)
    at = A + timedelta(days=30)
    # when the member's SAKA assets are read 30 days after the compost (the wallet, and the
    # parameters in force for the next compost)
    with django_assert_max_num_queries(2):
        assets = member_assets_saka(member_id=member.pk, as_of=at)
    # then the counters are the wallet's, and the next compost is the preview's
    assert assets == MemberSakaAssets(
        member_id=member.pk,
        balance=126,
        lifetime_harvested=150,
        lifetime_planted=10,
        lifetime_composted=14,
        lifetime_redistributed=0,
        next_compost=compost_preview(member_id=member.pk, as_of=at),
    )
    forecast = assets.next_compost
    assert (forecast.eligible, forecast.amount, forecast.amount_if_idle) == (False, 0, 12)
    assert (forecast.eligible_at, forecast.days_until_eligible) == (A + timedelta(90), 60)


def test_a_member_without_a_wallet_gets_zeros(member: Any) -> None:
    # given a member who never used SAKA
    # when their SAKA assets are read
    assets = member_assets_saka(member_id=member.pk, as_of=A)
    # then every figure is zero and nothing would compost
    assert assets is not None
    assert (assets.balance, assets.lifetime_harvested, assets.lifetime_composted) == (0, 0, 0)
    assert (assets.next_compost.eligible, assets.next_compost.amount) == (False, 0)
    assert assets.next_compost.reason == "balance_below_minimum"


def test_nothing_while_saka_is_off(member: Any, project: Any, settings: Any) -> None:
    # given a member with grains, then SAKA switched off
    saka_scenario(member, project)
    settings.SAKA_ENABLED = False
    # when their SAKA assets are read
    # then there are none to show, and every SAKA feature is off
    assert member_assets_saka(member_id=member.pk) is None
    public = saka_public_settings()
    assert (public.enabled, public.boosts, public.compost, public.redistribution) == (
        False,
        False,
        False,
        False,
    )


def test_the_public_settings_follow_saka_enabled(settings: Any) -> None:
    # given SAKA on and a boost cost of 25
    settings.SAKA_BOOST_COST = 25
    # when the public SAKA settings are read
    public = saka_public_settings()
    # then every feature is on, and the cost is the setting's
    assert (public.enabled, public.boosts, public.compost, public.redistribution) == (
        True,
        True,
        True,
        True,
    )
    assert (public.currency, public.boost_cost) == ("SAKA", 25)
