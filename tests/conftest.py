"""Shared fixtures.

- Every test marked ``django_db`` ends with ``reconcile()``: a scenario that leaves the books
  wrong fails, whatever it asserted itself. Tests that corrupt the books on purpose are marked
  ``corrupts_books`` and repair or accept the damage themselves.
- ``postgres`` tests are skipped on SQLite for a local first run; with ``CI=true`` or
  ``SAKA_REQUIRE_POSTGRES=1`` a run that would skip them fails instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from rest_framework.test import APIClient

from saka.audit.roles import ROLES
from saka.ledger.reconcile import reconcile
from saka.projects.models import Project
from saka.projects.services import project_create
from tests.support.polls import make_poll


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "corrupts_books: the test breaks the books on purpose")


def _postgres_required() -> bool:
    return (
        os.environ.get("CI", "").lower() == "true" or os.environ.get("SAKA_REQUIRE_POSTGRES") == "1"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if connection.vendor == "postgresql":
        return
    pg_items = [i for i in items if i.get_closest_marker("postgres")]
    if pg_items and _postgres_required():
        raise pytest.UsageError(
            f"{len(pg_items)} PostgreSQL tests would be skipped: set DATABASE_URL to a PostgreSQL "
            "server (CI must never skip them)."
        )
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    for item in pg_items:
        item.add_marker(skip)


@pytest.fixture(autouse=True)
def _reconcile_after_scenario(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if request.node.get_closest_marker("django_db") and not request.node.get_closest_marker(
        "corrupts_books"
    ):
        report = reconcile()
        assert report.ok, [d.message for d in report.discrepancies]


@pytest.fixture
def make_user(django_user_model: Any) -> Callable[..., Any]:
    counter = {"n": 0}

    def make(*, staff: bool = False, platform: bool = False, roles: Any = (), **kwargs: Any) -> Any:
        counter["n"] += 1
        user = django_user_model.objects.create_user(
            username=kwargs.pop("username", f"user{counter['n']}_{os.getpid()}"),
            password="pw",
            is_staff=staff,
            **kwargs,
        )
        if platform:
            user.user_permissions.add(Permission.objects.get(codename="harvest_on_behalf"))
        if roles:
            user.groups.add(*Group.objects.filter(name__in=roles))
        return user

    return make


@pytest.fixture
def member(make_user: Callable[..., Any]) -> Any:
    return make_user()


@pytest.fixture
def other_member(make_user: Callable[..., Any]) -> Any:
    return make_user()


@pytest.fixture
def platform_user(make_user: Callable[..., Any]) -> Any:
    return make_user(platform=True)


@pytest.fixture
def staff_user(make_user: Callable[..., Any]) -> Any:
    """A staff user holding every staff role (``saka.audit.roles``); tests of one role use
    ``make_user(staff=True, roles=[...])``."""
    return make_user(staff=True, roles=list(ROLES))


@pytest.fixture
def project(make_user: Callable[..., Any]) -> Project:
    return project_create(owner_id=make_user().pk, title="Community garden")


@pytest.fixture
def poll(db: Any) -> Any:
    """A quadratic poll with 3 options, open around T0 (``tests.support.polls``)."""
    return make_poll()


@pytest.fixture
def single_poll(db: Any) -> Any:
    return make_poll(method="single")


@pytest.fixture
def api() -> Callable[[Any], APIClient]:
    """``api(user)``: an API client authenticated as ``user`` (``None``: anonymous)."""

    def client_for(user: Any) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return client_for
