"""Settings of a developer's machine and of ``make demo``: DEBUG on, a SQLite file by default.

Environment (besides ``base``'s): ``DJANGO_DEBUG`` (``1`` by default), ``DJANGO_SECRET_KEY``
(a development key by default, refused when ``DJANGO_DEBUG=0``: a server without DEBUG is
reachable by others, so its key must be a secret), ``DJANGO_ALLOWED_HOSTS`` (comma-separated,
local names by default); ``DATABASE_URL`` defaults to ``db.sqlite3`` in the repository. Static
files are served by WhiteNoise from the apps' folders, without ``collectstatic``, DEBUG or not.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import BASE_DIR, DATABASE_URL, database

DEV_SECRET_KEY = "dev-only-insecure-key-change-me"

DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "").strip() or DEV_SECRET_KEY
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0: the development key is public."
    )
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

DATABASES = {"default": database(DATABASE_URL or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}

WHITENOISE_USE_FINDERS = True  # no collectstatic on a developer's machine
