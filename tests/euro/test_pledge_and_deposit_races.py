"""EUR concurrency on PostgreSQL: real threads, each on its own database connection (closed
when the thread ends).

Races are made deterministic where it matters: one side is paused *inside* its transaction
(after booking, before commit) and the other side is observed waiting on its row lock in
``pg_stat_activity`` before the first is released. No timed assertions; ``JOIN_SECONDS`` is
only a liveness guard against a hang.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum

from saka.core.errors import DomainError
from saka.euro import settlement
from saka.euro.errors import CampaignNotOpen, PledgeNotHeld, SettlementInProgress
from saka.euro.models import (
    AccountKind,
    CampaignStatus,
    EuroAccount,
    Pledge,
    PledgeStatus,
    Pocket,
    SettlementRun,
)
from saka.euro.services import pledges, pockets
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
from tests.support.threads import Worker, join, run_all, settle

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

JOIN_SECONDS = 90


def wait_for_lock_waiters(count: int = 1) -> None:
    """Wait until ``count`` other backends of this database wait on a row lock."""
    deadline = time.monotonic() + JOIN_SECONDS
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] >= count:
                return
        time.sleep(0.005)
    raise AssertionError("nobody waits on the lock")


@contextmanager
def paused(
    monkeypatch: Any, module: Any, name: str
) -> Iterator[tuple[threading.Event, threading.Event]]:
    """Make ``module.name`` (a booking step) stop after it ran, with its transaction still
    open, in the thread named ``paused``: ``(booked, release)`` events."""
    booked, release = threading.Event(), threading.Event()
    real = getattr(module, name)

    def step(**kwargs: Any) -> Any:
        out = real(**kwargs)
        if threading.current_thread().name == "paused":
            booked.set()
            release.wait(JOIN_SECONDS)
        return out

    monkeypatch.setattr(module, name, step)
    try:
        yield booked, release
    finally:
        release.set()


@pytest.fixture
def funded(make_user: Any) -> Callable[[int], Any]:
    def make(cents: int) -> Any:
        user = make_user()
        deposit(user, cents)
        return user

    return make


# --- pledges ------------------------------------------------------------------------------------


def test_the_same_pledge_sent_eight_times_at_once_is_booked_once(funded: Any, project: Any) -> None:
    # given 100.00 and one pledge of 60.00 retried by 8 concurrent requests with one key
    member = funded(10_000)
    open_campaign(project)
    start = threading.Barrier(8)
    workers = [
        Worker(
            lambda: pledges.pledge_create(
                member_id=member.pk, project_id=project.pk, amount=6_000, idempotency_key="same"
            ),
            name=f"p{i}",
            barrier=start,
            guard_seconds=JOIN_SECONDS,
        )
        for i in range(8)
    ]
    # when they run
    run_all(workers)
    # then every request got the one booked pledge, booked once
    outcomes = [w.outcome for w in workers]
    assert all(isinstance(o, pledges.PledgeResult) for o in outcomes), outcomes
    assert len({o.pledge_id for o in outcomes}) == 1
    assert Pledge.objects.filter(member=member).count() == 1
    assert euro_balance(member) == 4_000


def test_concurrent_pledges_never_overdraw(funded: Any, project: Any) -> None:
    # given 100.00 and 10 different pledges of 30.00 at once (5 with keys, 5 without)
    member = funded(10_000)
    open_campaign(project)
    start = threading.Barrier(10)
    workers = [
        Worker(
            lambda i=i: pledges.pledge_create(
                member_id=member.pk,
                project_id=project.pk,
                amount=3_000,
                idempotency_key=f"k{i}" if i % 2 else None,
            ),
            name=f"p{i}",
            barrier=start,
            guard_seconds=JOIN_SECONDS,
        )
        for i in range(10)
    ]
    # when they run
    run_all(workers)
    # then exactly three are booked, the rest refused for the balance; nothing negative
    kinds = Counter(type(w.outcome).__name__ for w in workers)
    assert kinds == {"PledgeResult": 3, "InsufficientBalance": 7}, [w.outcome for w in workers]
    assert sorted(w.outcome.available for w in workers if not w.error) == [1_000, 4_000, 7_000]
    assert euro_balance(member) == 1_000
    assert (
        Pledge.objects.filter(member=member, status=PledgeStatus.HELD).aggregate(
            s=Sum("amount_cents")
        )["s"]
        == 9_000
    )


def test_closing_a_campaign_waits_for_pledges_in_flight(
    funded: Any, project: Any, monkeypatch: Any
) -> None:
    # given a pledge paused inside its transaction (it holds the campaign FOR SHARE)
    member = funded(10_000)
    campaign = open_campaign(project)
    with paused(monkeypatch, pledges, "entry_post") as (booked, release):
        pledging = Worker(
            lambda: pledges.pledge_create(member_id=member.pk, project_id=project.pk, amount=100),
            name="paused",
            guard_seconds=JOIN_SECONDS,
        )
        pledging.start()
        assert booked.wait(JOIN_SECONDS)
        # when staff close the campaign, the close waits for the pledge
        closing = Worker(
            lambda: close(campaign, CampaignStatus.SUCCEEDED),
            name="close",
            guard_seconds=JOIN_SECONDS,
        )
        closing.start()
        wait_for_lock_waiters(1)
        release.set()
        made = settle(pledging)
        settle(closing)
    # then a later pledge is refused, and the settlement releases the one in flight
    with pytest.raises(CampaignNotOpen):
        pledges.pledge_create(member_id=member.pk, project_id=project.pk, amount=100)
    run = settlement.settlement_start(campaign_id=campaign.pk)
    assert run.pledges_done == 1
    assert Pledge.objects.get(pk=made.pledge_id).status == PledgeStatus.RELEASED


def test_pledges_racing_the_close_are_all_settled(make_user: Any, project: Any) -> None:
    # given 12 members pledging while staff close the campaign
    members = [make_user() for _ in range(12)]
    for m in members:
        deposit(m, 1_000)
    campaign = open_campaign(project)
    start = threading.Barrier(13)
    workers = [
        Worker(
            lambda m=m: pledges.pledge_create(member_id=m.pk, project_id=project.pk, amount=500),
            name=f"p{m.pk}",
            barrier=start,
            guard_seconds=JOIN_SECONDS,
        )
        for m in members
    ] + [
        Worker(
            lambda: close(campaign, CampaignStatus.FAILED),
            name="close",
            barrier=start,
            guard_seconds=JOIN_SECONDS,
        )
    ]
    run_all(workers)
    # then each pledge was either booked before the close or refused after it
    for w in workers[:-1]:
        assert isinstance(w.outcome, pledges.PledgeResult | CampaignNotOpen), w.outcome
    # and the settlement refunds every booked pledge: none stays held
    run = settlement.settlement_start(campaign_id=campaign.pk, batch_size=3)
    booked = [w for w in workers[:-1] if not w.error]
    assert run.pledges_done == len(booked)
    assert not Pledge.objects.filter(status=PledgeStatus.HELD).exists()
    assert [euro_balance(m) for m in members] == [1_000] * 12


# --- deposits and pockets -----------------------------------------------------------------------


def test_concurrent_deposits_to_one_wallet_lose_nothing(make_user: Any, project: Any) -> None:
    # given a wallet with pockets at 12.5 % and 33.33 %
    member = make_user()
    a = pockets.pocket_create(member_id=member.pk, name="A", percentage="12.5")
    b = pockets.pocket_create(member_id=member.pk, name="B", percentage="33.33")
    amounts = [1_001 + 97 * i for i in range(12)]
    start = threading.Barrier(len(amounts))
    # when 12 deposits (with fees, tips and donations) arrive at once
    workers = [
        Worker(
            lambda x=x: deposit(
                member, x, fee=x // 30, tip=x // 10, donation=x // 5, project_id=project.pk
            ),
            name=f"d{i}",
            barrier=start,
            guard_seconds=JOIN_SECONDS,
        )
        for i, x in enumerate(amounts)
    ]
    run_all(workers)
    # then every deposit is booked once and its parts add up, to the cent
    bodies = [settle(w).body for w in workers]
    cents = lambda s: int(s.replace(".", ""))  # noqa: E731
    assert sum(cents(body["wallet"]["main"]) for body in bodies) == euro_balance(member)
    pocket_parts = Counter()
    for body in bodies:
        for part in body["wallet"]["pockets"]:
            pocket_parts[part["pocket_id"]] += cents(part["amount"])
    for pocket in (a, b):
        got = Pocket.objects.select_related("account").get(pk=pocket.pocket_id).account.balance
        assert got == pocket_parts[pocket.pocket_id]
    net = sum(cents(body["wallet"]["net"]) for body in bodies)
    assert euro_balance(member) + pocket_parts[a.pocket_id] + pocket_parts[b.pocket_id] == net
    assert account_balance(AccountKind.PROJECT, project=project) == sum(
        cents(body["donation"]["net"]) for body in bodies
    )


def test_the_same_event_delivered_concurrently_is_booked_once(member: Any) -> None:
    from tests.support.euro import deliver, payment_event

    event = payment_event(member_id=member.pk, amount=4_321, fee=21)
    start = threading.Barrier(6)
    workers = run_all(
        [
            Worker(lambda: deliver(event), name=f"w{i}", barrier=start, guard_seconds=JOIN_SECONDS)
            for i in range(6)
        ]
    )
    outcomes = [settle(w) for w in workers]
    assert sorted(o.replayed for o in outcomes) == [False] + [True] * 5
    assert all(o.body == outcomes[0].body for o in outcomes)
    assert euro_balance(member) == 4_300


def test_concurrent_pocket_percentages_never_exceed_100(member: Any) -> None:
    start = threading.Barrier(10)
    workers = run_all(
        [
            Worker(
                lambda i=i: pockets.pocket_create(
                    member_id=member.pk, name=f"p{i}", percentage="30"
                ),
                name=f"k{i}",
                barrier=start,
                guard_seconds=JOIN_SECONDS,
            )
            for i in range(10)
        ]
    )
    kinds = Counter(type(w.outcome).__name__ for w in workers)
    assert kinds == {"PocketResult": 3, "AllocationExceeded": 7}
    assert Pocket.objects.filter(member=member).aggregate(s=Sum("percentage_bp"))["s"] == 9_000


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
