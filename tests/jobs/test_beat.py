"""Beat's schedule in the database (``saka.jobs.beat``, migration ``saka_jobs.0001``): the spec's
entries installed once, an operator's edits kept, taken out again by the migration's reverse.
What beat makes of the installed rows: ``test_tasks`` (the schedule's slots)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery.schedules import crontab
from django.apps import apps
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from saka.jobs.beat import beat_schedule_install, beat_schedule_remove
from saka.jobs.schedule import BEAT_SCHEDULE

pytestmark = pytest.mark.django_db


def _ours() -> dict[str, PeriodicTask]:
    return {t.name: t for t in PeriodicTask.objects.filter(name__in=list(BEAT_SCHEDULE))}


def _fields(schedule: crontab) -> tuple[set[int], ...]:
    s = schedule
    return (s.minute, s.hour, s.day_of_week, s.day_of_month, s.month_of_year)


def test_the_migrated_database_holds_every_entry_of_the_schedule() -> None:
    # given a database as migrate leaves it: every entry, with its task and slot, enabled
    tasks = _ours()
    assert set(tasks) == set(BEAT_SCHEDULE)
    for name, entry in BEAT_SCHEDULE.items():
        task = tasks[name]
        assert (task.task, task.enabled, task.args, task.kwargs) == (
            entry["task"],
            True,
            "[]",
            "{}",
        )
        if isinstance(entry["schedule"], crontab):
            assert task.crontab is not None
            assert task.interval is None
            assert str(task.crontab.timezone) == "UTC"
            assert _fields(task.schedule) == _fields(entry["schedule"])
        else:
            assert task.interval is not None
            assert (task.interval.every, task.interval.period) == (
                int(entry["schedule"]),
                "seconds",
            )


def test_installing_again_creates_nothing_and_keeps_an_operators_edits() -> None:
    # given an operator who moved the compost to Sundays and turned the rollup off
    tasks = _ours()
    sunday = CrontabSchedule.objects.create(minute="0", hour="3", day_of_week="sun", timezone="UTC")
    PeriodicTask.objects.filter(pk=tasks["saka-compost-weekly"].pk).update(crontab=sunday)
    PeriodicTask.objects.filter(pk=tasks["saka-ledger-rollup"].pk).update(enabled=False)
    count = PeriodicTask.objects.count()
    # when the defaults are installed again
    created = beat_schedule_install(apps=apps)
    # then nothing was created and the edits stand
    assert created == []
    assert PeriodicTask.objects.count() == count
    after = _ours()
    assert after["saka-compost-weekly"].crontab_id == sunday.pk
    assert after["saka-ledger-rollup"].enabled is False


def test_the_reverse_removes_the_entries_and_their_slots_but_not_an_operators_task() -> None:
    # given an operator's own task on the compost's crontab
    compost = _ours()["saka-compost-weekly"]
    mine = PeriodicTask.objects.create(
        name="platform-report", task="platform.tasks.report", crontab=compost.crontab
    )
    rollup_interval = _ours()["saka-ledger-rollup"].interval_id
    # when the migration is reversed
    deleted = beat_schedule_remove(apps=apps)
    # then our entries are gone, with the slots no other task uses; the operator's task stays
    assert deleted == len(BEAT_SCHEDULE)
    assert _ours() == {}
    assert PeriodicTask.objects.filter(pk=mine.pk, crontab=compost.crontab_id).exists()
    assert not IntervalSchedule.objects.filter(pk=rollup_interval).exists()
    assert CrontabSchedule.objects.filter(pk=compost.crontab_id).exists()
    # and installing again restores every entry
    assert sorted(beat_schedule_install(apps=apps)) == sorted(BEAT_SCHEDULE)
    assert set(_ours()) == set(BEAT_SCHEDULE)


@pytest.mark.parametrize("schedule", [2.5, 0, dt.timedelta(milliseconds=500), "daily"])
def test_a_slot_beat_cannot_store_is_refused(schedule: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        beat_schedule_install(apps=apps, schedule={"x": {"task": "t", "schedule": schedule}})
    assert not PeriodicTask.objects.filter(name="x").exists()


def test_the_app_refuses_to_start_without_django_celery_beat() -> None:
    # given a project that installs saka.jobs but not django_celery_beat
    code = (
        "import django; from django.conf import settings; from config.settings import test as t; "
        "settings.configure(**{k: getattr(t, k) for k in dir(t) if k.isupper() and "
        "k != 'INSTALLED_APPS'}, INSTALLED_APPS=[a for a in t.INSTALLED_APPS "
        "if a != 'django_celery_beat']); django.setup()"
    )
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": f"{repo / 'src'}{os.pathsep}{repo}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    # when Django starts, then it stops with what to add
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        env=env,
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "saka.jobs needs 'django_celery_beat' in INSTALLED_APPS" in done.stderr


def test_the_heartbeat_migration_adds_the_entry_to_a_schedule_installed_without_it() -> None:
    import importlib

    migration = importlib.import_module("saka.jobs.migrations.0002_beat_heartbeat")
    # given a database whose schedule was installed before the heartbeat existed
    PeriodicTask.objects.filter(name="saka-heartbeat").delete()
    # when the migration runs
    migration.install(apps, None)
    # then beat sends the heartbeat every 30 s, and nothing else changed
    task = PeriodicTask.objects.get(name="saka-heartbeat")
    assert (task.task, task.interval.every, task.interval.period) == (
        "saka.jobs.tasks.heartbeat",
        30,
        "seconds",
    )
    assert set(_ours()) == set(BEAT_SCHEDULE)
    # and its reverse takes out the heartbeat only
    migration.remove(apps, None)
    assert set(_ours()) == set(BEAT_SCHEDULE) - {"saka-heartbeat"}
