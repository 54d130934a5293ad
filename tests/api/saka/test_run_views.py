"""The staff endpoints of the runs: dry runs that equal the following live run, the run list and
detail, and their query counts (live runs: ``test_live_run_views``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from saka.grains.models import Run
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from saka.grains.selectors import run_summary
from tests.support.run_api import RUNS, detail
from tests.support.run_scenarios import active, idle

pytestmark = pytest.mark.django_db


# --- runs -------------------------------------------------------------------------------------


def test_dry_run_compost_equals_the_following_live_run(
    member: Any,
    other_member: Any,
    staff_user: Any,
    make_user: Any,
    api: Callable[[Any], Any],
    at: Any,
) -> None:
    # given two idle wallets (100 and 250 grains) and an active one
    idle(member, 2, at)
    idle(other_member, 5, at)
    active(make_user(), at)  # a third member (staff hold no wallet: saka.core.members)
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
    active(make_user(), at)  # a third member (staff hold no wallet: saka.core.members)
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
    # (a dry run's progress: no chunk, no lease; a live run's: test_live_run_views)
    assert response.json() == run_summary(a_run, progress=True)
    assert response.json()["progress"] == {
        "step": "dry_run",
        "phase": 0,
        "leases": [],
        "stalled": False,
    }


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
