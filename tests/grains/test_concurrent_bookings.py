"""Many callers at once on one limit, one wallet, one project or one idempotency key (PostgreSQL,
real threads, each on its own database connection): the daily limit and the adjustment cap
hold, plants never overdraw and lose no update, every supporter counts, one key books once.

Every worker thread closes its connection when it ends. Throughput (8 workers against 1) is
measured by the benchmark, not here."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from typing import Any

import pytest

from saka.grains import selectors, services
from saka.grains.errors import DailyLimitReached
from saka.grains.models import AccountKind, EntryKind, SakaAccount, SakaEntry
from saka.ledger.errors import InsufficientBalance
from saka.ledger.models import IdempotencyRecord
from saka.projects.selectors import project_totals
from tests.support.clock import T0
from tests.support.saka import count_entries, harvest, saka_balance
from tests.support.threads import Worker, run_all

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


# --- (a) daily limit under concurrency ---------------------------------------------------------


@pytest.mark.parametrize("wallet_exists", [False, True], ids=["new-wallet", "existing-wallet"])
def test_concurrent_harvests_never_exceed_the_daily_limit(make_user, wallet_exists):
    # given a member (with or without a wallet yet) and 20 requests at the same instant
    member = make_user()
    harvest(member.pk, "invest_bonus")  # the issuance account exists
    if not wallet_exists:
        member = make_user()
    start = threading.Barrier(20)
    workers = [
        Worker(lambda: harvest(member.pk, "content_read"), name=f"h{i}", barrier=start)
        for i in range(20)
    ]
    # when they all harvest content_read (3/day)
    run_all(workers)
    # then exactly three are booked, every other one is refused by the limit
    outcomes = [w.outcome for w in workers]
    booked = [o for o in outcomes if isinstance(o, services.HarvestResult)]
    refused = [o for o in outcomes if isinstance(o, DailyLimitReached)]
    assert len(booked) == 3, outcomes
    assert len(refused) == 17, outcomes
    assert sorted(r.used_today for r in booked) == [1, 2, 3]
    assert sorted(r.balance for r in booked) == [
        b + (100 if wallet_exists else 0) for b in (10, 20, 30)
    ]
    assert count_entries(member=member, reason="content_read") == 3
    assert saka_balance(member.pk) == 30 + (100 if wallet_exists else 0)
    assert SakaAccount.objects.filter(kind=AccountKind.WALLET, member=member).count() == 1


def test_concurrent_manual_adjustments_never_exceed_the_cap(make_user):
    # given 12 staff grants of 100 for one member at once (cap 1000 per 24 h)
    member, staff = make_user(), make_user(staff=True, roles=["saka_adjuster"])
    start = threading.Barrier(12)
    workers = [
        Worker(
            lambda: harvest(member.pk, "manual_adjust", amount=100, granted_by_id=staff.pk),
            name=f"m{i}",
            barrier=start,
        )
        for i in range(12)
    ]
    # when
    run_all(workers)
    # then exactly 10 are booked
    kinds = Counter(type(w.outcome).__name__ for w in workers)
    assert kinds == {"HarvestResult": 10, "AdjustmentCapReached": 2}
    assert saka_balance(member.pk) == 1000


# --- (b) plants never overdraw -----------------------------------------------------------------


def test_concurrent_plants_never_overdraw_and_lose_nothing(make_user, project):
    # given a wallet of 100 and 20 plants of 10 at once, 14 distinct requests (6 retried twice)
    member = make_user()
    harvest(member.pk, "invest_bonus")
    keys = [f"plant-{i % 14}" for i in range(20)]

    def plant(key: str) -> services.PlantResult:
        with_project = int(key.rsplit("-", 1)[1]) % 2 == 0
        return services.wallet_plant(
            member_id=member.pk,
            amount=10,
            project_id=project.pk if with_project else None,
            idempotency_key=key,
            as_of=T0,
        )

    start = threading.Barrier(20)
    workers = [
        Worker(lambda k=key: plant(k), name=f"p{i}", barrier=start) for i, key in enumerate(keys)
    ]
    # when
    run_all(workers)
    # then only InsufficientBalance refuses anything
    by_key: dict[str, list[Any]] = defaultdict(list)
    for key, w in zip(keys, workers, strict=True):
        assert isinstance(w.outcome, services.PlantResult | InsufficientBalance), w.outcome
        by_key[key].append(w.outcome)
    # each request (key) had one outcome: booked once (replays share the entry) or refused
    booked: dict[int, services.PlantResult] = {}
    for outcomes in by_key.values():
        if isinstance(outcomes[0], InsufficientBalance):
            assert all(isinstance(o, InsufficientBalance) for o in outcomes), outcomes
        else:
            assert len({o.entry_id for o in outcomes}) == 1, outcomes
            booked[outcomes[0].entry_id] = outcomes[0]
    # exactly the balance was spent, each booking saw its own balance, nothing overdrawn
    assert len(booked) == 10
    assert sorted(r.balance for r in booked.values()) == list(range(0, 100, 10))
    assert saka_balance(member.pk) == 0
    wallet = selectors.wallet_summary(member_id=member.pk)
    assert wallet.lifetime_planted == 100
    assert count_entries(member=member, kind=EntryKind.PLANT) == 10
    assert set(booked) == set(
        SakaEntry.objects.filter(member=member, kind=EntryKind.PLANT).values_list("pk", flat=True)
    )
    on_project = [r for r in booked.values() if r.project_id == project.pk]
    assert project_totals(project_id=project.pk) == (10 * len(on_project), int(bool(on_project)))


def test_concurrent_harvests_and_plants_on_one_wallet_lose_no_update(make_user):
    # given a wallet of 20; 10 harvests of 5 (poll_vote, 10/day) and 10 plants of 5 at once
    member = make_user()
    harvest(member.pk, "content_read")
    harvest(member.pk, "content_read")
    start = threading.Barrier(20)
    workers = [
        Worker(lambda: harvest(member.pk, "poll_vote"), name=f"h{i}", barrier=start)
        for i in range(10)
    ] + [
        Worker(
            lambda: services.wallet_plant(member_id=member.pk, amount=5, as_of=T0),
            name=f"p{i}",
            barrier=start,
        )
        for i in range(10)
    ]
    # when
    run_all(workers)
    # then every harvest is booked, plants only while there was balance, and the balance is
    # exactly what was booked
    harvested = [w.outcome for w in workers[:10]]
    planted = [w.outcome for w in workers[10:]]
    assert all(isinstance(o, services.HarvestResult) for o in harvested), harvested
    assert all(isinstance(o, services.PlantResult | InsufficientBalance) for o in planted), planted
    n_planted = sum(isinstance(o, services.PlantResult) for o in planted)
    assert saka_balance(member.pk) == 20 + 50 - 5 * n_planted
    wallet = selectors.wallet_summary(member_id=member.pk)
    assert (wallet.lifetime_harvested, wallet.lifetime_planted) == (70, 5 * n_planted)


def test_concurrent_boosts_of_one_project_count_every_supporter(make_user, project):
    # given 10 members with grains, boosting the same project at once
    members = [make_user() for _ in range(10)]
    for m in members:
        harvest(m.pk, "invite_accepted")
    start = threading.Barrier(10)
    workers = [
        Worker(
            lambda m=m: services.project_boost(member_id=m.pk, project_id=project.pk, as_of=T0),
            name=f"b{i}",
            barrier=start,
        )
        for i, m in enumerate(members)
    ]
    # when
    run_all(workers)
    # then
    assert all(isinstance(w.outcome, services.PlantResult) for w in workers)
    assert project_totals(project_id=project.pk) == (100, 10)


# --- (c) one idempotency key, many callers -----------------------------------------------------


def test_concurrent_harvests_with_one_key_book_once(make_user, platform_user):
    # given 10 retries of one platform event at once
    member = make_user()
    harvest(member.pk, "invest_bonus")
    start = threading.Barrier(10)
    workers = [
        Worker(
            lambda: harvest(
                member.pk, "poll_vote", granted_by_id=platform_user.pk, idempotency_key="evt-9"
            ),
            name=f"k{i}",
            barrier=start,
        )
        for i in range(10)
    ]
    # when
    run_all(workers)
    # then every caller got the same result, and one entry was booked
    outcomes = [w.outcome for w in workers]
    assert all(isinstance(o, services.HarvestResult) for o in outcomes), outcomes
    assert len({o.entry_id for o in outcomes}) == 1
    assert len(set(outcomes)) == 1
    assert count_entries(member=member, reason="poll_vote") == 1
    assert saka_balance(member.pk) == 105
    assert IdempotencyRecord.objects.filter(key="evt-9").count() == 1


def test_concurrent_plants_with_one_key_book_once(make_user):
    member = make_user()
    harvest(member.pk, "invest_bonus")
    start = threading.Barrier(10)
    workers = [
        Worker(
            lambda: services.wallet_plant(
                member_id=member.pk, amount=30, idempotency_key="buy-1", as_of=T0
            ),
            name=f"k{i}",
            barrier=start,
        )
        for i in range(10)
    ]
    run_all(workers)
    outcomes = [w.outcome for w in workers]
    assert all(isinstance(o, services.PlantResult) for o in outcomes), outcomes
    assert len({o.entry_id for o in outcomes}) == 1
    assert saka_balance(member.pk) == 70
    assert count_entries(member=member, kind=EntryKind.PLANT) == 1
