"""The host's own Celery app: it finds ``saka.jobs.tasks`` among the installed apps."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "embedsite.settings")

app = Celery("embedsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
