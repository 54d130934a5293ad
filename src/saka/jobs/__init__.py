"""Celery tasks and the Run admin: an interface layer over ``saka.grains`` (domain code never
imports Celery). The beat schedule lives in the project's settings (``CELERY_BEAT_SCHEDULE``)."""
