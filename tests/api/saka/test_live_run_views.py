"""The staff endpoints of live runs: starting one opens the period's run at once and answers 202
with it (its progress, a ``Location`` to poll) when workers are sent -- the run was just
opened, or nobody works on it any more -- and 200 with the run as it is otherwise; workers are
sent only once the request's transaction commits; the run's detail shows its chunks and who
leases them; a stalled run is listed as such and resumed on request; a new period waits for an
earlier unfinished run of its kind."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.conf import settings

from saka.engine import chunks
from saka.engine import lifecycle as engine
from saka.grains.models import Run, RunKind, RunStatus, RunTrigger
from saka.grains.runs.compost import COMPOST
from saka.grains.runs.lifecycle import open_live
from saka.grains.runs.periods import period_of
from saka.grains.selectors import run_summary
from saka.jobs.runs import SPEC_OF_KIND, live_run_request
from saka.jobs.tasks import run_work
from tests.support.run_api import RUNS, assert_error, detail
from tests.support.run_scenarios import eager_tasks, idle
from tests.support.runs_reference import wallet_id

pytestmark = pytest.mark.django_db

FIRST_STEP = {"compost": "compost", "redistribution": "freeze"}


def resume_url(run_id: int) -> str:
    return detail(run_id) + "resume/"


def _start(client: Any, kind: str, **body: Any) -> Any:
    return client.post(RUNS, {"kind": kind, "dry_run": False, **body}, format="json")


def _sent(delay: Any) -> list[dict[str, Any]]:
    return [c.kwargs for c in delay.call_args_list]


def _interrupted(kind: str, at: Any) -> Run:
    run, _ = live_run_request(kind=kind, at=at, trigger=RunTrigger.API, triggered_by_id=None)
    engine.interrupt(SPEC_OF_KIND[kind], run.pk, RuntimeError("worker lost"))
    run.refresh_from_db()
    return run


# --- starting a live run ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["compost", "redistribution"])
def test_live_run_is_opened_at_once_and_answers_202_with_its_location(
    kind: str,
    member: Any,
    staff_user: Any,
    api: Callable[[Any], Any],
    at: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a wallet (the run's scope: one chunk)
    idle(member, 2, at)
    with mock.patch.object(run_work, "delay") as delay:
        # when staff starts a live run
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = _start(api(staff_user), kind)
        # then the period's run is opened, queued, the API's, and the answer is that run with
        # its progress and where to poll it
        assert response.status_code == 202, response.content
        body = response.json()
        run = Run.objects.get(kind=kind, dry_run=False)
        assert response["Location"] == detail(run.pk)
        assert body["run_id"] == run.pk
        assert (body["kind"], body["status"], body["period"]) == (kind, "queued", run.period)
        assert run.period == period_of(kind, at)
        assert (body["trigger"], body["triggered_by"]) == ("api", staff_user.pk)
        assert body["progress"] == {
            "step": FIRST_STEP[kind],
            "phase": 0,
            "total": 1,
            "done": 0,
            "leased": 0,
            "pending": 1,
            "leases": [],
            "stalled": False,
        }
        # and its workers are sent only once the request's transaction commits
        delay.assert_not_called()
        assert len(callbacks) == settings.SAKA_RUN_WORKERS
        for callback in callbacks:
            callback()
    assert _sent(delay) == [{"spec": kind, "run_id": run.pk}] * settings.SAKA_RUN_WORKERS


def test_a_second_request_for_the_period_answers_200_with_that_run(
    staff_user: Any, api: Callable[[Any], Any], django_capture_on_commit_callbacks: Any
) -> None:
    # given this month's redistribution started, its workers on their way
    client = api(staff_user)
    with mock.patch.object(run_work, "delay"), django_capture_on_commit_callbacks(execute=True):
        first = _start(client, "redistribution").json()
    # when it is asked for again
    with (
        mock.patch.object(run_work, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = _start(client, "redistribution")
    # then the answer is that run, as it is (200), and no more workers are sent
    assert response.status_code == 200, response.content
    assert response["Location"] == detail(first["run_id"])
    assert (response.json()["run_id"], response.json()["status"]) == (first["run_id"], "queued")
    assert callbacks == []
    delay.assert_not_called()
    assert Run.objects.filter(dry_run=False).count() == 1


def test_a_finished_period_answers_200_with_its_finished_run(
    member: Any,
    staff_user: Any,
    api: Callable[[Any], Any],
    at: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given this week's compost done by the workers the API sent (run in-process)
    idle(member, 2, at)
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        started = _start(api(staff_user), "compost", as_of=at.isoformat())
    assert started.status_code == 202
    run = Run.objects.get(kind=RunKind.COMPOST, dry_run=False)
    assert (run.status, run.amount_done) == (RunStatus.DONE, 10)
    assert (run.trigger, run.triggered_by_id, run.as_of) == (RunTrigger.API, staff_user.pk, at)
    # when it is asked for again, then the finished run is the answer (200), nothing is sent
    with mock.patch.object(run_work, "delay") as delay:
        again = _start(api(staff_user), "compost")
    assert again.status_code == 200
    body = again.json()
    assert (body["run_id"], body["status"], body["total_composted"]) == (run.pk, "done", 10)
    assert body["progress"]["done"] == body["progress"]["total"] == 1
    delay.assert_not_called()


def test_starting_a_stalled_run_resumes_it_202(
    staff_user: Any, api: Callable[[Any], Any], at: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given this week's compost interrupted (its worker failed)
    run = _interrupted("compost", at)
    # when staff starts the live compost
    with (
        mock.patch.object(run_work, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = _start(api(staff_user), "compost")
    # then workers are sent to that run (202), which says why it stopped
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["run_id"], body["status"]) == (run.pk, "interrupted")
    assert "worker lost" in body["error"]
    assert body["progress"]["stalled"] is True
    assert _sent(delay) == [{"spec": "compost", "run_id": run.pk}] * settings.SAKA_RUN_WORKERS


def test_a_new_period_waits_for_an_earlier_unfinished_run_409(
    staff_user: Any, api: Callable[[Any], Any], at: Any
) -> None:
    # given last week's compost interrupted
    earlier = _interrupted("compost", at - timedelta(days=7))
    # when this week's is asked for, then it is refused, naming the run to resume first
    with mock.patch.object(run_work, "delay") as delay:
        response = _start(api(staff_user), "compost")
    body = assert_error(response, 409, "earlier_run_unfinished")
    assert body["data"]["run_id"] == earlier.pk
    assert body["data"]["period"] == earlier.period
    delay.assert_not_called()
    assert list(Run.objects.all()) == [earlier]


# --- the run's progress, stalled runs, resume ----------------------------------------------------


def test_run_detail_shows_the_chunks_and_who_leases_them(
    member: Any, other_member: Any, staff_user: Any, api: Callable[[Any], Any], at: Any
) -> None:
    # given this week's compost of two chunks, one leased by a worker on another host
    idle(member, 2, at)
    idle(other_member, 2, at)
    top = max(wallet_id(member.pk), wallet_id(other_member.pk))
    run, _ = open_live(
        COMPOST, kind="compost", at=at, trigger="api", triggered_by_id=None, chunk_size=top - 1
    )
    assert run.max_id == top  # chunks (0, top - 1] and (top - 1, top]
    leased = chunks.claim(COMPOST, run.pk, COMPOST.steps[0], "host-b:42:1")
    assert leased == (0, top - 1)
    # when staff looks at the run
    body = api(staff_user).get(detail(run.pk)).json()
    # then it shows the step's chunks: one leased (by whom, until when), one free
    progress = body.pop("progress")
    assert body == run_summary(run)
    lease = progress.pop("leases")
    assert progress == {
        "step": "compost",
        "phase": 0,
        "total": 2,
        "done": 0,
        "leased": 1,
        "pending": 1,
        "stalled": False,
    }
    assert [(x["step"], x["lo"], x["hi"], x["worker"]) for x in lease] == [
        (0, 0, run.max_id - 1, "host-b:42:1")
    ]
    assert lease[0]["lease_until"]


def test_stalled_runs_are_listed_and_resumed_on_request(
    staff_user: Any, api: Callable[[Any], Any], at: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given an interrupted compost, a redistribution being worked on and a dry run
    stalled = _interrupted("compost", at)
    busy, _ = live_run_request(kind="redistribution", at=at, trigger="api", triggered_by_id=None)
    dry = api(staff_user).post(RUNS, {"kind": "compost", "dry_run": True}, format="json").json()
    client = api(staff_user)
    # then the list filters on being stalled
    listed = client.get(RUNS, {"stalled": "true"}).json()["results"]
    assert [r["run_id"] for r in listed] == [stalled.pk]
    others = client.get(RUNS, {"stalled": "false"}).json()["results"]
    assert [r["run_id"] for r in others] == [dry["run_id"], busy.pk]
    # when staff resumes each
    with (
        mock.patch.object(run_work, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        answers = {
            run_id: client.post(resume_url(run_id))
            for run_id in (stalled.pk, busy.pk, dry["run_id"])
        }
    # then only the stalled run got workers (202, Location); the others are answered as they
    # are (200)
    assert {k: r.status_code for k, r in answers.items()} == {
        stalled.pk: 202,
        busy.pk: 200,
        dry["run_id"]: 200,
    }
    assert answers[stalled.pk]["Location"] == detail(stalled.pk)
    assert _sent(delay) == [{"spec": "compost", "run_id": stalled.pk}] * settings.SAKA_RUN_WORKERS
    assert answers[dry["run_id"]].json()["progress"]["step"] == "dry_run"


def test_resume_of_a_finished_run_is_200_and_of_an_unknown_run_404(
    staff_user: Any, api: Callable[[Any], Any], at: Any
) -> None:
    run, _ = live_run_request(kind="compost", at=at, trigger="api", triggered_by_id=None)
    engine.drive(COMPOST, run.pk)
    with mock.patch.object(run_work, "delay") as delay:
        done = api(staff_user).post(resume_url(run.pk))
        missing = api(staff_user).post(resume_url(run.pk + 1000))
    assert (done.status_code, done.json()["status"]) == (200, "done")
    assert_error(missing, 404, "run_not_found")
    delay.assert_not_called()


def test_live_run_endpoints_query_counts(
    member: Any,
    staff_user: Any,
    api: Callable[[Any], Any],
    at: Any,
    django_assert_max_num_queries: Any,
) -> None:
    # a live run's detail: the run, its step's chunk counts, its leases, whether it is stalled
    idle(member, 2, at)
    run, _ = live_run_request(kind="compost", at=at, trigger="api", triggered_by_id=None)
    client = api(staff_user)
    with django_assert_max_num_queries(6):
        assert client.get(detail(run.pk)).status_code == 200
