"""The overview endpoints: ``GET me/assets/`` (the member's own EUR and SAKA assets, money as
strings with two places, grains as integers; members only; bounded queries) and
``GET config/`` (public, cacheable, the features and parameters the settings say)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from saka.grains.services import wallet_harvest
from tests.support.assets import euro_scenario, saka_scenario
from tests.support.euro_api import V1, AssertError

pytestmark = pytest.mark.django_db

ASSETS = f"{V1}/me/assets/"
CONFIG = f"{V1}/config/"


# --- GET me/assets/ -----------------------------------------------------------------------------


def test_the_member_reads_their_assets_in_both_currencies(api: Any, make_user: Any) -> None:
    # given the EUR scenario (pocket, held, released, refunded pledges) and the SAKA one
    world = euro_scenario(make_user)
    saka_scenario(world.member, world.garden)
    # when the member reads their assets
    response = api(world.member).get(ASSETS)
    # then EUR amounts are strings with two places, grains integers
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["member_id"] == world.member.pk
    assert body["euro"] == {
        "available": "800.00",
        "held": "50.00",
        "pockets_total": "100.00",
        "total": "950.00",
        "pockets": [
            {"id": world.pocket_id, "name": "Rent", "percentage": "10.00", "balance": "100.00"}
        ],
        "donations": {
            "held": "50.00",
            "released": "50.00",
            "projects": [
                {
                    "project_id": world.garden.pk,
                    "title": "Community garden",
                    "held": "50.00",
                    "released": "0.00",
                },
                {
                    "project_id": world.school.pk,
                    "title": "School roof",
                    "held": "0.00",
                    "released": "50.00",
                },
            ],
        },
        "equity": None,
    }
    saka = body["saka"]
    assert {k: v for k, v in saka.items() if k != "next_compost"} == {
        "balance": 126,
        "lifetime_harvested": 150,
        "lifetime_planted": 10,
        "lifetime_composted": 14,
        "lifetime_redistributed": 0,
    }
    # and the next compost: composted at A (March 2026), idle ever since, so eligible now
    forecast = saka["next_compost"]
    assert (forecast["eligible"], forecast["amount"], forecast["reason"]) == (True, 12, "")
    assert forecast["days_until_eligible"] == 0


def test_equity_positions_appear_when_equity_pledges_are_on(
    api: Any, make_user: Any, settings: Any
) -> None:
    # given equity pledges on and the member's equity pledge of 40.00
    settings.SAKA_EQUITY_PLEDGES_ENABLED = True
    world = euro_scenario(make_user, equity=True)
    # when the member reads their assets
    euro = api(world.member).get(ASSETS).json()["euro"]
    # then the equity is shown apart from the donations
    assert euro["equity"] == {
        "held": "40.00",
        "released": "0.00",
        "projects": [
            {
                "project_id": world.garden.pk,
                "title": "Community garden",
                "held": "40.00",
                "released": "0.00",
            }
        ],
    }
    assert (euro["held"], euro["donations"]["held"]) == ("90.00", "50.00")


def test_members_see_only_their_own_assets(api: Any, make_user: Any) -> None:
    # given two members with EUR and SAKA
    world = euro_scenario(make_user)
    for _ in range(2):
        wallet_harvest(member_id=world.other.pk, reason="content_read")
    # when the other member reads their assets, trying to ask for the member's
    mine = api(world.other).get(ASSETS, {"member_id": world.member.pk})
    # then they get theirs only
    body = mine.json()
    assert body["member_id"] == world.other.pk
    assert (body["euro"]["available"], body["euro"]["held"], body["euro"]["pockets"]) == (
        "420.00",
        "10.00",
        [],
    )
    assert [p["released"] for p in body["euro"]["donations"]["projects"]] == ["0.00", "70.00"]
    assert (body["saka"]["balance"], body["saka"]["lifetime_harvested"]) == (20, 20)


def test_a_member_without_wallets_gets_zeros(api: Any, member: Any) -> None:
    # given a member who never used either currency
    # when they read their assets
    body = api(member).get(ASSETS).json()
    # then every figure is zero, not a 404
    assert body["euro"]["total"] == body["euro"]["available"] == "0.00"
    assert body["euro"]["donations"] == {"held": "0.00", "released": "0.00", "projects": []}
    assert (body["saka"]["balance"], body["saka"]["next_compost"]["eligible"]) == (0, False)


def test_saka_is_null_while_saka_is_off(api: Any, member: Any, settings: Any) -> None:
    # given SAKA switched off
    settings.SAKA_ENABLED = False
    # when the member reads their assets
    body = api(member).get(ASSETS).json()
    # then the SAKA part is null, the EUR part still there
    assert body["saka"] is None
    assert body["euro"]["available"] == "0.00"


def test_anonymous_callers_are_refused(api: Any, assert_error: AssertError) -> None:
    # given no credential
    # when the assets are asked for
    response = api(None).get(ASSETS)
    # then 401, with the scheme to use
    assert_error(response, 401, "not_authenticated")
    assert response.headers["WWW-Authenticate"] == "Token"


def test_the_assets_cost_the_same_queries_whatever_the_books(
    api: Any, make_user: Any, django_assert_max_num_queries: Any
) -> None:
    # given the scenario's member (pockets, pledges to three projects, SAKA)
    world = euro_scenario(make_user)
    saka_scenario(world.member, world.garden)
    # when they read their assets
    # then it costs the throttle-free reads: EUR 3, SAKA 2 (the wallet, the parameters in
    # force for the next compost; authentication is forced here)
    with django_assert_max_num_queries(5):
        assert api(world.member).get(ASSETS).status_code == 200


# --- GET config/ --------------------------------------------------------------------------------


def test_the_configuration_is_public_and_cacheable(django_assert_num_queries: Any) -> None:
    # given an anonymous client
    client = APIClient()
    # when it reads the configuration
    with django_assert_num_queries(0):
        response = client.get(CONFIG)
    # then it gets the features and parameters of the reference settings, cacheable a minute
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert response.json() == {
        "features": {
            "saka": True,
            "boosts": True,
            "polls": True,
            "poll_saka_voting": True,
            "compost": True,
            "redistribution": True,
            "equity": False,
        },
        "parameters": {
            "commission_rate": "0.05",
            "boost_cost": 10,
            "vote_cost_per_intensity": 5,
            "currencies": {
                "euro": {"code": "EUR", "decimal_places": 2},
                "saka": {"code": "SAKA", "decimal_places": 0},
            },
        },
    }


def test_a_wrong_credential_does_not_stop_the_configuration(member: Any) -> None:
    # given a client with a token nobody has
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    # when it reads the configuration
    response = client.get(CONFIG)
    # then no credential is read: 200 (and never a user's data)
    assert response.status_code == 200
    assert set(response.json()) == {"features", "parameters"}


def test_the_configuration_follows_the_settings(api: Any, settings: Any) -> None:
    # given SAKA off, equity pledges on, a 2.5 % commission, a boost cost of 25, a vote cost
    # of 7 per intensity point
    settings.SAKA_ENABLED = False
    settings.SAKA_VOTE_COST_PER_INTENSITY = 7
    settings.SAKA_EQUITY_PLEDGES_ENABLED = True
    settings.SAKA_PLATFORM_COMMISSION_RATE = "0.0250"
    settings.SAKA_BOOST_COST = 25
    # when the configuration is read
    body = api(None).get(CONFIG).json()
    # then it says so (the rate without trailing zeros)
    assert body["features"] == {
        "saka": False,
        "boosts": False,
        "polls": True,
        "poll_saka_voting": False,
        "compost": False,
        "redistribution": False,
        "equity": True,
    }
    parameters = body["parameters"]
    assert (
        parameters["commission_rate"],
        parameters["boost_cost"],
        parameters["vote_cost_per_intensity"],
    ) == ("0.025", 25, 7)


def test_saka_voting_off_is_told_while_saka_stays_on(api: Any, settings: Any) -> None:
    # given SAKA on but votes that may not spend grains
    settings.SAKA_POLLS_SAKA_VOTING = False
    # when the configuration is read
    features = api(None).get(CONFIG).json()["features"]
    # then polls are on, SAKA-boosted voting is off
    assert (features["saka"], features["polls"], features["poll_saka_voting"]) == (
        True,
        True,
        False,
    )


@pytest.mark.parametrize("rate", ["0", "0.1", "0.05", "0.999999", "0.000001"])
def test_the_commission_rate_matches_its_documented_pattern(
    rate: str, api: Any, settings: Any
) -> None:
    import re

    from saka.api.overview.serializers import RATE_OUT_PATTERN

    settings.SAKA_PLATFORM_COMMISSION_RATE = rate
    shown = api(None).get(CONFIG).json()["parameters"]["commission_rate"]
    assert shown == rate
    assert re.fullmatch(RATE_OUT_PATTERN, shown)


def test_writes_to_the_configuration_are_405(api: Any, assert_error: AssertError) -> None:
    assert_error(api(None).post(CONFIG, {}, format="json"), 405, "method_not_allowed")
