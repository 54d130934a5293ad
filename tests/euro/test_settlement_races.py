"""A EUR settlement racing refunds, other settlers and members on PostgreSQL (real threads,
each on its own database connection): a held pledge is skipped or its refund fails cleanly,
a second settler joins the settlement being done (it shares its chunks; nothing is released
twice, however many start it at once), members keep pledging and depositing while it runs.

Races are made deterministic as in ``test_pledge_and_deposit_races``: one side paused inside
its transaction, the other observed waiting on its row lock."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest

from saka.euro import settlement
from saka.euro.errors import CampaignNotOpen, PledgeNotHeld
from saka.euro.models import (
    AccountKind,
    CampaignStatus,
    EuroAccount,
    EuroPosting,
    Pledge,
    PledgeStatus,
    SettlementChunk,
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
        # when the settlement reaches that pledge's chunk, it waits on its row lock
        settling = Worker(
            lambda: settlement.settlement_start(campaign_id=campaign.pk, chunk_size=40, workers=1),
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
    # given the settlement paused inside its first chunk (pledges locked and released)
    campaign, members, ids = big_campaign
    close(campaign, CampaignStatus.SUCCEEDED)
    with paused(monkeypatch, settlement, "pledges_exit") as (booked, release):
        settling = Worker(
            lambda: settlement.settlement_start(campaign_id=campaign.pk, chunk_size=50, workers=1),
            name="paused",
            guard_seconds=JOIN_SECONDS,
        )
        settling.start()
        assert booked.wait(JOIN_SECONDS)
        # when staff refund a pledge of that chunk, the refund waits on the row lock
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


def test_a_second_settler_joins_the_settlement_and_shares_its_chunks(
    big_campaign: Any, monkeypatch: Any
) -> None:
    # given a settlement of three chunks, paused inside its first one (its pledges locked;
    # booking would lock the project's and the platform's accounts, which every chunk books)
    campaign, _, ids = big_campaign
    close(campaign, CampaignStatus.SUCCEEDED)
    with paused(monkeypatch, settlement, "pledges_lock") as (booked, release):
        first = Worker(
            lambda: settlement.settlement_start(campaign_id=campaign.pk, chunk_size=100, workers=1),
            name="paused",
            guard_seconds=JOIN_SECONDS,
        )
        first.start()
        assert booked.wait(JOIN_SECONDS)
        # when a second settler starts the same settlement meanwhile
        second = Worker(
            lambda: settlement.settlement_start(campaign_id=campaign.pk, workers=1),
            name="2nd",
            guard_seconds=JOIN_SECONDS,
        )
        second.start()
        # then it does the two other chunks (the first one's chunk is leased and locked)
        run_id = SettlementRun.objects.get(campaign=campaign).pk
        done = SettlementChunk.objects.filter(run_id=run_id, done_at__isnull=False)
        _wait_until(lambda: done.count() == 2)
        release.set()
        join([first, second])
    # and both end with the same finished settlement, every pledge released exactly once
    assert first.error is None, first.outcome
    assert second.error is None, second.outcome
    assert first.result.pk == second.result.pk == run_id
    run = SettlementRun.objects.get(pk=run_id)
    assert (run.status, run.pledges_done, run.chunks_done) == ("done", 300, 3)
    chunks = list(SettlementChunk.objects.filter(run_id=run_id).order_by("lo"))
    assert [c.hi for c in chunks] == [ids[99], ids[199], ids[299]]
    assert [c.claims for c in chunks] == [1, 1, 1]  # each leased once, none taken over
    assert Pledge.objects.filter(status=PledgeStatus.RELEASED).count() == 300
    # asking again later returns the finished run
    assert settlement.settlement_start(campaign_id=campaign.pk).pk == run.pk


def _wait_until(condition: Any) -> None:
    deadline = time.monotonic() + JOIN_SECONDS  # liveness guard only
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_settlers_starting_at_once_share_one_settlement(big_campaign: Any) -> None:
    # given three processes starting the same campaign's settlement at the same instant
    campaign, _, _ = big_campaign
    close(campaign, CampaignStatus.SUCCEEDED)
    start = threading.Barrier(3)
    workers = run_all(
        [
            Worker(
                lambda: settlement.settlement_start(
                    campaign_id=campaign.pk, chunk_size=7, workers=2
                ),
                name=f"s{i}",
                barrier=start,
                guard_seconds=JOIN_SECONDS,
            )
            for i in range(3)
        ]
    )
    # then one settlement was opened and all three worked on it until it was done
    assert all(w.error is None for w in workers), [w.outcome for w in workers]
    run = SettlementRun.objects.get(campaign=campaign)
    assert {w.result.pk for w in workers} == {run.pk}
    # and every pledge is released exactly once, the run's totals are what was booked
    assert (run.status, run.pledges_done, run.chunks_done) == ("done", 300, 43)
    assert run.amount_done == sum(1_000 + i for i in range(300))
    assert Pledge.objects.filter(status=PledgeStatus.RELEASED).count() == 300
    assert account_balance(AccountKind.ESCROW) == 0
    debits = EuroPosting.objects.filter(pledge_id__isnull=False, amount__lt=0)
    assert debits.values("pledge_id").distinct().count() == debits.count() == 300


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
    # when the settlement runs in small chunks meanwhile
    run = settlement.settlement_start(campaign_id=campaign_a.pk, chunk_size=10)
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
