"""What the staff endpoints of the runs, the silo and the statistics refuse: callers who are not
staff (the compost preview: anonymous callers), and bad input (400, 404, never a 500),
starting nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from saka.grains.models import Run
from tests.support.run_api import PREVIEW, RUNS, SILO, STATS, assert_error, detail

pytestmark = pytest.mark.django_db


@pytest.fixture
def users(member: Any, platform_user: Any, staff_user: Any) -> dict[str, Any]:
    return {"anonymous": None, "member": member, "platform": platform_user, "staff": staff_user}


# --- permissions ------------------------------------------------------------------------------

STAFF_EXPECTED = {"anonymous": (401, "not_authenticated"), "member": (403, "permission_denied")}
STAFF_EXPECTED["platform"] = (403, "permission_denied")


@pytest.mark.parametrize("who", ["anonymous", "member", "platform", "staff"])
@pytest.mark.parametrize(
    "call",
    ["list", "detail", "resume", "dry_run", "live_run", "silo", "stats"],
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
        "resume": lambda: client.post(detail(a_run.pk) + "resume/"),
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


def test_bad_cursor_is_400_never_500(staff_user: Any, api: Callable[[Any], Any]) -> None:
    assert_error(api(staff_user).get(RUNS, {"cursor": "garbage"}), 400, "invalid_cursor")


@pytest.mark.parametrize("run_id", [0, 10**6, 2**63, 10**30])
def test_unknown_run_is_404_run_not_found(
    run_id: int, staff_user: Any, api: Callable[[Any], Any]
) -> None:
    path = RUNS + f"{run_id}/"
    # an id comes back as an integer; what is no id (0, out of range) is not echoed
    expected = {"run_id": run_id} if 0 < run_id < 2**63 else {}
    body = assert_error(api(staff_user).get(path), 404, "run_not_found")
    assert body["data"] == expected
    resumed = assert_error(api(staff_user).post(path + "resume/"), 404, "run_not_found")
    assert resumed["data"] == expected


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
