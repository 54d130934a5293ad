"""A minimal host project embedding the SAKA apps, installed from the wheel (docs/embedding.md)."""

from embedsite.celery import app as celery_app

__all__ = ["celery_app"]
