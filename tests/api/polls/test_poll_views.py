"""The poll endpoints: who may call them, a vote and its replays, results, my vote, staff
creation, and what the schema says of them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse

from saka.audit.models import AuditRecord, Outcome
from saka.core.clock import now
from saka.grains.services import wallet_harvest
from saka.polls.models import Poll, Vote
from tests.support.polls import make_poll, option_ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_poll() -> Any:
    return make_poll(opens_at=now() - timedelta(days=1), closes_at=now() + timedelta(days=7))


def _vote_body(poll: Any, **kwargs: Any) -> dict[str, Any]:
    ids = option_ids(poll)
    return {
        "ballots": [{"option_id": ids[0], "points": 60}, {"option_id": ids[1], "points": 40}],
        **kwargs,
    }


def _urls(poll: Any) -> dict[str, tuple[str, str]]:
    return {
        "poll-list": ("get", reverse("saka_api:poll-list")),
        "poll-detail": ("get", reverse("saka_api:poll-detail", args=[poll.pk])),
        "poll-vote": ("post", reverse("saka_api:poll-vote", args=[poll.pk])),
        "poll-results": ("get", reverse("saka_api:poll-results", args=[poll.pk])),
        "poll-my-vote": ("get", reverse("saka_api:poll-my-vote", args=[poll.pk])),
        "staff-polls": ("post", reverse("saka_api:staff-polls")),
    }


MEMBER_STATUS = {
    "poll-list": 200,
    "poll-detail": 200,
    "poll-vote": 201,
    "poll-results": 200,
    "poll-my-vote": 404,  # not voted yet
}


@pytest.mark.parametrize("name", [*MEMBER_STATUS, "staff-polls"])
@pytest.mark.parametrize("actor", ["anonymous", "member", "platform", "staff"])
def test_permission_matrix(
    name: str,
    actor: str,
    open_poll: Any,
    make_user: Any,
    api: Any,
    assert_error: Any,
) -> None:
    # given a caller of each kind
    user = {
        "anonymous": None,
        "member": make_user(),
        "platform": make_user(platform=True),
        "staff": make_user(staff=True, roles=["poll_manager"]),
    }[actor]
    method, url = _urls(open_poll)[name]
    body = _vote_body(open_poll) if name == "poll-vote" else None
    if name == "staff-polls":
        body = {
            "title": "Bees or trees?",
            "method": "single",
            "options": ["bees", "trees"],
            "opens_at": now().isoformat(),
            "closes_at": (now() + timedelta(days=3)).isoformat(),
        }
    # when
    response = getattr(api(user), method)(url, body, format="json")
    # then
    if actor == "anonymous":
        assert_error(response, 401, "not_authenticated")
    elif name == "staff-polls":
        if actor == "staff":
            assert response.status_code == 201, response.content
        else:
            assert_error(response, 403, "permission_denied")
    elif actor in ("platform", "staff") and name == "poll-vote":
        assert_error(response, 409, "not_a_member")  # operator accounts do not vote
    elif name == "poll-my-vote":
        assert_error(response, 404, "not_found")
    else:
        assert response.status_code == MEMBER_STATUS[name], response.content


def test_a_vote_spends_harvests_and_answers_decimal_strings(
    member: Any, open_poll: Any, api: Any
) -> None:
    # given a member with 50 grains
    wallet_harvest(member_id=member.pk, reason="invite_accepted")
    client = api(member)
    url = reverse("saka_api:poll-vote", args=[open_poll.pk])
    # when they vote with intensity 3
    response = client.post(url, _vote_body(open_poll, intensity=3), format="json")
    # then 15 spent, 5 harvested, 40 left; the weight is a decimal string
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["spent"], body["harvested"], body["balance"]) == (15, 5, 40)
    assert body["weight"] == "1.861954"
    assert body["replayed"] is False
    # when the same vote comes again (a double click): 200, nothing booked
    again = client.post(url, _vote_body(open_poll, intensity=3), format="json")
    assert again.status_code == 200
    assert again.json()["replayed"] is True
    assert again.json()["balance"] == 40
    # my vote and the results
    mine = client.get(reverse("saka_api:poll-my-vote", args=[open_poll.pk])).json()
    assert (mine["weight"], mine["spent"], mine["intensity"]) == ("1.861954", 15, 3)
    results = client.get(reverse("saka_api:poll-results", args=[open_poll.pk])).json()
    assert [o["score"] for o in results["options"]] == ["111.717240", "74.478160", "0.000000"]
    assert [o["points"] for o in results["options"]] == [60, 40, 0]


def test_an_idempotency_key_replays_with_the_header(member: Any, open_poll: Any, api: Any) -> None:
    client = api(member)
    url = reverse("saka_api:poll-vote", args=[open_poll.pk])
    first = client.post(url, _vote_body(open_poll), format="json", HTTP_IDEMPOTENCY_KEY="v-1")
    second = client.post(url, _vote_body(open_poll), format="json", HTTP_IDEMPOTENCY_KEY="v-1")
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"ballots": []}, 400, "validation_error"),
        ({"ballots": [{"option_id": 1, "points": 1.5}]}, 400, "validation_error"),
        ({"ballots": [{"option_id": 1, "points": True}]}, 400, "validation_error"),
        ({"ballots": "x"}, 400, "validation_error"),
        ({"intensity": 6}, 400, "validation_error"),
        ({"intensity": 2.0}, 400, "validation_error"),
        ({"use_saka": "yes"}, 400, "validation_error"),
        ({"weight": "9"}, 400, "validation_error"),
        ({"points_too_many": True}, 400, "invalid_ballot"),
        ({"foreign_option": True}, 400, "invalid_ballot"),
    ],
)
def test_bad_votes_are_refused(
    body: dict[str, Any],
    status: int,
    code: str,
    member: Any,
    open_poll: Any,
    api: Any,
    assert_error: Any,
) -> None:
    ids = option_ids(open_poll)
    payload = {**_vote_body(open_poll), **body}
    if body.pop("points_too_many", None):
        payload = {"ballots": [{"option_id": ids[0], "points": 101}]}
    if body.pop("foreign_option", None):
        payload = {"ballots": [{"option_id": option_ids(make_poll())[0], "points": 1}]}
    url = reverse("saka_api:poll-vote", args=[open_poll.pk])
    assert_error(api(member).post(url, payload, format="json"), status, code)
    assert not Vote.objects.exists()


def test_votes_on_closed_or_unknown_polls(
    member: Any, api: Any, assert_error: Any, poll: Any
) -> None:
    # the `poll` fixture closed in 2025
    url = reverse("saka_api:poll-vote", args=[poll.pk])
    assert_error(api(member).post(url, _vote_body(poll), format="json"), 409, "poll_closed")
    unknown = reverse("saka_api:poll-vote", args=[987654])
    assert_error(api(member).post(unknown, _vote_body(poll), format="json"), 404, "poll_not_found")
    results = reverse("saka_api:poll-results", args=[987654])
    assert_error(api(member).get(results), 404, "poll_not_found")


def test_staff_creates_a_poll_audited(make_user: Any, api: Any, assert_error: Any) -> None:
    manager = make_user(staff=True, roles=["poll_manager"])
    url = reverse("saka_api:staff-polls")
    body = {
        "title": "Next garden",
        "method": "quadratic",
        "options": ["north", "south", "orchard"],
        "max_points": 30,
        "opens_at": "2030-01-01T00:00:00Z",
        "closes_at": "2030-01-08T00:00:00Z",
    }
    response = api(manager).post(url, body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert [o["label"] for o in created["options"]] == ["north", "south", "orchard"]
    assert created["max_points"] == 30
    record = AuditRecord.objects.get(action="polls.poll.create")
    assert (record.actor_id, record.outcome) == (manager.pk, Outcome.SUCCEEDED)
    bad = {**body, "closes_at": "2029-12-31T00:00:00Z"}
    assert_error(api(manager).post(url, bad, format="json"), 400, "validation_error")
    assert Poll.objects.count() == 1


def test_list_and_detail_query_counts(
    member: Any, open_poll: Any, api: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(3):
        make_poll(opens_at=now(), closes_at=now() + timedelta(days=1))
    client = api(member)
    with django_assert_max_num_queries(3):
        listed = client.get(reverse("saka_api:poll-list"))
    assert len(listed.json()["results"]) == 4
    with django_assert_max_num_queries(3):
        client.get(reverse("saka_api:poll-results", args=[open_poll.pk]))


def test_schema_documents_the_poll_operations(api: Any) -> None:
    schema = api(None).get(reverse("saka_api:schema"), {"format": "json"}).json()
    methods = {
        (path, method)
        for path, ops in schema["paths"].items()
        for method in ops
        if "/polls/" in path and method in {"get", "post", "put", "patch", "delete"}
    }
    assert methods == {
        ("/api/v1/polls/", "get"),
        ("/api/v1/polls/{poll_id}/", "get"),
        ("/api/v1/polls/{poll_id}/vote/", "post"),
        ("/api/v1/polls/{poll_id}/results/", "get"),
        ("/api/v1/me/polls/{poll_id}/vote/", "get"),
        ("/api/v1/staff/polls/", "post"),
    }
    vote = schema["components"]["schemas"]["VoteOut"]["properties"]["weight"]
    assert vote["type"] == "string"
