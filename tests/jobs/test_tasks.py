"""Celery tasks of the runs: thin, retried on lock timeouts and conflicts while opening a run,
scheduled by beat (the runs, and every minute the resumption of stalled runs). The workers
they send and the enqueueing: ``test_run_workers``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from celery import signature
from celery.schedules import crontab
from django.conf import settings
from django.db import OperationalError, connection
from django.utils import timezone

from config.celery import app as celery_app
from saka.core.errors import LockTimeout, ValidationError
from saka.engine.errors import RunConflict
from saka.grains.errors import SakaDisabled
from saka.grains.models import AccountKind, Run, RunKind, RunStatus, SakaAccount
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.periods import period_of
from saka.grains.selectors import run_summary, wallet_summary
from saka.jobs import tasks
from saka.jobs.schedule import RESUME_TASK, RUN_WORK_TASK
from saka.jobs.tasks import (
    alerts_check,
    books_reconcile,
    compost_run,
    economy_snapshot,
    heartbeat,
    ledger_rollup,
    redistribution_run,
    run_work,
    runs_resume,
)
from tests.support.run_scenarios import active, idle

pytestmark = pytest.mark.django_db


@pytest.fixture
def at() -> Any:
    return timezone.now().replace(microsecond=0)


def _silo() -> int:
    return SakaAccount.objects.get(kind=AccountKind.SILO).balance


# --- running the services ---------------------------------------------------------------------


def test_compost_task_runs_the_live_compost_and_returns_its_summary(member: Any, at: Any) -> None:
    # given a wallet of 100 grains idle for 120 days
    idle(member, 2, at)
    # when beat's task runs at ``at``
    result = compost_run.apply(kwargs={"as_of": at.isoformat()})
    # then it returns the run's summary: 10% of 100 composted, started by beat
    assert result.successful(), result.traceback
    summary = result.get()
    run = Run.objects.get(kind=RunKind.COMPOST, dry_run=False)
    assert summary == run_summary(run)
    assert summary["trigger"] == "beat"
    assert summary["status"] == RunStatus.DONE
    assert summary["period"] == period_of(RunKind.COMPOST, at)
    assert (summary["wallets_composted"], summary["total_composted"]) == (1, 10)
    # and the grains moved
    assert wallet_summary(member_id=member.pk).balance == 90
    assert _silo() == 10


def test_compost_dry_run_task_books_nothing(member: Any, at: Any) -> None:
    # given an eligible wallet
    idle(member, 2, at)
    # when the task runs as a dry run
    summary = compost_run.apply(kwargs={"as_of": at.isoformat(), "dry_run": True}).get()
    # then it reports what a live run would do and books nothing
    assert summary["dry_run"] is True
    assert (summary["wallets_composted"], summary["total_composted"]) == (1, 10)
    assert wallet_summary(member_id=member.pk).balance == 100
    assert not Run.objects.filter(dry_run=False).exists()


def test_redistribution_task_credits_the_active_members(
    member: Any, other_member: Any, make_user: Callable[..., Any], at: Any
) -> None:
    # given a silo of 3 x 25 grains composted from idle wallets and one active member
    idlers = [member, make_user(), make_user()]
    for user in idlers:
        idle(user, 5, at)
    active(other_member, at)
    compost_run_start(as_of=at)
    assert _silo() == 75
    # when the redistribution task runs, started by a staff member from the admin
    summary = redistribution_run.apply(
        kwargs={"as_of": at.isoformat(), "trigger": "admin", "triggered_by_id": member.pk}
    ).get()
    # then pot = floor(75 x 5%) = 3 goes to the one active member
    assert summary["trigger"] == "admin"
    assert summary["triggered_by"] == member.pk
    assert (summary["pot"], summary["eligible_wallets"], summary["per_wallet"]) == (3, 1, 3)
    assert summary["total_redistributed"] == 3
    assert wallet_summary(member_id=other_member.pk).balance == 53
    assert _silo() == 72


def test_task_of_a_finished_period_returns_the_finished_run(member: Any, at: Any) -> None:
    # given the live compost of this week already done
    idle(member, 2, at)
    first = compost_run.apply(kwargs={"as_of": at.isoformat()}).get()
    # when the task runs again for the same week
    again = compost_run.apply(kwargs={"as_of": (at + timedelta(seconds=1)).isoformat()}).get()
    # then it returns the same run and composts nothing twice
    assert again["run_id"] == first["run_id"]
    assert wallet_summary(member_id=member.pk).balance == 90


@pytest.mark.parametrize(
    "kwargs",
    [
        {"trigger": "cron"},
        {"as_of": "next monday"},
        {"as_of": "2026-11-23T03:00:00"},  # naive
        {"as_of": 1_700_000_000},
        {"dry_run": "false"},
    ],
)
def test_task_refuses_bad_arguments_without_retrying(kwargs: dict[str, Any]) -> None:
    # given arguments no caller of ours sends
    with (
        mock.patch.object(tasks, "compost_run_start") as dry,
        mock.patch.object(tasks, "open_live") as live,
    ):
        # when the task runs
        result = compost_run.apply(kwargs=kwargs)
    # then it fails with a validation error, never reaches a run (dry or live), never retries
    assert result.failed()
    assert isinstance(result.result, ValidationError)
    dry.assert_not_called()
    live.assert_not_called()
    assert not Run.objects.exists()


# --- retries ----------------------------------------------------------------------------------


@pytest.mark.parametrize("task", [compost_run, redistribution_run, run_work])
def test_tasks_retry_lock_timeouts_and_run_conflicts_with_backoff(task: Any) -> None:
    # then the run tasks are retried on exactly these errors, with exponential backoff
    assert set(task.autoretry_for) == {LockTimeout, RunConflict}
    assert task.retry_backoff
    assert task.retry_backoff_max >= task.retry_backoff
    assert task.retry_jitter is True
    assert 1 <= task.max_retries <= 20
    # and a task lost with its worker is delivered again
    assert task.acks_late is True
    assert task.reject_on_worker_lost is True


@pytest.mark.parametrize(
    ("error", "where"),
    [
        (LockTimeout(), "share"),
        (RunConflict(), "open_live"),
        (OperationalError("database is locked"), "share"),
    ],
    ids=["lock_timeout", "run_conflict", "sqlite_locked"],
)
def test_task_retries_then_succeeds(error: Exception, where: str, member: Any, at: Any) -> None:
    # given a step of the task (opening the run, or working on it) that fails twice with a
    # retryable error, then works
    idle(member, 2, at)
    calls: list[int] = []
    real = getattr(tasks, where)

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) <= 2:
            raise error
        return real(*args, **kwargs)

    with mock.patch.object(tasks, where, side_effect=flaky):
        # when the task runs (eagerly: retries run at once)
        result = compost_run.apply(kwargs={"as_of": at.isoformat()})
    # then the third attempt composted, once, in the one live run
    assert result.successful(), result.traceback
    assert len(calls) == 3
    assert result.get()["total_composted"] == 10
    assert wallet_summary(member_id=member.pk).balance == 90
    assert Run.objects.filter(dry_run=False).count() == 1


def test_task_gives_up_after_max_retries() -> None:
    # given a run that always meets a lock timeout when it is opened
    with mock.patch.object(tasks, "open_live", side_effect=LockTimeout()) as start:
        # when the task runs
        result = compost_run.apply()
    # then it tried 1 + max_retries times and fails with the lock timeout
    assert result.failed()
    assert isinstance(result.result, LockTimeout)
    assert start.call_count == compost_run.max_retries + 1


def test_task_does_not_retry_other_errors(settings: Any) -> None:
    # given SAKA switched off
    settings.SAKA_ENABLED = False
    with mock.patch.object(tasks, "open_live") as start:
        result = compost_run.apply()
    # then the task fails at once, before any run is opened
    assert result.failed()
    assert isinstance(result.result, SakaDisabled)
    start.assert_not_called()
    assert not Run.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_task_calls_the_service_outside_any_transaction(member: Any, at: Any) -> None:
    # given an eligible wallet (a real, committed database: no test transaction around)
    idle(member, 2, at)
    seen: list[tuple[str, bool]] = []

    def spy(name: str) -> Any:
        real = getattr(tasks, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            seen.append((name, connection.in_atomic_block))
            return real(*args, **kwargs)

        return call

    with (
        mock.patch.object(tasks, "open_live", side_effect=spy("open_live")),
        mock.patch.object(tasks, "share", side_effect=spy("share")),
    ):
        result = compost_run.apply(kwargs={"as_of": at.isoformat()})
    # then the engine owned its transactions (opening the run, each chunk): the task opened none
    assert result.successful(), result.traceback
    assert seen == [("open_live", False), ("share", False)]


# --- schedule and configuration ----------------------------------------------------------------


def _beat_entries() -> dict[str, Any]:
    """What beat runs: its DatabaseScheduler's entry of every enabled periodic task."""
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    return {
        task.name: DatabaseScheduler.Entry(task, app=celery_app)
        for task in PeriodicTask.objects.filter(enabled=True)
    }


