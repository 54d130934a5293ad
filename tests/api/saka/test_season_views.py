"""Season endpoints: the staff list and creation, activation; the members' list. Who may call
them (the staff roles' matrix is tests/api/test_roles.py), bad input typed and writing
nothing, query counts pinned."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse

from saka.audit.models import AuditRecord, Outcome
from saka.grains.models import Season
from saka.grains.seasons.services import season_create
from tests.support.clock import A
from tests.support.saka import harvest

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)
STAFF = reverse("saka_api:staff-seasons")
MEMBERS = reverse("saka_api:saka-seasons")


def _activate_url(pk: Any) -> str:
    return reverse("saka_api:staff-season-activate", kwargs={"season_id": pk})


@pytest.fixture
def maker(make_user: Any) -> Any:
    return make_user(staff=True, roles=["policy_maker"])


@pytest.fixture
def seasons() -> list[Season]:
    return [
        season_create(
            name=f"S{i}",
            starts_at=A + i * 30 * DAY,
            ends_at=A + (i + 1) * 30 * DAY,
            created_by_id=None,
        )
        for i in range(3)
    ]


def _state() -> tuple:
    return (
        list(Season.objects.order_by("pk").values_list("pk", "name", "is_active")),
        AuditRecord.objects.filter(outcome=Outcome.SUCCEEDED).count(),
    )


def test_a_policy_maker_creates_and_activates_a_season(api: Any, maker: Any) -> None:
    # when a policy maker creates a season, then activates it
    body = {"name": "Spring", "starts_at": A.isoformat(), "ends_at": (A + 90 * DAY).isoformat()}
    created = api(maker).post(STAFF, body, format="json")
    # then it is created inactive with empty figures, and activated
    assert created.status_code == 201, created.content
    data = created.json()
    assert (data["name"], data["slug"], data["is_active"]) == ("Spring", "spring", False)
    assert data["stats"] == {
        "harvested": 0,
        "planted": 0,
        "composted": 0,
        "redistributed": 0,
        "runs": 0,
        "harvesters": 0,
    }
    activated = api(maker).post(_activate_url(data["id"]))
    assert activated.status_code == 200, activated.content
    assert activated.json()["is_active"] is True


def test_overlap_is_409_and_writes_nothing(
    api: Any, maker: Any, seasons: list[Season], assert_error: Any
) -> None:
    # given seasons, when a policy maker creates one overlapping the second
    before = _state()
    body = {
        "name": "Other",
        "starts_at": (A + 45 * DAY).isoformat(),
        "ends_at": (A + 50 * DAY).isoformat(),
    }
    error = assert_error(api(maker).post(STAFF, body, format="json"), 409, "season_overlaps")
    # then it is refused naming the season met, nothing written
    assert error["data"]["season_id"] == seasons[1].pk
    assert _state() == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "", "starts_at": A.isoformat(), "ends_at": (A + DAY).isoformat()},
        {"name": "x" * 81, "starts_at": A.isoformat(), "ends_at": (A + DAY).isoformat()},
        {"name": "Bad", "starts_at": A.isoformat(), "ends_at": A.isoformat()},
        {"name": "Bad", "starts_at": "2026-03-02T03:00:00", "ends_at": (A + DAY).isoformat()},
        {"name": "Bad", "starts_at": "tomorrow", "ends_at": (A + DAY).isoformat()},
        {"name": ["Bad"], "starts_at": A.isoformat(), "ends_at": (A + DAY).isoformat()},
    ],
)
def test_bad_input_is_400_and_writes_nothing(
    api: Any, maker: Any, body: dict[str, Any], assert_error: Any
) -> None:
    before = _state()
    assert_error(api(maker).post(STAFF, body, format="json"), 400, "validation_error")
    assert _state() == before


def test_an_unknown_season_is_404(api: Any, maker: Any, assert_error: Any) -> None:
    assert_error(api(maker).post(_activate_url(10**9)), 404, "season_not_found")


@pytest.mark.parametrize("url", [STAFF, MEMBERS])
def test_anonymous_is_401(api: Any, url: str, assert_error: Any) -> None:
    assert_error(api(None).get(url), 401, "not_authenticated")


def test_a_member_cannot_use_the_staff_endpoints(
    api: Any, member: Any, seasons: list[Season], assert_error: Any
) -> None:
    before = _state()
    assert api(member).get(STAFF).status_code == 403
    assert api(member).post(STAFF, {}, format="json").status_code == 403
    assert api(member).post(_activate_url(seasons[0].pk)).status_code == 403
    assert _state() == before


def test_members_see_the_seasons_with_their_figures(
    api: Any, member: Any, seasons: list[Season], django_assert_max_num_queries: Any
) -> None:
    # given a harvest inside the first season, which is active
    harvest(member.pk, as_of=A + DAY)
    Season.objects.filter(pk=seasons[0].pk).update(is_active=True)
    # when a member lists the seasons: the session's user, the list, one aggregate per season
    client = api(member)
    with django_assert_max_num_queries(1 + len(seasons)):
        response = client.get(MEMBERS)
    # then newest first, the active one flagged, the harvest counted in its season
    assert response.status_code == 200
    rows = response.json()
    assert [r["name"] for r in rows] == ["S2", "S1", "S0"]
    assert [r["is_active"] for r in rows] == [False, False, True]
    assert rows[2]["stats"]["harvested"] > 0
    assert rows[2]["stats"]["harvesters"] == 1
    assert rows[0]["stats"]["harvested"] == 0


def test_the_staff_list_query_count_is_pinned(
    api: Any, make_user: Any, seasons: list[Season], django_assert_max_num_queries: Any
) -> None:
    reader = make_user(staff=True, roles=["auditor"])
    client = api(reader)
    # the permission check (user's permissions), the list, one aggregate per season
    with django_assert_max_num_queries(3 + len(seasons)):
        response = client.get(STAFF)
    assert response.status_code == 200
    assert len(response.json()) == len(seasons)
