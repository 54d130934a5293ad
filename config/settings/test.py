"""Settings of the test suite (pytest's ``DJANGO_SETTINGS_MODULE``): ``local`` with a fast
password hasher (``create_user`` costs ~0.3 s with the default one; tests create many users).
"""

from __future__ import annotations

import os

from config.settings.local import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tasks run in the test process unless a process says otherwise (the worker processes of
# tests/jobs/multiprocess set CELERY_TASK_ALWAYS_EAGER=0 and send through their own broker):
# a test never leaves a task in a real broker because REDIS_URL happens to be set (CI sets it).
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_TASK_ALWAYS_EAGER", "1") == "1"

# Tests never collect static files: WhiteNoise serves them from the apps' folders (local's
# finders) and does not look for, nor warn about, a missing STATIC_ROOT.
STATIC_ROOT = None  # type: ignore[assignment]  # Django reads None as "not set"
