"""Settings of a developer's machine and of ``make demo``: DEBUG on, a SQLite file by default.

Environment (besides ``base``'s): ``DJANGO_DEBUG`` (``1`` by default), ``DJANGO_SECRET_KEY``
(a development key by default), ``DJANGO_ALLOWED_HOSTS`` (comma-separated, local names by
default); ``DATABASE_URL`` defaults to ``db.sqlite3`` in the repository.
"""

from __future__ import annotations

import os

from config.settings.base import *  # noqa: F403
from config.settings.base import BASE_DIR, DATABASE_URL, database

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

DATABASES = {"default": database(DATABASE_URL or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
