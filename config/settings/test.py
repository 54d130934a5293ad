"""Settings of the test suite (pytest's ``DJANGO_SETTINGS_MODULE``): ``local`` with a fast
password hasher (``create_user`` costs ~0.3 s with the default one; tests create many users).
"""

from __future__ import annotations

import os
from typing import Any

from config.settings.local import *  # noqa: F403


def redis_database_after(url: str, offset: int) -> str:
    """``url`` with its Redis database number moved up by ``offset`` (no number: database 0)."""
    head, sep, tail = url.rpartition("/")
    if sep and tail.isdigit() and "//" in head + sep:
        return f"{head}/{int(tail) + offset}"
    return f"{url.rstrip('/')}/{offset}"


PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tasks run in the test process unless a process says otherwise (the worker processes of
# tests/jobs/multiprocess set CELERY_TASK_ALWAYS_EAGER=0 and send through their own broker):
# a test never leaves a task in a real broker because REDIS_URL happens to be set (CI sets it).
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_TASK_ALWAYS_EAGER", "1") == "1"

# Under pytest-xdist (``-n 2``: CI's SQLite and PostgreSQL steps) each test process has its
# own database (pytest-django suffixes its name with the worker id) and, with REDIS_URL, its
# own Redis database for the cache: throttle counters and cache.clear() stay per process.
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_CACHE: dict[str, Any] = CACHES["default"]  # noqa: F405
if _XDIST_WORKER.startswith("gw") and str(_CACHE["BACKEND"]).endswith("RedisCache"):
    _CACHE["LOCATION"] = redis_database_after(str(_CACHE["LOCATION"]), 1 + int(_XDIST_WORKER[2:]))

# Tests never collect static files: WhiteNoise serves them from the apps' folders (local's
# finders) and does not look for, nor warn about, a missing STATIC_ROOT.
STATIC_ROOT = None  # type: ignore[assignment]  # Django reads None as "not set"