def test_beat_schedules_compost_weekly_redistribution_monthly_resumes_and_heartbeats() -> None:
    # beat reads the database (migration saka_jobs 0001 wrote the schedule there), and no
    # schedule in the settings would be written over the admin's edits when beat starts
    assert celery_app.conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"
    assert not celery_app.conf.beat_schedule
    entries = _beat_entries()
    by_task = {entry.task: entry.schedule for entry in entries.values()}
    assert set(by_task) == {
        compost_run.name,
        redistribution_run.name,
        runs_resume.name,
        ledger_rollup.name,
        heartbeat.name,
        alerts_check.name,
        books_reconcile.name,
        economy_snapshot.name,
    }
    # the dashboard's economy snapshot: every 15 minutes
    snapshot = by_task[economy_snapshot.name]
    assert isinstance(snapshot, crontab)
    assert (snapshot.minute, snapshot.hour) == (set(range(0, 60, 15)), set(range(24)))
    # the alerts' checks: every 5 minutes; the books reconciled nightly at 02:30 UTC
    alerts = by_task[alerts_check.name]
    assert isinstance(alerts, crontab)
    assert (alerts.minute, alerts.hour) == (set(range(0, 60, 5)), set(range(24)))
    books = by_task[books_reconcile.name]
    assert isinstance(books, crontab)
    assert (books.minute, books.hour, books.day_of_week) == ({30}, {2}, set(range(7)))
    # beat's heartbeat (/healthz): every 30 s
    assert by_task[heartbeat.name].run_every == timedelta(seconds=30)
    # stalled runs of any kind and period: every minute
    resume = by_task[runs_resume.name]
    assert isinstance(resume, crontab)
    assert (resume.minute, resume.hour) == (set(range(60)), set(range(24)))
    # compost: every Monday at 03:00 UTC
    compost = by_task[compost_run.name]
    assert isinstance(compost, crontab)
    assert (compost.minute, compost.hour, compost.day_of_week) == ({0}, {3}, {1})
    assert compost.day_of_month == set(range(1, 32))
    # redistribution: the 1st of every month at 04:00 UTC
    redistribution = by_task[redistribution_run.name]
    assert isinstance(redistribution, crontab)
    assert (redistribution.minute, redistribution.hour) == ({0}, {4})
    assert redistribution.day_of_month == {1}
    assert redistribution.day_of_week == set(range(7))
    assert redistribution.month_of_year == set(range(1, 13))
    assert {str(s.tz) for s in (resume, compost, redistribution, alerts, books)} == {"UTC"}
    # the rollup: every 10 s
    assert by_task[ledger_rollup.name].run_every == timedelta(seconds=10)
    assert celery_app.conf.timezone == "UTC"
    # and beat's calls use the defaults: a live run, now, started by beat
    assert not any(entry.args or entry.kwargs for entry in entries.values())


