"""The settlement's Celery task (``saka.jobs.tasks.settlement_run``, run eagerly here): it opens
(or finds) the campaign's settlement, sends ``SAKA_RUN_WORKERS - 1`` ``run_work`` workers to it
on commit and works on it itself; it is retried like the runs' tasks, refuses bad arguments
without retrying, and the resume task sends workers to an interrupted settlement."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from celery import signature

from saka.core.errors import LockTimeout, ValidationError
from saka.engine.errors import RunConflict
from saka.euro import settlement
from saka.euro.models import CampaignStatus, Pledge, PledgeStatus, SettlementRun
from saka.euro.selectors import settlement_summary
from saka.jobs import tasks
from saka.jobs.runs import SPECS
from saka.jobs.schedule import SETTLEMENT_TASK
from saka.jobs.tasks import runs_resume, settlement_run
from tests.support.euro import (
    close,
    deposit,
    open_campaign,
    seed_pledges,
    settlement_interrupted_in_second_chunk,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed(make_user: Any, project: Any) -> Any:
    """A succeeded campaign with 30 held pledges by three members."""
    members = [make_user() for _ in range(3)]
    for m in members:
        deposit(m, 100_000)
    campaign = open_campaign(project)
    seed_pledges(campaign, members, [100 + i for i in range(30)])
    return close(campaign, CampaignStatus.SUCCEEDED)


def test_the_task_settles_and_sends_the_other_workers_on_commit(
    closed: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given three workers per run
    settings.SAKA_RUN_WORKERS = 3
    with (
        mock.patch.object(tasks.run_work, "delay") as run_work,
        django_capture_on_commit_callbacks(execute=True),
    ):
        # when the task runs for the campaign (as the API sends it)
        result = settlement_run.apply(
            kwargs={"campaign_id": closed.pk, "trigger": "api", "chunk_size": 7}
        )
    # then it opened the settlement, sent two more workers to it and settled it itself
    assert result.successful(), result.traceback
    run = SettlementRun.objects.get(campaign=closed)
    assert result.get() == settlement_summary(run)
    assert (run.status, run.trigger, run.chunk_size, run.chunks_done) == ("done", "api", 7, 5)
    assert run_work.call_args_list == [mock.call(spec="settlement", run_id=run.pk)] * 2
    assert Pledge.objects.filter(status=PledgeStatus.RELEASED).count() == 30


def test_the_task_of_a_finished_settlement_returns_it(closed: Any) -> None:
    first = settlement.settlement_start(campaign_id=closed.pk)
    with mock.patch.object(tasks, "run_workers_enqueue") as enqueue:
        again = settlement_run.apply(kwargs={"campaign_id": closed.pk}).get()
    assert (again["id"], again["status"]) == (first.pk, "done")
    enqueue.assert_not_called()


def test_run_work_tasks_join_a_settlement(closed: Any) -> None:
    # given a settlement opened (by the API, say) and nobody working on it yet
    run, _ = settlement.settlement_open(campaign_id=closed.pk, chunk_size=4)
    # when a worker task joins it
    result = tasks.run_work.apply(kwargs={"spec": "settlement", "run_id": run.pk})
    # then it settled it
    assert result.get() == {
        "spec": "settlement",
        "run_id": run.pk,
        "status": "done",
        "outcome": "completed",
    }
    assert SettlementRun.objects.get(pk=run.pk).pledges_done == 30


def test_a_settlement_queued_by_a_deleted_user_still_runs(closed: Any, make_user: Any) -> None:
    # given the task queued by a staff member deleted before it ran
    staff = make_user(staff=True)
    staff_id = staff.pk
    staff.delete()
    # when it runs
    summary = settlement_run.apply(
        kwargs={"campaign_id": closed.pk, "trigger": "admin", "triggered_by_id": staff_id}
    ).get()
    # then the settlement ran; only who asked is lost
    assert (summary["status"], summary["pledges_done"], summary["triggered_by_id"]) == (
        "done",
        30,
        None,
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"trigger": "cron"},
        {"as_of": "tomorrow"},
        {"as_of": 1_700_000_000},
        {"campaign_id": "1"},
        {"campaign_id": True},
        {"triggered_by_id": "me"},
        {"chunk_size": 0},
    ],
)
def test_the_task_refuses_bad_arguments_without_retrying(
    closed: Any, kwargs: dict[str, Any]
) -> None:
    with mock.patch.object(tasks, "share") as share:
        result = settlement_run.apply(kwargs={"campaign_id": closed.pk, **kwargs})
    assert result.failed()
    assert isinstance(result.result, ValidationError)
    share.assert_not_called()
    assert not SettlementRun.objects.exists()


def test_the_task_retries_lock_timeouts_and_conflicts(closed: Any) -> None:
    # then it is retried on exactly the runs' errors, with backoff, and redelivered if lost
    assert set(settlement_run.autoretry_for) == {LockTimeout, RunConflict}
    assert settlement_run.retry_backoff
    assert settlement_run.acks_late is True
    assert settlement_run.reject_on_worker_lost is True
    # and a lock timeout is retried until the settlement is done, once
    calls: list[int] = []
    real = settlement.settlement_open

    def flaky(**kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) <= 2:
            raise LockTimeout()
        return real(**kwargs)

    with mock.patch.object(tasks, "settlement_open", side_effect=flaky):
        result = settlement_run.apply(kwargs={"campaign_id": closed.pk})
    assert result.successful(), result.traceback
    assert len(calls) == 3
    assert result.get()["pledges_done"] == 30


def test_the_task_is_registered_under_its_schedule_name() -> None:
    assert signature(SETTLEMENT_TASK).type is settlement_run._get_current_object()
    assert SPECS["settlement"] is settlement.SETTLEMENT


def test_the_resume_task_sends_workers_to_an_interrupted_settlement(
    closed: Any, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given a settlement interrupted in its second chunk
    run = settlement_interrupted_in_second_chunk(monkeypatch, closed.pk, 10)
    assert (run.status, run.pledges_done) == ("interrupted", 10)
    # when beat's resume task runs (its workers run eagerly once it commits)
    with django_capture_on_commit_callbacks(execute=True):
        resumed = runs_resume.apply().get()
    # then it sent workers to the settlement, which finished it
    assert {"spec": "settlement", "run_id": run.pk} in resumed
    run = SettlementRun.objects.get(pk=run.pk)
    assert (run.status, run.attempts, run.pledges_done) == ("done", 2, 30)
