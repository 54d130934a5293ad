"""No system row on a member's path is held by a batch (spec §2, §8), on PostgreSQL with real
threads: while a settlement chunk (the release of 2,000 pledges of a project) or a compost
chunk holds its transaction open, an unrelated member's deposit with a tip, a donation to the
project being settled, and a SAKA boost of that project each complete under a short
``lock_timeout`` (a wait on a row the batch holds would fail with ``LockTimeout``).

Before the rollup, the chunk updated the platform's commission account and the project's
account in its transaction, so the tip and the donation waited for it (``LockTimeout``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import timezone

from saka.euro import settlement
from saka.euro.models import CampaignStatus, Pledge, PledgeStatus
from saka.grains import services as grains
from saka.grains.runs import compost
from saka.grains.runs.compost import compost_run_start
from tests.support.euro import close, deposit, open_campaign, seed_pledges
from tests.support.euro_races import JOIN_SECONDS, paused
from tests.support.run_scenarios import active, idle
from tests.support.threads import Worker, join, settle

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SHORT_LOCK_TIMEOUT_MS = 200
PLEDGES = 2_000


def _member_operations(make_user: Any, project: Any) -> dict[str, Callable[[], Any]]:
    """The three member operations, each by its own member (none of them pledged)."""
    tipper, donor, booster = make_user(), make_user(), make_user()
    active(booster, timezone.now())  # 50 grains, active (never composted)
    return {
        "deposit_with_tip": lambda: deposit(tipper, 10_00, tip=1_50),
        "donation_to_the_project": lambda: deposit(
            donor, 10_00, donation=4_00, project_id=project.pk
        ),
        "boost_of_the_project": lambda: grains.project_boost(
            member_id=booster.pk, project_id=project.pk, amount=10
        ),
    }


def _each_completes_under_a_short_lock_timeout(operations: dict[str, Callable[[], Any]]) -> None:
    failed = {}
    for name, operation in operations.items():
        worker = Worker(operation, name=name, lock_timeout_ms=SHORT_LOCK_TIMEOUT_MS)
        worker.start()
        join([worker])
        if worker.error is not None:
            failed[name] = repr(worker.error)
    assert failed == {}


@pytest.fixture
def settling(make_user: Any, project: Any, monkeypatch: Any) -> Iterator[threading.Event]:
    """A succeeded campaign of ``PLEDGES`` held pledges of ``project``, its settlement started
    in one chunk that has booked the release and holds its transaction open; yields the event
    that lets it commit (the fixture then checks that the settlement completed)."""
    pledgers = [make_user() for _ in range(20)]
    for m in pledgers:
        deposit(m, 10_000_000)
    campaign = open_campaign(project)
    seed_pledges(campaign, pledgers, [1_000 + i for i in range(PLEDGES)])
    close(campaign, CampaignStatus.SUCCEEDED)
    with paused(monkeypatch, settlement, "pledges_exit") as (booked, release):
        chunk = Worker(
            lambda: settlement.settlement_start(
                campaign_id=campaign.pk, chunk_size=PLEDGES, workers=1
            ),
            name="paused",
        )
        chunk.start()
        assert booked.wait(JOIN_SECONDS)
        yield release
        release.set()
        run = settle(chunk)
    assert run.pledges_done == PLEDGES
    assert not Pledge.objects.filter(campaign=campaign, status=PledgeStatus.HELD).exists()


def test_members_pass_a_settlement_chunk_holding_its_transaction(
    make_user: Any, project: Any, settling: threading.Event
) -> None:
    # given a settlement chunk releasing 2,000 pledges of the project, its transaction open
    operations = _member_operations(make_user, project)
    # when a tip, a donation to that project and a boost of it run, each with a 200 ms
    # lock_timeout; then each completed (a wait on a row the chunk holds would have failed)
    _each_completes_under_a_short_lock_timeout(operations)


@pytest.fixture
def composting(make_user: Any, monkeypatch: Any) -> Iterator[threading.Event]:
    """A compost run whose first chunk (20 idle wallets) has run its statement and holds its
    transaction open; yields the event that lets it commit."""
    at = timezone.now()
    for _ in range(20):
        idle(make_user(), 2, at)  # 100 grains idle for 120 days: 10 composted
    booked, release = threading.Event(), threading.Event()
    real_fetch = compost.fetch

    def fetch(*args: Any, **kwargs: Any) -> Any:
        out = real_fetch(*args, **kwargs)
        if threading.current_thread().name == "paused":
            booked.set()
            release.wait(JOIN_SECONDS)
        return out

    monkeypatch.setattr(compost, "fetch", fetch)
    chunk = Worker(lambda: compost_run_start(as_of=at, chunk_size=10_000, workers=1), name="paused")
    chunk.start()
    try:
        assert booked.wait(JOIN_SECONDS)
        yield release
    finally:
        release.set()
    run = settle(chunk)
    assert run.wallets_done == 20


def test_members_pass_a_compost_chunk_holding_its_transaction(
    make_user: Any, project: Any, composting: threading.Event
) -> None:
    # given a compost chunk that took grains from 20 idle wallets into the silo, uncommitted
    operations = _member_operations(make_user, project)
    # when / then: the same three operations complete under a 200 ms lock_timeout
    _each_completes_under_a_short_lock_timeout(operations)
