"""Settings of the test suite (pytest's ``DJANGO_SETTINGS_MODULE``): ``local`` with a fast
password hasher (``create_user`` costs ~0.3 s with the default one; tests create many users).
"""

from __future__ import annotations

from config.settings.local import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
