from django.apps import AppConfig, apps
from django.core.exceptions import ImproperlyConfigured


class JobsConfig(AppConfig):
    name = "saka.jobs"
    label = "saka_jobs"
    verbose_name = "SAKA jobs"

    def ready(self) -> None:
        # the beat schedule's migration writes django-celery-beat's tables: say so before
        # migrate fails on a missing dependency
        if not apps.is_installed("django_celery_beat"):
            raise ImproperlyConfigured(
                "saka.jobs needs 'django_celery_beat' in INSTALLED_APPS (beat's schedule is in "
                "the database: saka.jobs.beat)."
            )
        # Register the tasks in every process (web, worker, beat), so that a task sent by
        # name (beat's schedule) resolves to the real task (and honours eager mode).
        from saka.jobs import tasks  # noqa: F401
