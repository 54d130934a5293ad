"""The workers of a run: ``run_workers_enqueue`` sends ``run_work`` tasks only once the caller's
transaction commits; a start task finishes any earlier unfinished run of its kind first, then
shares the period's run with ``SAKA_RUN_WORKERS - 1`` workers and works on it itself; a
``run_work`` task joins any run by kind and id; ``runs_resume`` sends workers to the runs
nobody works on; a redistribution stranded after its pot moved is paid by next month's tick."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone

from saka.core.errors import ValidationError
from saka.demo.seed import seed_population
from saka.engine import lifecycle as engine
from saka.grains.models import AccountKind, Run, RunKind, RunStatus
from saka.grains.runs.compost import COMPOST, compost_run_start
from saka.grains.runs.periods import period_of
from saka.grains.runs.redistribution import REDISTRIBUTION, redistribution_run_start
from saka.grains.selectors import wallet_summary
from saka.jobs.enqueue import run_workers_enqueue
from saka.jobs.runs import SPEC_OF_KIND, live_run_request
from saka.jobs.tasks import compost_run, redistribution_run, run_work, runs_resume
from tests.support.clock import A
from tests.support.run_crashes import patch_step, seed_model
from tests.support.run_scenarios import eager_tasks, idle
from tests.support.runs_reference import (
    RedistributionRules,
    redistribution_plan,
    run_postings,
    system_balance,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def at() -> Any:
    return timezone.now().replace(microsecond=0)


def _opened(kind: str, at: Any) -> Run:
    """The live run of ``at``'s period, opened (queued) as the API and the admin open it."""
    run, created = live_run_request(kind=kind, at=at, trigger="admin", triggered_by_id=None)
    assert created
    assert run.status == RunStatus.QUEUED
    return run


def _sent(delay: Any) -> list[tuple[str, int]]:
    return [(c.kwargs["spec"], c.kwargs["run_id"]) for c in delay.call_args_list]


# --- enqueueing after commit --------------------------------------------------------------------


def test_run_workers_enqueue_sends_nothing_before_commit(
    at: Any, django_capture_on_commit_callbacks: Any
) -> None:
    run = _opened(RunKind.COMPOST, at)
    with mock.patch.object(run_work, "delay") as delay:
        # when three workers are sent inside a transaction
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            run_workers_enqueue(spec="compost", run_id=run.pk, count=3)
        # then nothing is sent until the transaction commits
        delay.assert_not_called()
        assert len(callbacks) == 3
        # when it commits
        for callback in callbacks:
            callback()
    # then three run_work tasks are sent, each naming the run's kind and id
    assert _sent(delay) == [("compost", run.pk)] * 3


def test_run_workers_enqueue_of_no_worker_sends_nothing(
    at: Any, django_capture_on_commit_callbacks: Any
) -> None:
    run = _opened(RunKind.COMPOST, at)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run_workers_enqueue(spec="compost", run_id=run.pk, count=0)
    assert callbacks == []


