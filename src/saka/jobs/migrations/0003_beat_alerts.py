"""The alerts' beat entries (saka-alerts-check every 5 minutes, saka-books-reconcile nightly
at 02:30 UTC: saka.jobs.alerts) for databases whose schedule was installed before they
existed; a no-op where they are there already."""

from django.db import migrations

from saka.jobs.beat import beat_schedule_install, beat_schedule_remove
from saka.jobs.schedule import BEAT_SCHEDULE

ENTRIES = {name: BEAT_SCHEDULE[name] for name in ("saka-alerts-check", "saka-books-reconcile")}


def install(apps, schema_editor):
    beat_schedule_install(apps=apps, schedule=ENTRIES)


def remove(apps, schema_editor):
    beat_schedule_remove(apps=apps, schedule=ENTRIES)


class Migration(migrations.Migration):
    dependencies = [("saka_jobs", "0002_beat_heartbeat")]

    operations = [migrations.RunPython(install, remove)]
