"""The spec's beat schedule (saka.jobs.schedule.BEAT_SCHEDULE) as django-celery-beat periodic
tasks; reversible (saka.jobs.beat)."""

from django.db import migrations

from saka.jobs.beat import beat_schedule_install, beat_schedule_remove


def install(apps, schema_editor):
    beat_schedule_install(apps=apps)


def remove(apps, schema_editor):
    beat_schedule_remove(apps=apps)


class Migration(migrations.Migration):
    dependencies = [("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [migrations.RunPython(install, remove)]