def test_run_workers_enqueue_then_commit_runs_the_queued_run(
    member: Any, staff_user: Any, at: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given an eligible wallet, a run opened by staff from the admin, tasks executed in-process
    idle(member, 2, at)
    run, _ = live_run_request(
        kind=RunKind.COMPOST, at=at, trigger="admin", triggered_by_id=staff_user.pk
    )
    # when two workers are sent and the transaction commits
    with eager_tasks(), django_capture_on_commit_callbacks(execute=True):
        run_workers_enqueue(spec="compost", run_id=run.pk, count=2)
    # then the run was done (by the first; the second found it done), as the admin's
    run.refresh_from_db()
    assert (run.status, run.trigger, run.triggered_by_id) == ("done", "admin", staff_user.pk)
    assert (run.as_of, run.attempts) == (at, 1)
    assert wallet_summary(member_id=member.pk).balance == 90


def test_run_workers_enqueue_in_a_rolled_back_transaction_sends_nothing(at: Any) -> None:
    run = _opened(RunKind.REDISTRIBUTION, at)

    def enqueue_then_fail() -> None:
        with transaction.atomic():
            run_workers_enqueue(spec="redistribution", run_id=run.pk, count=2)
            raise RuntimeError("the caller fails after enqueueing")

    with mock.patch.object(run_work, "delay") as delay:
        with pytest.raises(RuntimeError):
            enqueue_then_fail()
        delay.assert_not_called()


def test_run_workers_enqueue_refuses_an_unknown_kind() -> None:
    with pytest.raises(ValidationError):
        run_workers_enqueue(spec="harvest", run_id=1, count=1)


# --- the start tasks share the run ------------------------------------------------------------


def test_start_task_sends_the_other_workers_and_works_on_the_run_itself(
    member: Any, at: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given three workers per run, and an eligible wallet
    settings.SAKA_RUN_WORKERS = 3
    idle(member, 2, at)
    # when beat's compost task runs (the workers it sends are only recorded)
    with (
        mock.patch.object(run_work, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),  # exits first: sends while mocked
    ):
        summary = compost_run.apply(kwargs={"as_of": at.isoformat()}).get()
    # then it sent two workers to the run, and did the run itself
    run = Run.objects.get(kind=RunKind.COMPOST, dry_run=False)
    assert _sent(delay) == [("compost", run.pk)] * 2
    assert (summary["run_id"], summary["status"]) == (run.pk, RunStatus.DONE)
    assert wallet_summary(member_id=member.pk).balance == 90


def test_start_task_finishes_an_earlier_unfinished_run_of_its_kind_first(
    member: Any, at: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given last week's compost opened but never worked on (its workers were lost)
    idle(member, 2, at)
    earlier = _opened(RunKind.COMPOST, at - timedelta(days=7))
    # when this week's compost task runs
    with (
        mock.patch.object(run_work, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        summary = compost_run.apply(kwargs={"as_of": at.isoformat()}).get()
    # then last week's run was finished first (it composted the idle wallet), then this
    # week's (nothing left to compost); workers were sent to each
    earlier.refresh_from_db()
    current = Run.objects.get(pk=summary["run_id"])
    assert current.pk != earlier.pk
    assert (earlier.status, earlier.amount_done) == (RunStatus.DONE, 10)
    assert (current.status, current.outcome) == (RunStatus.DONE, "nothing_to_compost")
    assert earlier.finished_at <= current.finished_at
    assert set(_sent(delay)) == {("compost", earlier.pk), ("compost", current.pk)}
    assert wallet_summary(member_id=member.pk).balance == 90


# --- run_work ---------------------------------------------------------------------------------


def test_run_work_joins_a_run_and_finishes_it(member: Any, at: Any) -> None:
    # given a run opened, not yet joined
    idle(member, 2, at)
    run = _opened(RunKind.COMPOST, at)
    # when a worker task joins it
    result = run_work.apply(kwargs={"spec": "compost", "run_id": run.pk})
    # then it did the run
    assert result.successful(), result.traceback
    assert result.get() == {
        "spec": "compost",
        "run_id": run.pk,
        "status": RunStatus.DONE,
        "outcome": "completed",
    }
    assert wallet_summary(member_id=member.pk).balance == 90
    # and a late worker finds it done and changes nothing
    late = run_work.apply(kwargs={"spec": "compost", "run_id": run.pk}).get()
    assert late["status"] == RunStatus.DONE
    assert Run.objects.get(pk=run.pk).attempts == 1
    assert wallet_summary(member_id=member.pk).balance == 90


def test_run_work_refuses_an_unknown_kind_without_retrying() -> None:
    with mock.patch.object(engine, "drive") as drive:
        result = run_work.apply(kwargs={"spec": "harvest", "run_id": 1})
    assert result.failed()
    assert isinstance(result.result, ValidationError)
    drive.assert_not_called()


# --- runs_resume ----------------------------------------------------------------------------


def test_runs_resume_sends_workers_to_the_runs_nobody_works_on(
    at: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given an earlier compost done, this week's compost interrupted, and this month's
    # redistribution "running" with no lease and no progress for longer than the stall time
    settings.SAKA_RUN_WORKERS = 2
    done = compost_run_start(as_of=at - timedelta(days=14))
    interrupted = _opened(RunKind.COMPOST, at)
    engine.interrupt(COMPOST, interrupted.pk, RuntimeError("worker lost"))
    stale = _opened(RunKind.REDISTRIBUTION, at)
    long_ago = timezone.now() - timedelta(seconds=settings.SAKA_RUN_STALL_SECONDS + 60)
    Run.objects.filter(pk=stale.pk).update(status=RunStatus.RUNNING, updated_at=long_ago)
    # when beat's resume task runs (the workers it sends are only recorded)
    with (
        mock.patch.object(run_work, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        resumed = runs_resume.apply().get()
    # then both unfinished runs got SAKA_RUN_WORKERS workers; the done one none
    assert sorted(resumed, key=lambda r: r["run_id"]) == [
        {"spec": "compost", "run_id": interrupted.pk},
        {"spec": "redistribution", "run_id": stale.pk},
    ]
    assert sorted(_sent(delay)) == sorted(
        [("compost", interrupted.pk)] * 2 + [("redistribution", stale.pk)] * 2
    )
    assert done.pk not in {r["run_id"] for r in resumed}
    # and the stale run is marked resumed (interrupted: its next worker counts an attempt)
    stale.refresh_from_db()
    assert (stale.status, stale.attempts) == (RunStatus.INTERRUPTED, 1)
    # when workers did them, the resume task finds nothing more to resume
    for run in (interrupted, stale):
        engine.drive(SPEC_OF_KIND[run.kind], run.pk)
    with (
        mock.patch.object(run_work, "delay") as again,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert runs_resume.apply().get() == []
    again.assert_not_called()
    assert Run.objects.get(pk=stale.pk).attempts == 2


# --- a stranded redistribution ---------------------------------------------------------------


class Killed(BaseException):
    """A crash no ``except Exception`` stops."""


def test_next_months_beat_tick_pays_a_redistribution_stranded_after_its_pot_moved(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a seeded population composted into the silo, and this month's redistribution
    # killed right after its pot moved into the pool, before any member was paid
    seed_population(wallets=300, as_of=A)
    compost_run_start(as_of=A)
    silo = system_balance(AccountKind.SILO)

    def killed(run: Any, lo: int, hi: int, worker: str) -> None:
        raise Killed

    patch_step(monkeypatch, REDISTRIBUTION, "credit", killed)
    with pytest.raises(Killed):
        redistribution_run_start(as_of=A, chunk_size=50, workers=1)
    monkeypatch.undo()
    stranded = Run.objects.get(kind=RunKind.REDISTRIBUTION, dry_run=False)
    assert stranded.status == RunStatus.INTERRUPTED
    moved = (stranded.per_wallet or 0) * (stranded.eligible_wallets or 0)
    assert system_balance(AccountKind.POOL) == moved > 0  # the pot's share of every wallet
    assert run_postings(stranded.pk) == {}
    # when next month's beat tick runs the redistribution task
    next_month = A + timedelta(days=31)
    with mock.patch.object(run_work, "delay"):
        summary = redistribution_run.apply(kwargs={"as_of": next_month.isoformat()}).get()
    # then last month's members were paid exactly once, from the pool, which is empty again
    stranded.refresh_from_db()
    plan = redistribution_plan(seed_model(300), silo, RedistributionRules(), A)
    assert (stranded.status, stranded.attempts) == (RunStatus.DONE, 2)
    assert run_postings(stranded.pk) == dict.fromkeys(plan.eligible, plan.per_wallet)
    assert (stranded.wallets_done, stranded.amount_done) == (len(plan.eligible), plan.total)
    assert system_balance(AccountKind.POOL) == 0
    # and then the new month ran, from the silo last month left
    current = Run.objects.get(pk=summary["run_id"])
    assert current.period == period_of(RunKind.REDISTRIBUTION, next_month) != stranded.period
    assert (current.status, current.silo_before) == (RunStatus.DONE, stranded.silo_after)
    assert current.amount_done == (current.per_wallet or 0) * (current.eligible_wallets or 0)
