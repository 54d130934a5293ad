"""What the project endpoints do when they are used right: boosts (grains planted on a
project, its score and distinct supporters), the list ordered by score, and the number of
queries a boost costs."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from saka.grains.models import ProjectSupporter
from saka.grains.services import wallet_plant
from saka.projects.services import project_create
from tests.support.api import boost_url, wallet_json

pytestmark = pytest.mark.django_db


# --- boost ---------------------------------------------------------------------------------


def test_boost_moves_grains_and_raises_score_and_distinct_supporters(
    api: Any, member: Any, other_member: Any, project: Any, fund: Any
) -> None:
    # given two members with 50 grains each
    fund(member)
    fund(other_member)
    # when the first boosts twice (default cost, then 15) and the second once
    first = api(member).post(boost_url(project), {}, format="json")
    second = api(member).post(boost_url(project), {"amount": 15}, format="json")
    third = api(other_member).post(boost_url(project), {"amount": 5}, format="json")
    # then each boost spends the member's grains
    assert [r.status_code for r in (first, second, third)] == [201, 201, 201]
    assert (first.json()["amount"], first.json()["balance"]) == (10, 40)
    assert (second.json()["amount"], second.json()["balance"]) == (15, 25)
    assert (third.json()["amount"], third.json()["balance"]) == (5, 45)
    # and the project's score is the sum planted, its supporters the distinct members
    assert (first.json()["project_score"], first.json()["project_supporters"]) == (10, 1)
    assert (second.json()["project_score"], second.json()["project_supporters"]) == (25, 1)
    assert (third.json()["project_score"], third.json()["project_supporters"]) == (30, 2)
    detail = api(member).get(reverse("saka_api:project-detail", args=[project.pk])).json()
    assert (detail["saka_score"], detail["saka_supporters"]) == (30, 2)
    assert ProjectSupporter.objects.filter(project=project).count() == 2
    assert wallet_json(api, member)["lifetime_planted"] == 25


def test_boost_with_no_body_costs_the_configured_default(
    api: Any, member: Any, project: Any, fund: Any, settings: Any
) -> None:
    # given a boost cost of 7
    settings.SAKA_BOOST_COST = 7
    fund(member)
    # when a member boosts without a body
    response = api(member).post(boost_url(project))
    # then 7 grains are planted on the project
    assert response.status_code == 201
    assert (response.json()["amount"], response.json()["project_score"]) == (7, 7)


def test_boost_without_grains_is_insufficient_balance(
    api: Any, member: Any, project: Any, books: Any, assert_error: Any
) -> None:
    # given a member who never had grains
    before = books()
    # when they boost
    response = api(member).post(boost_url(project), {}, format="json")
    # then it is refused and neither wallet nor project changes
    assert_error(response, 409, "insufficient_balance")
    assert books() == before


def test_project_list_is_ordered_by_score(
    api: Any, member: Any, project: Any, fund: Any, make_user: Any
) -> None:
    # given a second project boosted more than the first
    fund(member)
    other = project_create(owner_id=make_user().pk, title="Repair cafe")
    api(member).post(boost_url(project), {"amount": 5}, format="json")
    api(member).post(boost_url(other), {"amount": 20}, format="json")
    # when a member lists projects
    response = api(member).get(reverse("saka_api:project-list"))
    # then the best-supported comes first
    assert response.status_code == 200
    assert [(p["id"], p["saka_score"]) for p in response.json()] == [
        (other.pk, 20),
        (project.pk, 5),
    ]


# --- query counts --------------------------------------------------------------------------


def test_boost_query_count(
    api: Any,
    member: Any,
    project: Any,
    fund: Any,
    django_assert_max_num_queries: Any,
) -> None:
    # given a member with grains boosting a project for the first time (system accounts exist)
    fund(member)
    wallet_plant(member_id=member.pk, amount=1)
    client = api(member)
    # when they boost it, then it costs at most 13 queries (incl. savepoints, the member check)
    with django_assert_max_num_queries(13):
        response = client.post(boost_url(project), {}, format="json")
    assert response.status_code == 201


def test_boost_with_key_query_count(
    api: Any,
    member: Any,
    project: Any,
    fund: Any,
    django_assert_max_num_queries: Any,
) -> None:
    # given a member with grains (system accounts exist)
    fund(member)
    wallet_plant(member_id=member.pk, amount=1)
    client = api(member)
    # when they boost with an idempotency key, then at most 18 queries
    with django_assert_max_num_queries(18):
        first = client.post(boost_url(project), {}, format="json", HTTP_IDEMPOTENCY_KEY="q")
    # and a replay costs at most 6 (member check, project, system account, key lookup,
    # savepoint pair)
    with django_assert_max_num_queries(6):
        again = client.post(boost_url(project), {}, format="json", HTTP_IDEMPOTENCY_KEY="q")
    assert again.json() == first.json()
