"""The runs' task names and their default beat schedule (UTC).

It imports nothing but Celery's schedules: no model, no task module. Migration
``saka_jobs.0001_beat_schedule`` (``saka.jobs.beat``) installs ``BEAT_SCHEDULE`` as
django-celery-beat periodic tasks, which operators edit in the admin and beat's
``DatabaseScheduler`` reads. A platform without django-celery-beat can set
``CELERY_BEAT_SCHEDULE = BEAT_SCHEDULE`` with Celery's own scheduler instead.
"""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

COMPOST_TASK = "saka.jobs.tasks.compost_run"
REDISTRIBUTION_TASK = "saka.jobs.tasks.redistribution_run"
SETTLEMENT_TASK = "saka.jobs.tasks.settlement_run"
RUN_WORK_TASK = "saka.jobs.tasks.run_work"
RESUME_TASK = "saka.jobs.tasks.runs_resume"
ROLLUP_TASK = "saka.jobs.tasks.ledger_rollup"
HEARTBEAT_TASK = "saka.jobs.tasks.heartbeat"
ALERTS_TASK = "saka.jobs.tasks.alerts_check"
RECONCILE_TASK = "saka.jobs.tasks.books_reconcile"
ECONOMY_SNAPSHOT_TASK = "saka.jobs.tasks.economy_snapshot"
# how often beat shows it is alive (saka.jobs.heartbeat; /healthz reads it)
HEARTBEAT_EVERY_SECONDS = 30.0
# how often the rolled-up balances (commission, project accounts, project SAKA figures) are
# folded: what they read stays exact meanwhile (cached + pending), this bounds the pending rows
ROLLUP_EVERY_SECONDS = 10.0

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # every Monday 03:00 UTC: the ISO week's compost
    "saka-compost-weekly": {
        "task": COMPOST_TASK,
        "schedule": crontab(minute="0", hour="3", day_of_week="mon"),
    },
    # the 1st of every month, 04:00 UTC: the month's redistribution
    "saka-redistribution-monthly": {
        "task": REDISTRIBUTION_TASK,
        "schedule": crontab(minute="0", hour="4", day_of_month="1"),
    },
    # every minute: interrupted or stalled runs of any period and kind get workers again
    "saka-runs-resume": {
        "task": RESUME_TASK,
        "schedule": crontab(minute="*"),
    },
    # every 10 s: fold pending credits into the rolled-up balances (off the members' path)
    "saka-ledger-rollup": {
        "task": ROLLUP_TASK,
        "schedule": ROLLUP_EVERY_SECONDS,
    },
    # every 30 s: beat's and the workers' heartbeats (/healthz)
    "saka-heartbeat": {
        "task": HEARTBEAT_TASK,
        "schedule": HEARTBEAT_EVERY_SECONDS,
    },
    # every 5 minutes: the alerts' checks (saka.jobs.alerts; docs/alerts.md)
    "saka-alerts-check": {
        "task": ALERTS_TASK,
        "schedule": crontab(minute="*/5"),
    },
    # every night 02:30 UTC: reconcile the books, alert on any discrepancy
    "saka-books-reconcile": {
        "task": RECONCILE_TASK,
        "schedule": crontab(minute="30", hour="2"),
    },
    # every 15 minutes: the staff dashboard's snapshot of the SAKA economy (the figures that
    # need every wallet: saka.grains.economy; runs refresh it too when they finish)
    "saka-economy-snapshot": {
        "task": ECONOMY_SNAPSHOT_TASK,
        "schedule": crontab(minute="*/15"),
    },
}
