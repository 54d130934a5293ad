"""The staff endpoints of the silo and the statistics, and the member's compost preview."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from saka.grains.runs.compost import compost_run_start
from saka.grains.services import wallet_plant
from tests.support.run_api import PREVIEW, SILO, STATS
from tests.support.run_scenarios import active, idle

pytestmark = pytest.mark.django_db


# --- silo and statistics --------------------------------------------------------------------


def test_silo_after_a_compost(
    member: Any, staff_user: Any, api: Callable[[Any], Any], at: Any
) -> None:
    idle(member, 2, at)
    run = compost_run_start(as_of=at)
    body = api(staff_user).get(SILO).json()
    assert body == {
        "balance": 10,
        "in_transit": 0,
        "lifetime_composted": 10,
        "lifetime_redistributed": 0,
        "last_compost_run_id": run.pk,
        "last_redistribution_run_id": None,
    }


def test_stats_shape_and_figures(
    member: Any,
    other_member: Any,
    staff_user: Any,
    project: Any,
    api: Callable[[Any], Any],
    at: Any,
) -> None:
    # given two wallets, a boost and a compost
    idle(member, 2, at)
    active(other_member, at)
    wallet_plant(member_id=other_member.pk, amount=20, project_id=project.pk)
    compost_run_start(as_of=at)
    # when staff asks for the statistics
    body = api(staff_user).get(STATS, {"days": "200", "top": "1"}).json()
    # then the figures add up
    assert set(body) == {
        "wallets",
        "members_with_saka",
        "total_balance",
        "total_harvested",
        "total_planted",
        "total_composted",
        "total_redistributed",
        "average_balance",
        "silo",
        "daily",
        "top_members",
        "top_projects",
    }
    assert (body["wallets"], body["members_with_saka"]) == (2, 2)
    assert (body["total_balance"], body["total_harvested"]) == (90 + 30, 150)
    assert (body["total_planted"], body["total_composted"]) == (20, 10)
    assert body["average_balance"] == "60.00"
    assert body["silo"]["balance"] == 10
    # the top is limited to ``top`` and ordered by balance
    assert body["top_members"] == [
        {"member_id": member.pk, "username": member.username, "balance": 90}
    ]
    assert body["top_projects"] == [
        {"id": project.pk, "title": project.title, "saka_score": 20, "saka_supporters": 1}
    ]
    # the daily series covers the harvests 120 days ago and today's compost and plant
    days = {d["day"]: d for d in body["daily"]}
    assert days[(at - timedelta(days=120)).date().isoformat()]["harvest"] == 100
    assert days[at.date().isoformat()]["compost"] == 10
    assert sum(d.get("plant", 0) for d in body["daily"]) == 20


def test_stats_defaults(staff_user: Any, api: Callable[[Any], Any]) -> None:
    body = api(staff_user).get(STATS).json()
    assert (body["wallets"], body["average_balance"], body["daily"]) == (0, "0.00", [])


# --- compost preview ---------------------------------------------------------------------------


def test_preview_of_an_idle_wallet(member: Any, api: Callable[[Any], Any], at: Any) -> None:
    idle(member, 2, at)
    body = api(member).get(PREVIEW).json()
    eligible_at = parse_datetime(body.pop("eligible_at"))
    assert body == {
        "member_id": member.pk,
        "balance": 100,
        "eligible": True,
        "amount": 10,
        "amount_if_idle": 10,
        "days_until_eligible": 0,
        "reason": "",
    }
    assert eligible_at is not None
    assert at <= eligible_at <= timezone.now()  # now


def test_preview_of_an_active_wallet_says_what_and_when(
    member: Any, api: Callable[[Any], Any], at: Any
) -> None:
    # given a wallet that acted yesterday (a harvest): 89 more days to wait
    idle(member, 2, at)
    active(member, at)
    body = api(member).get(PREVIEW).json()
    # then nothing composts now (amount 0, it said 15 before), 15 grains will once idle, from
    # the instant 90 days after yesterday's harvest
    assert (body["balance"], body["eligible"], body["amount"]) == (150, False, 0)
    assert body["amount_if_idle"] == 15
    assert parse_datetime(body["eligible_at"]) == at - timedelta(days=1) + timedelta(days=90)
    assert (body["days_until_eligible"], body["reason"]) == (89, "recently_active")


def test_preview_of_a_wallet_too_small_to_compost_has_no_date(
    member: Any, api: Callable[[Any], Any], at: Any
) -> None:
    # given a recently active wallet of 50 grains: 10 % is below the minimum amount, waiting
    # changes nothing
    active(member, at)
    body = api(member).get(PREVIEW).json()
    assert (body["eligible"], body["amount"], body["amount_if_idle"]) == (False, 0, 0)
    assert (body["eligible_at"], body["days_until_eligible"]) == (None, 0)
    assert body["reason"] == "amount_below_minimum"


def test_preview_of_an_empty_wallet_and_only_my_own(
    member: Any, other_member: Any, api: Callable[[Any], Any], at: Any
) -> None:
    idle(other_member, 5, at)
    body = api(member).get(PREVIEW, {"member_id": other_member.pk}).json()
    assert body == {
        "member_id": member.pk,
        "balance": 0,
        "eligible": False,
        "amount": 0,
        "amount_if_idle": 0,
        "eligible_at": None,
        "days_until_eligible": 0,
        "reason": "balance_below_minimum",
    }
