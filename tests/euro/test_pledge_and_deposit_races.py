"""EUR pledges, deposits and pockets racing each other on PostgreSQL (real threads, each on its
own database connection, closed when the thread ends): one pledge sent many times books once,
pledges never overdraw, a closing campaign waits for the pledges in flight and settles them
all, concurrent deposits lose nothing, one event delivered twice books once, pocket
percentages never pass 100.

Races are made deterministic where it matters: one side is paused *inside* its transaction
(after booking, before commit) and the other side is observed waiting on its row lock in
``pg_stat_activity`` before the first is released. No timed assertions; ``JOIN_SECONDS`` is
only a liveness guard against a hang."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db.models import Sum

from saka.euro import settlement
from saka.euro.errors import CampaignNotOpen
from saka.euro.models import AccountKind, CampaignStatus, Pledge, PledgeStatus, Pocket
from saka.euro.services import pledges, pockets
from tests.support.euro import account_balance, close, deposit, euro_balance, open_campaign
from tests.support.euro_races import JOIN_SECONDS, paused, wait_for_lock_waiters
from tests.support.threads import Worker, run_all, settle

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


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
    run = settlement.settlement_start(campaign_id=campaign.pk, chunk_size=3)
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


def test_the_same_helloasso_payment_delivered_concurrently_is_booked_once(
    member: Any, settings: Any
) -> None:
    from tests.support.helloasso import HELLOASSO_SECRET, hdeliver, helloasso_event

    settings.SAKA_HELLOASSO_WEBHOOK_SECRET = HELLOASSO_SECRET
    event = helloasso_event(member_id=member.pk, amount=4_321)  # fee estimated: 35 + 25
    start = threading.Barrier(6)
    workers = run_all(
        [
            Worker(lambda: hdeliver(event), name=f"w{i}", barrier=start, guard_seconds=JOIN_SECONDS)
            for i in range(6)
        ]
    )
    outcomes = [settle(w) for w in workers]
    assert sorted(o.replayed for o in outcomes) == [False] + [True] * 5
    assert all(o.body == outcomes[0].body for o in outcomes)
    assert euro_balance(member) == 4_321 - 60
