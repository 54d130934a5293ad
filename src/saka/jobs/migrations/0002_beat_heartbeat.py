"""Beat's heartbeat (saka-heartbeat, every 30 s: /healthz reads it) for databases whose
schedule 0001 installed before the entry existed; a no-op where it is there already."""

from django.db import migrations

from saka.jobs.beat import beat_schedule_install, beat_schedule_remove
from saka.jobs.schedule import BEAT_SCHEDULE

ENTRY = {"saka-heartbeat": BEAT_SCHEDULE["saka-heartbeat"]}


def install(apps, schema_editor):
    beat_schedule_install(apps=apps, schedule=ENTRY)


def remove(apps, schema_editor):
    beat_schedule_remove(apps=apps, schedule=ENTRY)


class Migration(migrations.Migration):
    dependencies = [("saka_jobs", "0001_beat_schedule")]

    operations = [migrations.RunPython(install, remove)]
