"""Staff endpoints of the runs, the silo and the statistics; the member's compost preview."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from saka.grains.models import Run, RunKind, RunTrigger
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.periods import period_of
from saka.grains.runs.redistribution import redistribution_run_start
from saka.grains.selectors import run_summary
from saka.grains.services import wallet_plant
from saka.jobs.tasks import compost_run
from tests.support.run_scenarios import active, eager_tasks, idle

pytestmark = pytest.mark.django_db

RUNS = reverse("saka_api:staff-run-list")
SILO = reverse("saka_api:staff-silo")
STATS = reverse("saka_api:staff-stats")
PREVIEW = reverse("saka_api:saka-compost-preview")


def detail(run_id: int) -> str:
    return reverse("saka_api:staff-run-detail", args=[run_id])


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"code", "message", "data"}, body
    assert body["code"] == code, body
    assert body["message"]
    return body


@pytest.fixture
def at() -> Any:
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def users(member: Any, platform_user: Any, staff_user: Any) -> dict[str, Any]:
    return {"anonymous": None, "member": member, "platform": platform_user, "staff": staff_user}


@pytest.fixture
def a_run(at: Any) -> Run:
    return compost_run_start(as_of=at, dry_run=True)


# --- permissions ------------------------------------------------------------------------------

STAFF_EXPECTED = {"anonymous": (401, "not_authenticated"), "member": (403, "permission_denied")}
STAFF_EXPECTED["platform"] = (403, "permission_denied")


@pytest.mark.parametrize("who", ["anonymous", "member", "platform", "staff"])
@pytest.mark.parametrize(
    "call",
    ["list", "detail", "dry_run", "live_run", "silo", "stats"],
)
def test_staff_endpoints_are_for_staff_only(
    who: str,
    call: str,
    users: dict[str, Any],
    api: Callable[[Any], Any],
    a_run: Run,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a client of each kind
    client = api(users[who])
    requests = {
        "list": lambda: client.get(RUNS),
        "detail": lambda: client.get(detail(a_run.pk)),
        "dry_run": lambda: client.post(RUNS, {"kind": "compost", "dry_run": True}, format="json"),
        "live_run": lambda: client.post(
            RUNS, {"kind": "redistribution", "dry_run": False}, format="json"
        ),
        "silo": lambda: client.get(SILO),
        "stats": lambda: client.get(STATS),
    }
    runs_before = Run.objects.count()
    # when it calls the endpoint
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = requests[call]()
    # then only staff gets through; nobody else starts or enqueues anything
    if who == "staff":
        expected = {"dry_run": 201, "live_run": 202}.get(call, 200)
        assert response.status_code == expected, response.content[:500]
        return
    status, code = STAFF_EXPECTED[who]
    assert_error(response, status, code)
    assert Run.objects.count() == runs_before
    assert callbacks == []


@pytest.mark.parametrize("who", ["anonymous", "member", "platform", "staff"])
def test_compost_preview_is_for_any_signed_in_account(
    who: str, users: dict[str, Any], api: Callable[[Any], Any]
) -> None:
    response = api(users[who]).get(PREVIEW)
    if who == "anonymous":
        assert_error(response, 401, "not_authenticated")
    else:
        assert response.status_code == 200
        assert response.json()["member_id"] == users[who].pk


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"dry_run": True},
        {"kind": "harvest", "dry_run": True},
        {"kind": "", "dry_run": True},
        {"kind": 1, "dry_run": True},
        {"kind": ["compost"], "dry_run": True},
        {"kind": "compost"},
        {"kind": "compost", "dry_run": None},
        {"kind": "compost", "dry_run": "true"},
        {"kind": "compost", "dry_run": "false"},
        {"kind": "compost", "dry_run": 1},
        {"kind": "compost", "dry_run": 0},
        {"kind": "compost", "dry_run": "yes"},
        {"kind": "compost", "dry_run": True, "as_of": "yesterday"},
        {"kind": "compost", "dry_run": True, "as_of": ""},
        {"kind": "compost", "dry_run": True, "as_of": "2026-11-23T03:00:00"},
        {"kind": "compost", "dry_run": True, "as_of": "2026-13-23T03:00:00Z"},
        {"kind": "compost", "dry_run": True, "as_of": "2026-11-23T03:00:00+25:00"},
        {"kind": "compost", "dry_run": True, "as_of": 1_700_000_000},
        {"kind": "compost", "dry_run": True, "as_of": ["2026-11-23T03:00:00Z"]},
        {"kind": "compost", "dry_run": True, "as_of": "0001-01-01T00:00:00+01:00"},
        {"kind": "compost", "dry_run": True, "as_of": "9999-12-31T23:59:59-23:59"},
        {"kind": "compost", "dry_run": True, "as_of": "1999-12-31T23:59:59Z"},
        {"kind": "compost", "dry_run": True, "as_of": "2026-11-23T03:00:00Z" + " " * 100},
        {"kind": "compost", "dry_run": True, "chunk_size": 1},
        {"kind": "compost", "dry_run": False, "trigger": "beat"},
    ],
)
def test_bad_run_requests_are_400_and_start_nothing(
    body: dict[str, Any],
    staff_user: Any,
    api: Callable[[Any], Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api(staff_user).post(RUNS, body, format="json")
    assert_error(response, 400, "validation_error")
    assert not Run.objects.exists()
    assert callbacks == []


@pytest.mark.parametrize(
    ("content", "content_type", "code"),
    [
        ('["compost"]', "application/json", "validation_error"),
        ('"compost"', "application/json", "validation_error"),
        ("{", "application/json", "parse_error"),
        ("kind=compost", "text/plain", "unsupported_media_type"),
    ],
)
def test_run_request_bodies_that_are_not_objects(
    content: str, content_type: str, code: str, staff_user: Any, api: Callable[[Any], Any]
) -> None:
    response = api(staff_user).post(RUNS, content, content_type=content_type)
    assert_error(response, 415 if code == "unsupported_media_type" else 400, code)
    assert not Run.objects.exists()


@pytest.mark.parametrize(
    "as_of",
    [
        lambda now: now + timedelta(hours=1),  # the future, even in the current period
        lambda now: now - timedelta(days=40),  # a past period
        lambda now: now + timedelta(days=40),  # a future period
    ],
    ids=["future", "past_period", "future_period"],
)
@pytest.mark.parametrize("kind", ["compost", "redistribution"])
def test_live_run_only_for_the_current_period(
    kind: str,
    as_of: Callable[[Any], Any],
    staff_user: Any,
    api: Callable[[Any], Any],
    at: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    body = {"kind": kind, "dry_run": False, "as_of": as_of(at).isoformat()}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api(staff_user).post(RUNS, body, format="json")
    error = assert_error(response, 400, "validation_error")
    assert error["data"]["field"] == "as_of"
    assert callbacks == []


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "harvest"},
        {"kind": "COMPOST"},
        {"dry_run": "maybe"},
        {"dry_run": "1"},
        {"dry_run": "True"},
    ],
)
def test_bad_run_list_filters_are_400(
    params: dict[str, str], staff_user: Any, api: Callable[[Any], Any]
) -> None:
    assert_error(api(staff_user).get(RUNS, params), 400, "validation_error")


def test_bad_cursor_is_404_never_500(staff_user: Any, api: Callable[[Any], Any]) -> None:
    assert_error(api(staff_user).get(RUNS, {"cursor": "garbage"}), 404, "not_found")


@pytest.mark.parametrize("run_id", [0, 10**6, 2**63, 10**30])
def test_unknown_run_is_404_run_not_found(
    run_id: int, staff_user: Any, api: Callable[[Any], Any]
) -> None:
    path = RUNS + f"{run_id}/"
    body = assert_error(api(staff_user).get(path), 404, "run_not_found")
    assert body["data"] == {"run_id": str(run_id)}


def test_non_numeric_run_id_is_404(staff_user: Any, api: Callable[[Any], Any]) -> None:
    # no route matches (Django's own 404 page, like every unknown URL)
    assert api(staff_user).get(RUNS + "abc/").status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"days": "0"},
        {"days": "367"},
        {"days": "-1"},
        {"days": "abc"},
        {"days": "1.5"},
        {"days": "9" * 40},
        {"top": "0"},
        {"top": "101"},
        {"top": "ten"},
    ],
)
def test_bad_stats_parameters_are_400(
    params: dict[str, str], staff_user: Any, api: Callable[[Any], Any]
) -> None:
    assert_error(api(staff_user).get(STATS, params), 400, "validation_error")


# --- runs -------------------------------------------------------------------------------------


def test_dry_run_compost_equals_the_following_live_run(
    member: Any, other_member: Any, staff_user: Any, api: Callable[[Any], Any], at: Any
) -> None:
    # given two idle wallets (100 and 250 grains) and an active one
    idle(member, 2, at)
    idle(other_member, 5, at)
    active(staff_user, at)
    # when staff asks for a dry run at ``at``
    response = api(staff_user).post(
        RUNS, {"kind": "compost", "dry_run": True, "as_of": at.isoformat()}, format="json"
    )
    # then it is answered synchronously with the figures, recorded as the API's
    assert response.status_code == 201, response.content
    dry = response.json()
    assert dry == run_summary(Run.objects.get(pk=dry["run_id"]))
    assert (dry["dry_run"], dry["trigger"], dry["triggered_by"]) == (True, "api", staff_user.pk)
    assert (dry["wallets_composted"], dry["total_composted"]) == (2, 10 + 25)
    # and a live run at the same instant does exactly that
    live = run_summary(compost_run_start(as_of=at))
    assert live["dry_run"] is False
    assert (live["wallets_composted"], live["total_composted"]) == (2, 35)
    assert live["period"] == dry["period"]


def test_dry_run_redistribution_equals_the_following_live_run(
    member: Any,
    other_member: Any,
    make_user: Callable[..., Any],
    staff_user: Any,
    api: Callable[[Any], Any],
    at: Any,
) -> None:
    # given a silo filled by compost (4 x 25 grains) and two active members
    for user in (member, make_user(), make_user(), make_user()):
        idle(user, 5, at)
    active(other_member, at)
    active(staff_user, at)
    compost_run_start(as_of=at - timedelta(hours=1))
    # when staff asks for a dry run of the redistribution
    response = api(staff_user).post(
        RUNS, {"kind": "redistribution", "dry_run": True, "as_of": at.isoformat()}, format="json"
    )
    assert response.status_code == 201, response.content
    dry = response.json()
    # then pot = floor(100 x 5%) = 5, 2 eligible, 2 each, 1 stays in the silo
    assert (dry["silo_before"], dry["pot"], dry["eligible_wallets"]) == (100, 5, 2)
    assert (dry["per_wallet"], dry["total_redistributed"], dry["silo_after"]) == (2, 4, 96)
    # and a live run at the same instant does exactly that
    live = run_summary(redistribution_run_start(as_of=at))
    keys = [
        "period",
        "outcome",
        "silo_before",
        "pot",
        "eligible_wallets",
        "per_wallet",
        "wallets_credited",
        "total_redistributed",
        "silo_after",
    ]
    assert {k: live[k] for k in keys} == {k: dry[k] for k in keys}


def test_dry_run_with_nothing_to_do_names_the_reason(
    staff_user: Any, api: Callable[[Any], Any]
) -> None:
    response = api(staff_user).post(
        RUNS, {"kind": "redistribution", "dry_run": True}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["reason"] == "nothing_to_redistribute"


@pytest.mark.parametrize("kind", ["compost", "redistribution"])
def test_live_run_is_queued_after_commit_and_answers_202(
    kind: str,
    staff_user: Any,
    api: Callable[[Any], Any],
    at: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # when staff starts a live run
    with mock.patch("celery.app.task.Task.apply_async") as apply_async:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = api(staff_user).post(RUNS, {"kind": kind, "dry_run": False}, format="json")
        # then the answer says what was queued
        assert response.status_code == 202, response.content
        body = response.json()
        assert body["kind"] == kind
        assert body["status"] == "queued"
        assert body["period"] == period_of(kind, at)
        # and the task is sent only once the request's transaction commits
        apply_async.assert_not_called()
        assert len(callbacks) == 1
        callbacks[0]()
    apply_async.assert_called_once()
    kwargs = apply_async.call_args.args[1]
    assert kwargs["dry_run"] is False
    assert (kwargs["trigger"], kwargs["triggered_by_id"]) == ("api", staff_user.pk)
    assert kwargs["as_of"] == body["as_of"]
    assert not Run.objects.exists()


def test_live_run_executes_when_the_task_runs(
    member: Any,
    staff_user: Any,
    api: Callable[[Any], Any],
    at: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given an eligible wallet and tasks run in-process
    idle(member, 2, at)
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        response = api(staff_user).post(
            RUNS, {"kind": "compost", "dry_run": False, "as_of": at.isoformat()}, format="json"
        )
    assert response.status_code == 202
    # then the live run of the period happened, at the instant asked for, started by the API
    run = Run.objects.get(kind=RunKind.COMPOST, dry_run=False)
    assert (run.period, run.status, run.amount_done) == (response.json()["period"], "done", 10)
    assert (run.trigger, run.triggered_by_id, run.as_of) == (RunTrigger.API, staff_user.pk, at)
    # and the run list shows it
    listed = api(staff_user).get(RUNS, {"dry_run": "false"}).json()["results"]
    assert [r["run_id"] for r in listed] == [run.pk]
    assert compost_run.name == "saka.jobs.tasks.compost_run"


def test_run_list_newest_first_filtered_and_paginated(
    staff_user: Any, api: Callable[[Any], Any], at: Any
) -> None:
    # given runs of both kinds
    c1 = compost_run_start(as_of=at, dry_run=True)
    r1 = redistribution_run_start(as_of=at, dry_run=True)
    c2 = compost_run_start(as_of=at)
    client = api(staff_user)
    # when staff lists them
    body = client.get(RUNS).json()
    # then newest first, each item the run's summary
    assert [r["run_id"] for r in body["results"]] == [c2.pk, r1.pk, c1.pk]
    assert body["results"][0] == run_summary(c2)
    # and filters combine
    assert [r["run_id"] for r in client.get(RUNS, {"kind": "compost"}).json()["results"]] == [
        c2.pk,
        c1.pk,
    ]
    only = client.get(RUNS, {"kind": "compost", "dry_run": "true"}).json()["results"]
    assert [r["run_id"] for r in only] == [c1.pk]
    assert client.get(RUNS, {"kind": "", "dry_run": ""}).json()["results"] == body["results"]
    # and pages follow a cursor
    page1 = client.get(RUNS, {"page_size": 2}).json()
    assert [r["run_id"] for r in page1["results"]] == [c2.pk, r1.pk]
    page2 = client.get(page1["next"]).json()
    assert [r["run_id"] for r in page2["results"]] == [c1.pk]
    assert page2["next"] is None


def test_run_detail_is_the_run_summary(
    staff_user: Any, api: Callable[[Any], Any], a_run: Run
) -> None:
    response = api(staff_user).get(detail(a_run.pk))
    assert response.status_code == 200
    assert response.json() == run_summary(a_run)


def test_run_endpoints_query_counts(
    staff_user: Any,
    api: Callable[[Any], Any],
    at: Any,
    django_assert_max_num_queries: Any,
) -> None:
    for _ in range(5):
        compost_run_start(as_of=at, dry_run=True)
    client = api(staff_user)
    with django_assert_max_num_queries(3):
        assert client.get(RUNS).status_code == 200
    run = Run.objects.first()
    assert run is not None
    with django_assert_max_num_queries(2):
        assert client.get(detail(run.pk)).status_code == 200


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
    assert api(member).get(PREVIEW).json() == {
        "member_id": member.pk,
        "balance": 100,
        "eligible": True,
        "amount": 10,
        "days_until_eligible": 0,
        "reason": "",
    }


def test_preview_of_an_active_wallet(member: Any, api: Callable[[Any], Any], at: Any) -> None:
    idle(member, 2, at)
    active(member, at)  # a harvest yesterday: 89 more days to wait
    body = api(member).get(PREVIEW).json()
    assert (body["balance"], body["eligible"], body["amount"]) == (150, False, 15)
    assert (body["days_until_eligible"], body["reason"]) == (89, "recently_active")


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
        "days_until_eligible": 0,
        "reason": "balance_below_minimum",
    }