def test_celery_app_reads_the_django_settings() -> None:
    conf = celery_app.conf
    assert celery_app.main == "saka"
    assert conf.broker_url == (settings.REDIS_URL or "memory://")
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    # results on the broker's Redis, for a day (``celery -A config result <id>``)
    assert conf.result_backend == (settings.REDIS_URL or None)
    assert conf.result_expires == 24 * 3600


def test_tasks_are_registered_under_the_names_the_api_enqueues() -> None:
    # a task sent by name (beat, another host's worker) must resolve to the registered task
    for kind, task in (
        (RunKind.COMPOST, compost_run),
        (RunKind.REDISTRIBUTION, redistribution_run),
    ):
        assert signature(tasks.TASK_OF_KIND[kind]).type is task._get_current_object()
    for name, task in ((RUN_WORK_TASK, run_work), (RESUME_TASK, runs_resume)):
        assert signature(name).type is task._get_current_object()


def test_the_rollup_task_folds_pending_credits_and_boosts(
    make_user: Any, project: Any, settings: Any
) -> None:
    # given a deposit with a tip and a boost of a project, both pending
    from saka.euro.accounts import system_account_id as euro_system_account_id
    from saka.euro.models import AccountKind as EuroKind
    from saka.euro.models import EuroAccount, EuroPendingDelta
    from saka.grains.services import project_boost
    from saka.projects.models import Project, ProjectScoreDelta
    from tests.support.euro import SECRET, deposit

    settings.SAKA_PAYMENT_WEBHOOK_SECRET = SECRET
    member = make_user()
    deposit(member, 10_00, tip=1_00)
    active(member, timezone.now())
    project_boost(member_id=member.pk, project_id=project.pk, amount=10)
    # when beat's rollup task runs
    result = ledger_rollup.apply()
    # then both were folded into their rows
    assert result.successful(), result.traceback
    assert result.result == {"eur": 1, "projects": 1}
    commission = euro_system_account_id(EuroKind.COMMISSION)
    assert EuroAccount.objects.get(pk=commission).balance == 1_00
    assert not EuroPendingDelta.objects.exists()
    assert Project.objects.values_list("saka_score", flat=True).get(pk=project.pk) == 10
    assert not ProjectScoreDelta.objects.exists()


# --- the dashboard's snapshot -------------------------------------------------------------------


def test_the_snapshot_task_takes_one_and_a_finished_compost_task_takes_another(
    member: Any, at: Any
) -> None:
    from saka.grains.models import EconomySnapshot

    # given a wallet of 100 grains idle for 120 days
    idle(member, 2, at)
    # when beat's snapshot task runs
    result = economy_snapshot.apply().get()
    # then a snapshot: one wallet of 100 grains, 10 of them for a compost now
    first = EconomySnapshot.objects.get(pk=result["id"])
    assert (first.wallets, first.supply, first.next_compost_grains) == (1, 100, 10)
    # and when the compost task finishes the week's run, it takes the next one itself
    compost_run.apply(kwargs={"as_of": at.isoformat()}).get()
    latest = EconomySnapshot.objects.order_by("-id").first()
    assert latest is not None
    assert latest.pk != first.pk
    assert (latest.supply, latest.next_compost_grains) == (90, 0)
