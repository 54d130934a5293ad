"""The Celery app of the reference project: ``celery -A config worker`` / ``celery -A config beat``.

Configuration comes from Django settings with the ``CELERY_`` prefix (``config.settings.local``
unless ``DJANGO_SETTINGS_MODULE`` names another module); task modules are found in the
installed apps (``saka.jobs.tasks``).
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("saka")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
