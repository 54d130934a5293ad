"""The host's own Celery app runs the apps' tasks: the schedule saka.jobs' migration installs
in beat's tables names tasks the host app has, and a compost sent through it (in-process here:
no broker) finishes its run."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from embedsite.celery import app

from saka.jobs.schedule import BEAT_SCHEDULE, COMPOST_TASK


@pytest.mark.django_db
def test_every_scheduled_task_is_installed_for_beat_and_registered_in_the_host_app() -> None:
    from django_celery_beat.models import PeriodicTask

    app.loader.import_default_modules()
    assert settings.CELERY_BEAT_SCHEDULER == "django_celery_beat.schedulers:DatabaseScheduler"
    scheduled = set(PeriodicTask.objects.filter(enabled=True).values_list("task", flat=True))
    assert scheduled == {entry["task"] for entry in BEAT_SCHEDULE.values()}
    assert scheduled <= set(app.tasks)


@pytest.mark.django_db(transaction=True)
def test_a_compost_sent_through_the_host_app_finishes_its_run(member: Any) -> None:
    # given the settings' eager mode (no REDIS_URL: no broker)
    assert app.conf.task_always_eager
    # when the weekly compost is sent as beat sends it
    summary = app.tasks[COMPOST_TASK].delay().get()
    # then the week's live run is done, and recorded
    from saka.grains.models import Run

    run = Run.objects.get(pk=summary["run_id"])
    assert (run.kind, run.status, run.dry_run) == ("compost", "done", False)
