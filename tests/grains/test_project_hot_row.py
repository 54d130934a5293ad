"""A project's SAKA figures are not a hot row (spec §2), on PostgreSQL with real threads: a
boost appends a pending delta instead of updating the project row, so two members boosting
the same project at once never queue on it, and the figures read stay exact (cached +
pending), before and after the rollup.

Before, every boost updated ``saka_score``/``saka_supporters`` on the project row in its
transaction: a second member's boost waited for the first's commit (``LockTimeout`` under a
short ``lock_timeout``)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.utils import timezone

from saka.grains import services
from tests.support.euro_races import JOIN_SECONDS
from tests.support.run_scenarios import active
from tests.support.threads import Worker, join, settle

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_boost_does_not_wait_for_another_members_open_boost_of_the_project(
    make_user: Any, project: Any, monkeypatch: Any
) -> None:
    # given member A's boost of the project booked and its transaction still open
    a, b = make_user(), make_user()
    active(a, timezone.now())
    active(b, timezone.now())
    booked, release = threading.Event(), threading.Event()
    real_idempotent = services.idempotent

    def idempotent(**kwargs: Any) -> Any:
        out = real_idempotent(**kwargs)  # the booking, inside the service's transaction
        if threading.current_thread().name == "paused":
            booked.set()
            release.wait(JOIN_SECONDS)
        return out

    monkeypatch.setattr(services, "idempotent", idempotent)
    first = Worker(
        lambda: services.project_boost(member_id=a.pk, project_id=project.pk, amount=10),
        name="paused",
    )
    first.start()
    try:
        assert booked.wait(JOIN_SECONDS)
        # when member B boosts the same project with a 200 ms lock_timeout
        second = Worker(
            lambda: services.project_boost(member_id=b.pk, project_id=project.pk, amount=7),
            lock_timeout_ms=200,
        )
        second.start()
        join([second])
    finally:
        release.set()
    settle(first)
    # then B's boost completed meanwhile, and saw its own boost (A's is not committed yet)
    assert second.error is None, repr(second.error)
    assert (second.result.project_score, second.result.project_supporters) == (7, 1)
