"""Lock contention on PostgreSQL (real threads and processes, each on its own database
connection): members do not queue on a shared row (a locked or open wallet blocks only its
own member), and a blocked harvest or plant times out, books nothing and can retry.

Lock waits are detected with a short ``lock_timeout`` on the worker's connection (a blocked
statement then fails with ``LockTimeout`` instead of hanging), never with timed assertions."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection, connections, transaction

from saka.core.errors import LockTimeout
from saka.grains import services
from saka.grains.conf import HARVEST_RULES
from saka.grains.models import AccountKind, EntryKind, SakaAccount
from saka.ledger.models import IdempotencyRecord
from saka.projects.selectors import project_totals
from tests.support.clock import T0
from tests.support.saka import count_entries, harvest, saka_balance
from tests.support.threads import GUARD_SECONDS, Worker, join, run_all, settle

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SHORT_LOCK_TIMEOUT_MS = 200


class WalletLockHolder:
    """A thread holding ``SELECT ... FOR UPDATE`` on a wallet in an open transaction."""

    def __init__(self, account_id: int) -> None:
        self.locked = threading.Event()
        self.release = threading.Event()

        def hold() -> None:
            with transaction.atomic():
                list(SakaAccount.objects.select_for_update().filter(pk=account_id))
                self.locked.set()
                self.release.wait(GUARD_SECONDS)

        self.worker = Worker(hold, name="lock-holder")

    def __enter__(self) -> WalletLockHolder:
        self.worker.start()
        assert self.locked.wait(GUARD_SECONDS)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        settle(self.worker)


@pytest.fixture
def pause_booking(monkeypatch):
    """Make the harvest/plant run by the thread named ``paused`` stop after booking, with its
    transaction still open (wallet row updated, entry and postings inserted, not committed)."""
    booked = threading.Event()
    release = threading.Event()
    real_entry_post = services.entry_post

    def entry_post(**kwargs: Any) -> Any:
        entry = real_entry_post(**kwargs)
        if threading.current_thread().name == "paused":
            booked.set()
            release.wait(GUARD_SECONDS)
        return entry

    monkeypatch.setattr(services, "entry_post", entry_post)
    return booked, release


# --- (d) members do not queue on a shared row --------------------------------------------------


def test_a_locked_wallet_does_not_block_another_member(make_user):
    # given members A and B with wallets, and A's wallet locked by an open transaction
    a, b = make_user(), make_user()
    harvest(a.pk, "invest_bonus")
    harvest(b.pk, "invest_bonus")
    a_wallet = SakaAccount.objects.get(kind=AccountKind.WALLET, member=a).pk
    with WalletLockHolder(a_wallet):
        # when B harvests and plants, with a short lock timeout on its connection
        b_harvest = Worker(
            lambda: harvest(b.pk, "poll_vote"), lock_timeout_ms=SHORT_LOCK_TIMEOUT_MS
        )
        b_harvest.start()
        b_result = settle(b_harvest)
        b_plant = Worker(
            lambda: services.wallet_plant(member_id=b.pk, amount=5, as_of=T0),
            lock_timeout_ms=SHORT_LOCK_TIMEOUT_MS,
        )
        b_plant.start()
        settle(b_plant)
        # then B's operations completed while A's lock is held (a wait would have timed out)
        assert b_result.balance == 105
        # and the lock was real: A's own harvest cannot get through meanwhile
        a_harvest = Worker(
            lambda: harvest(a.pk, "poll_vote"), lock_timeout_ms=SHORT_LOCK_TIMEOUT_MS
        )
        a_harvest.start()
        join([a_harvest])
        assert isinstance(a_harvest.error, LockTimeout)
    assert saka_balance(b.pk) == 100
    assert saka_balance(a.pk) == 100


def test_an_open_harvest_of_another_member_does_not_block(make_user, pause_booking):
    # given member C's harvest booked but not committed (its transaction still open);
    # the issuance account already exists
    booked, release = pause_booking
    b, c = make_user(), make_user()
    harvest(b.pk, "invest_bonus")
    paused = Worker(lambda: harvest(c.pk, "invite_accepted"), name="paused")
    paused.start()
    assert booked.wait(GUARD_SECONDS)
    try:
        # when B harvests (first of its reason today) and plants, with a short lock timeout
        b_harvest = Worker(
            lambda: harvest(b.pk, "content_read"), lock_timeout_ms=SHORT_LOCK_TIMEOUT_MS
        )
        b_harvest.start()
        b_result = settle(b_harvest)
        b_plant = Worker(
            lambda: services.wallet_plant(member_id=b.pk, amount=10, as_of=T0),
            lock_timeout_ms=SHORT_LOCK_TIMEOUT_MS,
        )
        b_plant.start()
        settle(b_plant)
        # then both completed while C's transaction is open: no shared hot row between them
        assert b_result.balance == 110
        # and C's wallet really is held by the open transaction
        c_again = Worker(lambda: harvest(c.pk, "poll_vote"), lock_timeout_ms=SHORT_LOCK_TIMEOUT_MS)
        c_again.start()
        join([c_again])
        assert isinstance(c_again.error, LockTimeout)
        assert saka_balance(c.pk) == 0  # not committed yet
    finally:
        release.set()
    assert settle(paused).balance == 50
    assert saka_balance(c.pk) == 50
    assert saka_balance(b.pk) == 100


def test_the_very_first_harvest_does_not_block_other_members(make_user, pause_booking):
    # given no system account yet, and the first harvest ever paused before its commit
    booked, release = pause_booking
    b, c = make_user(), make_user()
    assert not SakaAccount.objects.filter(kind=AccountKind.ISSUANCE).exists()
    paused = Worker(lambda: harvest(c.pk, "invite_accepted"), name="paused")
    paused.start()
    assert booked.wait(GUARD_SECONDS)
    try:
        # when another member harvests
        other = Worker(lambda: harvest(b.pk, "content_read"), lock_timeout_ms=SHORT_LOCK_TIMEOUT_MS)
        other.start()
        join([other])
    finally:
        release.set()
        settle(paused)
    # then it was not held up by the first member's transaction
    assert other.error is None, repr(other.error)


def _harvest_plan(n: int) -> list[tuple[str, datetime]]:
    """``n`` harvests one member may receive: every reason up to its limit, day after day."""
    plan: list[tuple[str, datetime]] = []
    day = 0
    while len(plan) < n:
        for reason, rule in HARVEST_RULES.items():
            plan += [(reason, T0 + timedelta(days=day, minutes=i)) for i in range(rule.daily_limit)]
        day += 1
    return plan[:n]


def _harvest_all(member_ids: list[int], per_member: int) -> int:
    done = 0
    for member_id in member_ids:
        for reason, as_of in _harvest_plan(per_member):
            services.wallet_harvest(member_id=member_id, reason=reason, as_of=as_of)
            done += 1
    return done


def _in_threads(member_ids: list[int], threads: int, per_member: int) -> None:
    """Harvest ``per_member`` times for each member on ``threads`` threads started together."""
    start = threading.Barrier(threads)
    workers = [
        Worker(lambda g=member_ids[i::threads]: _harvest_all(g, per_member), barrier=start)
        for i in range(threads)
    ]
    run_all(workers)
    assert [w.error for w in workers if w.error is not None] == []
    assert sum(w.result for w in workers) == len(member_ids) * per_member


def _process_main(member_ids: list[int], per_member: int, start: Any, out: Any) -> None:
    try:
        connection.ensure_connection()
        start.wait()
        out.put(_harvest_all(member_ids, per_member))
    except BaseException as exc:
        out.put(repr(exc))
    finally:
        connection.close()


def _in_processes(member_ids: list[int], processes: int, per_member: int) -> None:
    """The same work in ``processes`` forked processes (each its own connection, no GIL)."""
    ctx = multiprocessing.get_context("fork")
    connections.close_all()  # a child never shares the parent's connection
    start, out = ctx.Barrier(processes), ctx.Queue()
    children = [
        ctx.Process(target=_process_main, args=(member_ids[i::processes], per_member, start, out))
        for i in range(processes)
    ]
    for child in children:
        child.start()
    try:
        done = [out.get(timeout=GUARD_SECONDS) for _ in children]
    finally:
        for child in children:
            child.join(GUARD_SECONDS)
            if child.is_alive():
                child.kill()
    assert sum(done) == len(member_ids) * per_member, done


def test_parallel_harvests_on_distinct_members_book_exactly_each_members_harvests(make_user):
    """8 threads, then 8 forked processes (one connection each, as application workers run),
    each harvesting 40 times for its own member at the same time. How fast that goes is the
    benchmark's business (``bench/``), not a test's."""
    # given fresh members for each run, and the issuance account in place
    per_member, n = 40, 8
    harvest(make_user().pk, "invest_bonus")
    used: list[int] = []

    def members() -> list[int]:
        used.extend(make_user().pk for _ in range(n))
        return used[-n:]

    # when 8 threads, then 8 processes, harvest for 8 members each in parallel
    _in_threads(members(), n, per_member)
    _in_processes(members(), n, per_member)
    # then every member got exactly its harvests, and its balance is exact
    expected = sum(HARVEST_RULES[r].reward for r, _ in _harvest_plan(per_member))
    for member_id in used:
        assert count_entries(member_id=member_id) == per_member
        assert saka_balance(member_id) == expected


# --- (e) lock timeout --------------------------------------------------------------------------


def test_a_blocked_harvest_times_out_books_nothing_and_can_retry(make_user):
    # given A's wallet locked by another transaction
    a = make_user()
    harvest(a.pk, "invest_bonus")
    a_wallet = SakaAccount.objects.get(kind=AccountKind.WALLET, member=a).pk
    attempted, released = threading.Event(), threading.Event()
    outcomes: list[Any] = []

    def blocked_then_retry() -> services.HarvestResult:
        try:
            outcomes.append(harvest(a.pk, "poll_vote", idempotency_key="evt-lock"))
        except Exception as exc:
            outcomes.append(exc)
        attempted.set()
        released.wait(GUARD_SECONDS)
        # the same connection retries, outside the failed transaction
        return harvest(a.pk, "poll_vote", idempotency_key="evt-lock")

    worker = Worker(blocked_then_retry, lock_timeout_ms=SHORT_LOCK_TIMEOUT_MS)
    try:
        with WalletLockHolder(a_wallet):
            # when A harvests meanwhile, with a short lock timeout
            worker.start()
            assert attempted.wait(GUARD_SECONDS), "the harvest hangs: no lock timeout"
            # then a typed LockTimeout, and nothing booked, no key kept
            assert isinstance(outcomes[0], LockTimeout), outcomes
            assert outcomes[0].code == "lock_timeout"
            assert outcomes[0].http_status == 503
            assert count_entries(member=a, reason="poll_vote") == 0
            assert not IdempotencyRecord.objects.filter(key="evt-lock").exists()
    finally:
        released.set()  # the lock is gone (the holder committed): retry
    # and once the lock is gone the retry is booked, once
    assert settle(worker).used_today == 1
    assert saka_balance(a.pk) == 105
    assert count_entries(member=a, reason="poll_vote") == 1


def test_a_blocked_plant_times_out_and_books_nothing(make_user, project):
    a = make_user()
    harvest(a.pk, "invest_bonus")
    a_wallet = SakaAccount.objects.get(kind=AccountKind.WALLET, member=a).pk
    with WalletLockHolder(a_wallet):
        worker = Worker(
            lambda: services.project_boost(member_id=a.pk, project_id=project.pk, as_of=T0),
            lock_timeout_ms=SHORT_LOCK_TIMEOUT_MS,
        )
        worker.start()
        join([worker])
    assert isinstance(worker.error, LockTimeout), worker.outcome
    assert saka_balance(a.pk) == 100
    assert count_entries(member=a, kind=EntryKind.PLANT) == 0
    assert project_totals(project_id=project.pk) == (0, 0)
