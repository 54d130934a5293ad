"""The staff dashboard's beat entry (saka-economy-snapshot every 15 minutes:
saka.grains.economy) for databases whose schedule was installed before it existed; a no-op
where it is there already."""

from django.db import migrations

from saka.jobs.beat import beat_schedule_install, beat_schedule_remove
from saka.jobs.schedule import BEAT_SCHEDULE

ENTRIES = {name: BEAT_SCHEDULE[name] for name in ("saka-economy-snapshot",)}


def install(apps, schema_editor):
    beat_schedule_install(apps=apps, schedule=ENTRIES)


def remove(apps, schema_editor):
    beat_schedule_remove(apps=apps, schedule=ENTRIES)


class Migration(migrations.Migration):
    dependencies = [("saka_jobs", "0003_beat_alerts")]

    operations = [migrations.RunPython(install, remove)]
