"""The Celery app of the reference project: ``celery -A config worker`` / ``celery -A config beat``.

Configuration comes from Django settings with the ``CELERY_`` prefix (``config.settings.local``
unless ``DJANGO_SETTINGS_MODULE`` names another module); task modules are found in the
installed apps (``saka.jobs.tasks``).

Logging is Django's ``LOGGING`` in the worker and beat too (one handler on the root logger):
answering Celery's ``setup_logging`` signal keeps Celery from installing handlers of its own,
which printed each ``saka`` line twice. ``-l``/``--loglevel`` then has no effect: levels come
from ``LOGGING`` (``SAKA_LOG_LEVEL``).
"""

from __future__ import annotations

import logging.config
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("saka")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _django_logging(**_: Any) -> None:
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
