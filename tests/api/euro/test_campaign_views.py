"""What members see of campaigns: the list (open ones by default, filters by status and
project, cursor pagination, a bounded number of queries) and the campaign a project's payload
carries (the open one, else the latest; null when it never had one)."""

from __future__ import annotations

from typing import Any

import pytest

from saka.euro.models import CampaignStatus
from saka.euro.services.pledges import pledge_cancel, pledge_create
from saka.projects.services import project_create
from tests.support.euro import close, open_campaign
from tests.support.euro_api import V1, AssertError

pytestmark = pytest.mark.django_db

CAMPAIGNS = f"{V1}/euro/campaigns/"


def _projects(owner: Any, n: int) -> list[Any]:
    return [project_create(owner_id=owner.pk, title=f"Project {i}") for i in range(n)]


def test_members_list_open_campaigns_with_what_they_raised(
    api: Any, rich: Any, other_member: Any, assert_error: AssertError
) -> None:
    # given an open campaign with a held and a cancelled pledge, and a closed one
    first, second = _projects(other_member, 2)
    opened = open_campaign(first, goal=50_000)
    closed = close(open_campaign(second), CampaignStatus.FAILED)
    pledge_create(member_id=rich.pk, project_id=first.pk, amount=2_500)
    taken_back = pledge_create(member_id=rich.pk, project_id=first.pk, amount=700)
    pledge_cancel(member_id=rich.pk, pledge_id=taken_back.pledge_id)
    client = api(other_member)
    # when a member lists the campaigns
    listed = client.get(CAMPAIGNS)
    # then only the open one is listed, with its goal and what it raised (held + released)
    assert listed.status_code == 200
    (item,) = listed.json()["results"]
    assert (item["id"], item["project_id"], item["project_title"]) == (
        opened.pk,
        first.pk,
        "Project 0",
    )
    assert (item["status"], item["goal"], item["raised"]) == ("open", "500.00", "25.00")
    # and the closed one is found by status, or by project and status
    failed = client.get(CAMPAIGNS, {"status": "failed"}).json()["results"]
    assert [c["id"] for c in failed] == [closed.pk]
    assert client.get(CAMPAIGNS, {"project": second.pk}).json()["results"] == []
    by_project = client.get(CAMPAIGNS, {"project": second.pk, "status": "failed"}).json()
    assert [c["id"] for c in by_project["results"]] == [closed.pk]
    # and a bad filter is a 400, never an empty list
    assert_error(client.get(CAMPAIGNS, {"status": "won"}), 400, "validation_error")
    assert_error(client.get(CAMPAIGNS, {"project": "x"}), 400, "validation_error")


def test_the_campaign_list_is_cursor_paginated_newest_first(
    api: Any, member: Any, django_assert_max_num_queries: Any
) -> None:
    # given five open campaigns
    ids = [open_campaign(p).pk for p in _projects(member, 5)]
    client = api(member)
    # when a member pages through them two at a time
    seen: list[int] = []
    url: str | None = f"{CAMPAIGNS}?page_size=2"
    pages = 0
    while url:
        with django_assert_max_num_queries(6):
            body = client.get(url).json()
        seen += [c["id"] for c in body["results"]]
        url, pages = body["next"], pages + 1
    # then every campaign is seen once, newest first, in three pages
    assert seen == sorted(ids, reverse=True)
    assert pages == 3


def test_a_project_payload_carries_its_campaign(
    api: Any, rich: Any, member: Any, django_assert_max_num_queries: Any
) -> None:
    # given a project whose first campaign failed and whose second is open with a pledge,
    # a project whose only campaign succeeded, and a project without any
    again, done, never = _projects(member, 3)
    close(open_campaign(again), CampaignStatus.FAILED)
    current = open_campaign(again, goal=80_000)
    pledge_create(member_id=rich.pk, project_id=again.pk, amount=1_234)
    succeeded = close(open_campaign(done), CampaignStatus.SUCCEEDED)
    client = api(member)
    # when a member reads one project, then the list
    detail = client.get(f"{V1}/projects/{again.pk}/").json()
    with django_assert_max_num_queries(5):
        listed = {p["id"]: p for p in client.get(f"{V1}/projects/").json()}
    # then a project carries its open campaign rather than an older one
    expected = {"id": current.pk, "status": "open", "goal": "800.00", "raised": "12.34"}
    assert {k: detail["campaign"][k] for k in expected} == expected
    assert detail["campaign"]["deadline"]
    assert listed[again.pk]["campaign"] == detail["campaign"]
    # and else its latest, or null when it never had one
    assert (listed[done.pk]["campaign"]["id"], listed[done.pk]["campaign"]["status"]) == (
        succeeded.pk,
        "succeeded",
    )
    assert listed[never.pk]["campaign"] is None
