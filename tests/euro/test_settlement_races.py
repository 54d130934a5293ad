"""A EUR settlement racing refunds, another settlement and members on PostgreSQL (real threads,
each on its own database connection): a held pledge is skipped or its refund fails cleanly,
one settlement runs at a time (and even without its lease nothing is released twice), members
keep pledging and depositing while it runs.

Races are made deterministic as in ``test_pledge_and_deposit_races``: one side paused inside
its transaction, the other observed waiting on its row lock."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from saka.core.errors import DomainError
from saka.euro import settlement
from saka.euro.errors import CampaignNotOpen, PledgeNotHeld, SettlementInProgress
from saka.euro.models import (
    AccountKind,
    CampaignStatus,
    EuroAccount,
    Pledge,
    PledgeStatus,
    SettlementRun,
)
from saka.euro.services import pledges
from saka.ledger.errors import InsufficientBalance
from saka.projects.services import project_create
from tests.support.euro import (
    account_balance,
    close,
    deposit,
    euro_balance,
    open_campaign,
    seed_pledges,
)
from tests.support.euro_races import JOIN_SECONDS, paused, wait_for_lock_waiters
from tests.support.threads import Worker, join, run_all, settle

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


# --- settlement ---------------------------------------------------------------------------------


@pytest.fixture
def big_campaign(make_user: Any, project: Any) -> Any:
    """A succeeded campaign with 300 held pledges by 10 members."""
    members = [make_user() for _ in range(10)]
    for m in members:
        deposit(m, 1_000_000)
    campaign = open_campaign(project)
    ids = seed_pledges(campaign, members, [1_000 + i for i in range(300)])
    return campaign, members, ids


def test_a_refund_holding_a_pledge_makes_the_settlement_skip_it(
    big_campaign: Any, monkeypatch: Any
) -> None:
    # given staff refunding pledge #150, paused after booking, before commit
    campaign, _, ids = big_campaign
    close(campaign, CampaignStatus.SUCCEEDED)
    target = ids[149]
    with paused(monkeypatch, pledges, "pledges_exit") as (booked, release):
        refunding = Worker(
            lambda: pledges.pledge_refund(pledge_id=target),
            name="paused",
            guard_seconds=JOIN_SECONDS,
        )
        refunding.start()
        assert booked.wait(JOIN_SECONDS)
        # when the settlement reaches that pledge's batch, it waits on its row lock
        settling = Worker(
            lambda: settlement.settlement_start(campaign_id=campaign.pk, batch_size=40),
            name="settle",
            guard_seconds=JOIN_SECONDS,
        )
        settling.start()
        wait_for_lock_waiters(1)
        release.set()
        refund = settle(refunding)
        run = settle(settling)
    # then after the refund commits, the settlement re-checks under the lock and skips it
    assert refund.status == "refunded"
    assert Pledge.objects.get(pk=target).status == PledgeStatus.REFUNDED
    assert (run.pledges_done, run.pledges_skipped) == (299, 1)
    assert run.amount_done == sum(1_000 + i for i in range(300)) - (1_000 + 149)
    assert Pledge.objects.filter(status=PledgeStatus.RELEASED).count() == 299


def test_a_settlement_holding_a_pledge_makes_the_refund_fail_cleanly(
    big_campaign: Any, monkeypatch: Any
) -> None:
    # given the settlement paused inside its first batch (pledges locked and released)
    campaign, members, ids = big_campaign
    close(campaign, CampaignStatus.SUCCEEDED)
    with paused(monkeypatch, settlement, "pledges_exit") as (booked, release):
        settling = Worker(
            lambda: settlement.settlement_start(campaign_id=campaign.pk, batch_size=50),
            name="paused",
            guard_seconds=JOIN_SECONDS,
        )
        settling.start()
        assert booked.wait(JOIN_SECONDS)
        # when staff refund a pledge of that batch, the refund waits on the row lock
        refunding = Worker(
            lambda: pledges.pledge_refund(pledge_id=ids[10]),
            name="refund",
            guard_seconds=JOIN_SECONDS,
        )
        refunding.start()
        wait_for_lock_waiters(1)
        release.set()
        run = settle(settling)
        join([refunding])
    # then the refund finds the pledge released: refused, nothing booked twice
    assert isinstance(refunding.error, PledgeNotHeld), refunding.outcome
    assert Pledge.objects.get(pk=ids[10]).status == PledgeStatus.RELEASED
    assert run.pledges_done == 300
    assert sum(euro_balance(m) for m in members) == 10 * 1_000_000 - sum(
        1_000 + i for i in range(300)
    )


def test_a_second_settlement_is_refused_while_the_first_runs(
    big_campaign: Any, monkeypatch: Any
) -> None:
    campaign, _, _ = big_campaign
    close(campaign, CampaignStatus.SUCCEEDED)
    with paused(monkeypatch, settlement, "pledges_exit") as (booked, release):
        first = Worker(
            lambda: settlement.settlement_start(campaign_id=campaign.pk, batch_size=100),
            name="paused",
            guard_seconds=JOIN_SECONDS,
        )
        first.start()
        assert booked.wait(JOIN_SECONDS)
        second = Worker(
            lambda: settlement.settlement_start(campaign_id=campaign.pk),
            name="2nd",
            guard_seconds=JOIN_SECONDS,
        )
        second.start()
        join([second])
        release.set()
        run = settle(first)
    assert isinstance(second.error, SettlementInProgress), second.outcome
    assert (run.status, run.pledges_done) == ("done", 300)
    # asking again later returns the finished run
    assert settlement.settlement_start(campaign_id=campaign.pk).pk == run.pk


@contextmanager
def _no_lease(campaign_id: int) -> Iterator[None]:
    yield


def test_even_without_the_lease_two_settlers_never_release_twice(
    big_campaign: Any, monkeypatch: Any
) -> None:
    # given two processes settling the same campaign at once, with the advisory lease off
    campaign, _, _ = big_campaign
    close(campaign, CampaignStatus.SUCCEEDED)
    monkeypatch.setattr(settlement, "_campaign_lease", _no_lease)
    start = threading.Barrier(3)
    workers = run_all(
        [
            Worker(
                lambda: settlement.settlement_start(campaign_id=campaign.pk, batch_size=7),
                name=f"s{i}",
                barrier=start,
                guard_seconds=JOIN_SECONDS,
            )
            for i in range(3)
        ]
    )
    for w in workers:
        assert w.error is None or isinstance(w.error, DomainError), w.outcome
    # then every pledge is released exactly once and the run's totals are what was booked
    settlement.settlement_start(campaign_id=campaign.pk)  # finishes if all three gave up
    run = SettlementRun.objects.get(campaign=campaign)
    assert run.pledges_done == 300
    assert run.amount_done == sum(1_000 + i for i in range(300))
    assert Pledge.objects.filter(status=PledgeStatus.RELEASED).count() == 300
    assert account_balance(AccountKind.ESCROW) == 0


def test_members_keep_pledging_and_depositing_while_a_settlement_runs(
    big_campaign: Any, make_user: Any
) -> None:
    # given campaign A being refunded, and campaign B open on another project
    campaign_a, members, _ = big_campaign
    close(campaign_a, CampaignStatus.FAILED)
    other = project_create(owner_id=members[0].pk, title="Other")
    open_campaign(other)
    stop = threading.Event()

    def member_activity(m: Any) -> Counter[str]:
        seen: Counter[str] = Counter()
        while not stop.is_set():
            try:
                pledges.pledge_create(member_id=m.pk, project_id=other.pk, amount=10)
                seen["pledged"] += 1
                deposit(m, 7)
                seen["deposited"] += 1
                pledges.pledge_create(member_id=m.pk, project_id=campaign_a.project_id, amount=1)
            except CampaignNotOpen:
                seen["refused"] += 1
            except InsufficientBalance:
                seen["poor"] += 1
        return seen

    activity = [
        Worker(lambda m=m: member_activity(m), name=f"m{m.pk}", guard_seconds=JOIN_SECONDS)
        for m in members[:4]
    ]
    for w in activity:
        w.start()
    # when the settlement runs in small batches meanwhile
    run = settlement.settlement_start(campaign_id=campaign_a.pk, batch_size=10)
    stop.set()
    join(activity)
    # then it completed, members were never blocked for good, and the books add up
    assert all(w.error is None for w in activity), [w.error for w in activity]
    assert all(w.result["pledged"] > 0 for w in activity)
    assert (run.status, run.pledges_done, run.refunded_done) == (
        "done",
        300,
        sum(1_000 + i for i in range(300)),
    )
    assert not Pledge.objects.filter(campaign=campaign_a, status=PledgeStatus.HELD).exists()
    assert EuroAccount.objects.filter(balance__lt=0).count() == 0
