"""Beat's schedule in the database (django-celery-beat's ``DatabaseScheduler``).

``beat_schedule_install`` writes the entries of ``saka.jobs.schedule.BEAT_SCHEDULE`` as
periodic tasks (a crontab or an interval each, UTC); ``beat_schedule_remove`` takes them out
again. Migration ``saka_jobs.0001_beat_schedule`` calls them with the migration's model
registry, so a fresh database starts with the spec's schedule, which operators then edit in the
admin (Periodic tasks): beat never writes it over.

Idempotent: an entry whose name is already a periodic task is left as it is (an operator's
edit survives a second install). A later change of ``BEAT_SCHEDULE`` needs its own migration
for the databases installed before it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from celery.schedules import crontab
from django.apps.registry import Apps
from django.utils import timezone

from saka.jobs.schedule import BEAT_SCHEDULE

APP = "django_celery_beat"
DESCRIPTION = "SAKA default (saka.jobs.schedule); edit or disable it here."


def _crontab_fields(schedule: crontab) -> dict[str, str]:
    # the fields as written in BEAT_SCHEDULE (django-celery-beat's from_schedule reads the same)
    return {
        "minute": str(schedule._orig_minute),
        "hour": str(schedule._orig_hour),
        "day_of_week": str(schedule._orig_day_of_week),
        "day_of_month": str(schedule._orig_day_of_month),
        "month_of_year": str(schedule._orig_month_of_year),
        "timezone": "UTC",
    }


def _interval_seconds(schedule: float | dt.timedelta) -> int:
    seconds = schedule.total_seconds() if isinstance(schedule, dt.timedelta) else schedule
    if seconds != int(seconds) or seconds < 1:
        raise ValueError(f"A beat interval is whole seconds, got {schedule!r}.")
    return int(seconds)


def _schedule_of(*, apps: Apps, schedule: Any) -> dict[str, Any]:
    """The ``crontab`` or ``interval`` foreign key of a periodic task running on ``schedule``."""
    if isinstance(schedule, crontab):
        model = apps.get_model(APP, "CrontabSchedule")
        row, _ = model.objects.get_or_create(**_crontab_fields(schedule))
        return {"crontab": row}
    if isinstance(schedule, int | float | dt.timedelta):
        model = apps.get_model(APP, "IntervalSchedule")
        row, _ = model.objects.get_or_create(every=_interval_seconds(schedule), period="seconds")
        return {"interval": row}
    raise TypeError(f"A beat schedule is a crontab or a number of seconds, got {schedule!r}.")


def _touch(*, apps: Apps) -> None:
    # a running beat reloads its schedule when this row's time changes
    apps.get_model(APP, "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


def beat_schedule_install(
    *, apps: Apps, schedule: Mapping[str, Mapping[str, Any]] = BEAT_SCHEDULE
) -> list[str]:
    """Create a periodic task for each entry of ``schedule`` missing from the database; return
    the names created."""
    periodic_task = apps.get_model(APP, "PeriodicTask")
    existing = set(
        periodic_task.objects.filter(name__in=list(schedule)).values_list("name", flat=True)
    )
    created = []
    for name, entry in schedule.items():
        if name in existing:
            continue
        periodic_task.objects.create(
            name=name,
            task=entry["task"],
            args=json.dumps(list(entry.get("args", ()))),
            kwargs=json.dumps(dict(entry.get("kwargs", {}))),
            description=DESCRIPTION,
            **_schedule_of(apps=apps, schedule=entry["schedule"]),
        )
        created.append(name)
    if created:
        _touch(apps=apps)
    return created


def beat_schedule_remove(
    *, apps: Apps, schedule: Mapping[str, Mapping[str, Any]] = BEAT_SCHEDULE
) -> int:
    """Delete the periodic tasks named in ``schedule``, and their crontabs and intervals when
    no other task runs on them; return the number of tasks deleted."""
    tasks = apps.get_model(APP, "PeriodicTask").objects.filter(name__in=list(schedule))
    crontabs = set(tasks.exclude(crontab=None).values_list("crontab_id", flat=True))
    intervals = set(tasks.exclude(interval=None).values_list("interval_id", flat=True))
    deleted = tasks.count()
    tasks.delete()
    for model, ids in (("CrontabSchedule", crontabs), ("IntervalSchedule", intervals)):
        apps.get_model(APP, model).objects.filter(pk__in=ids, periodictask=None).delete()
    _touch(apps=apps)
    return deleted
