"""The demo: a superuser admin, and one staff user per role."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from saka.audit.roles import ROLES

pytestmark = pytest.mark.django_db


def test_the_demo_has_one_staff_user_per_role() -> None:
    # when a small demo is built (twice: it is re-runnable)
    call_command("saka_demo", members=3, days=150, verbosity=0)
    call_command("saka_demo", members=3, days=150, verbosity=0)
    users = get_user_model().objects
    # then the admin is a superuser and each role has its staff user, in its group only
    assert users.get(username="admin").is_superuser
    for role in ROLES:
        user = users.get(username=role)
        assert (user.is_staff, user.is_superuser) == (True, False)
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert user.check_password(role)
