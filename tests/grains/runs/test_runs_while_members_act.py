"""Runs while members act (PostgreSQL, real threads, each on its own connection).

A run thread executes a compost or a redistribution in small chunks while member threads
harvest and plant for random members. Between chunks the run's progress callback waits until
the member threads have done a few more operations, so the two always interleave (whatever
the machine's speed), and once it lets scripted members act: members whose chunk is still to
come, and members whose chunk is done. Nothing is timed; the waits have a liveness guard.

Afterwards each wallet's postings, in id order, tell what happened to it: the wallet row lock
serialises a run's statement and a member's operation on that wallet, and each writes its
postings while holding it. So for the compost: a wallet composted after one of its members'
operations is a bug, and so is an amount that is not floor(balance before it x rate).
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.db.models import Max
from django.test import override_settings

from saka.core.db import AdvisoryNamespace, advisory_key
from saka.core.errors import LockTimeout
from saka.demo.seed import seed_balance, seed_idle_days, seed_population
from saka.grains import services
from saka.grains.errors import DailyLimitReached, RunInProgress
from saka.grains.models import AccountKind, EntryKind, Run, RunKind, SakaEntry, SakaPosting
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from saka.ledger.errors import InsufficientBalance
from saka.ledger.reconcile import reconcile
from tests.support.clock import A
from tests.support.runs_reference import (
    DAY,
    CompostRules,
    RedistributionRules,
    Wallet,
    compost_plan,
    db_wallets,
    redistribution_plan,
    run_postings,
    share,
    system_balance,
)
from tests.support.threads import Worker, settle

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, reset_sequences=True),
]

DURING = A + timedelta(hours=1)  # when members act: while the run executes
N = 2000
CHUNK = 50
GUARD_SECONDS = 120  # liveness guard only: a wait longer than this is a hang
EXPECTED_ERRORS = (InsufficientBalance, DailyLimitReached)


# --- the population and its model ------------------------------------------------------------


def accounts_by_seed() -> dict[int, int]:
    from saka.grains.models import SakaAccount

    rows = SakaAccount.objects.filter(kind=AccountKind.WALLET).values_list(
        "id", "member__username", "member_id"
    )
    return {int(name.removeprefix("seed-")): (acc, member) for acc, name, member in rows}


def seed_model() -> dict[int, Wallet]:
    return {
        acc: Wallet(
            balance=seed_balance(i),
            last_activity_at=A - seed_idle_days(i) * DAY,
            lifetime_harvested=seed_balance(i),
        )
        for i, (acc, _) in accounts_by_seed().items()
    }


def chunk_of(account_id: int) -> int:
    return (account_id - 1) // CHUNK


class History:
    """Every wallet's postings in id order: ``(posting id, amount, entry id, entry kind,
    run id)``, and which entries members booked after the population was seeded."""

    def __init__(self, after_entry_id: int) -> None:
        self.by_wallet: dict[int, list[tuple]] = defaultdict(list)
        rows = (
            SakaPosting.objects.filter(account__kind=AccountKind.WALLET)
            .order_by("id")
            .values_list("account_id", "id", "amount", "entry_id", "entry__kind", "run_id")
        )
        for acc, pid, amount, entry_id, kind, run_id in rows:
            self.by_wallet[acc].append((pid, amount, entry_id, kind, run_id))
        self.after = after_entry_id

    def acts(self, acc: int) -> list[tuple]:
        """The wallet's postings of member operations booked during the test."""
        return [
            p
            for p in self.by_wallet[acc]
            if p[3] in (EntryKind.HARVEST, EntryKind.PLANT) and p[2] > self.after
        ]

    def run_posting(self, acc: int, run_id: int) -> tuple | None:
        found = [p for p in self.by_wallet[acc] if p[4] == run_id]
        assert len(found) <= 1
        return found[0] if found else None

    def balance_before(self, acc: int, posting_id: int) -> int:
        return sum(p[1] for p in self.by_wallet[acc] if p[0] < posting_id)


# --- threads ----------------------------------------------------------------------------------


class Members:
    """Member threads doing random harvests and plants until told to stop."""

    def __init__(self, member_ids: list[int], favourites: list[int], threads: int = 4) -> None:
        self.members, self.favourites = member_ids, favourites
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.ops = 0
        self.unexpected: list[BaseException] = []
        self.lock_timeouts = 0
        self.workers = [
            Worker(
                self._loop(random.Random(seed)), name=f"member-{seed}", guard_seconds=GUARD_SECONDS
            )
            for seed in range(threads)
        ]

    def _loop(self, rng: random.Random) -> Callable[[], None]:
        def loop() -> None:
            while not self.stop.is_set():
                pool = self.favourites if rng.random() < 0.5 else self.members
                member = rng.choice(pool)
                try:
                    if rng.random() < 0.6:
                        reason = rng.choice(["content_read", "poll_vote", "invite_accepted"])
                        services.wallet_harvest(member_id=member, reason=reason, as_of=DURING)
                    else:
                        amount = rng.choice([1, 10, 100, 1000, 5000])
                        services.wallet_plant(member_id=member, amount=amount, as_of=DURING)
                except EXPECTED_ERRORS:
                    pass
                except LockTimeout:
                    with self.lock:
                        self.lock_timeouts += 1
                except BaseException as exc:
                    self.unexpected.append(exc)
                    return
                with self.lock:
                    self.ops += 1

        return loop

    def start(self) -> None:
        for w in self.workers:
            w.start()

    def wait_for_more(self, n: int) -> None:
        """Block until the member threads did ``n`` more operations (interleaving)."""
        with self.lock:
            target = self.ops + n
        deadline = time.monotonic() + GUARD_SECONDS
        while True:
            with self.lock:
                if self.ops >= target:
                    return
            if self.unexpected or time.monotonic() > deadline:
                raise AssertionError(f"member threads stalled: {self.unexpected}")
            time.sleep(0.001)

    def finish(self) -> None:
        self.stop.set()
        for w in self.workers:
            settle(w)
        assert not self.unexpected, self.unexpected
        assert self.lock_timeouts == 0, "a member waited on a run for the whole lock_timeout"


def interleaving(members: Members, scripted: Callable[[], None], at_chunk: int):
    """A progress callback: after every chunk let members do 2 more operations; after chunk
    ``at_chunk`` run the scripted operations too."""

    def progress(run: Run) -> None:
        members.wait_for_more(2)
        if run.chunks_done == at_chunk:
            scripted()

    return progress


# --- compost while members act ----------------------------------------------------------------


def test_compost_while_members_harvest_and_plant():
    # given the seeded population and its compost-eligible set at A
    seed_population(wallets=N, as_of=A)
    seeded = accounts_by_seed()
    after_seed = SakaEntry.objects.aggregate(m=Max("id"))["m"]
    plan = compost_plan(seed_model(), CompostRules(), A)
    eligible = set(plan)
    member_of = dict(seeded.values())
    # scripted members: eligible ones whose chunk is still to come act after chunk 10 (they
    # must not be composted), eligible ones whose chunk is done act too (they were composted)
    late = sorted(a for a in eligible if chunk_of(a) > 20)[:25]
    early = sorted(a for a in eligible if chunk_of(a) < 10)[:25]
    rng = random.Random(7)

    def scripted() -> None:
        for acc in late + early:
            if rng.random() < 0.5:
                services.wallet_harvest(
                    member_id=member_of[acc], reason="content_read", as_of=DURING
                )
            else:
                services.wallet_plant(member_id=member_of[acc], amount=1, as_of=DURING)

    # (the member threads leave the scripted members alone, so their story is certain)
    unscripted = sorted(set(member_of) - set(late) - set(early))
    members = Members(
        member_ids=[member_of[a] for a in unscripted],
        favourites=[member_of[a] for a in unscripted if a in eligible],
    )
    members.start()
    # when the compost runs in chunks of 50 while they act
    runner = Worker(
        lambda: compost_run_start(
            as_of=A,
            chunk_size=CHUNK,
            workers=1,
            progress=interleaving(members, scripted, at_chunk=10),
        ),
        name="compost",
        guard_seconds=GUARD_SECONDS,
    )
    runner.start()
    try:
        run = settle(runner)
    finally:
        members.finish()
    # then the books hold (no lost update, no negative balance) ...
    report = reconcile()
    assert report.ok, [d.message for d in report.discrepancies]
    history = History(after_seed)
    composted = {
        acc: -p[1] for acc in member_of if (p := history.run_posting(acc, run.pk)) is not None
    }
    assert members.ops > run.chunks_done  # they did act during the run
    # ... only wallets eligible at A compost, never after one of their member's operations,
    # each by floor(balance just before x 10%) ...
    assert set(composted) <= eligible
    for acc, amount in composted.items():
        posting = history.run_posting(acc, run.pk)
        assert all(act[0] > posting[0] for act in history.acts(acc)), acc
        assert amount == share(history.balance_before(acc, posting[0]), "0.10") == plan[acc]
    # ... every eligible wallet whose members did not act composts, and one that did not
    # compost had a member operation booked before its chunk's statement
    chunk_entry = {chunk_of(acc): history.run_posting(acc, run.pk)[2] for acc in composted}
    for acc in eligible - set(composted):
        acts = history.acts(acc)
        assert acts, f"eligible wallet {acc} was skipped although nobody acted"
        if chunk_of(acc) in chunk_entry:
            assert min(a[2] for a in acts) < chunk_entry[chunk_of(acc)], acc
    # ... the scripted ones: acted before their chunk -> kept; after it -> composted first
    assert not set(late) & set(composted)
    assert set(early) <= set(composted)
    # ... and the run's figures are what it booked
    assert (run.wallets_done, run.amount_done) == (len(composted), sum(composted.values()))
    assert system_balance(AccountKind.SILO) == run.amount_done


# --- redistribution while members act ---------------------------------------------------------


@override_settings(SAKA_REDISTRIBUTION_MIN_HARVESTED=2500)
def test_redistribution_while_members_harvest_and_plant(staff_user):
    # given the seeded population composted into the silo, and the set eligible at A:
    # active within 90 days and lifetime harvest >= 2500
    seed_population(wallets=N, as_of=A)
    compost_run_start(as_of=A)
    after_seed = SakaEntry.objects.aggregate(m=Max("id"))["m"]
    seeded = accounts_by_seed()
    member_of = dict(seeded.values())
    model = db_wallets()
    silo = system_balance(AccountKind.SILO)
    plan = redistribution_plan(model, silo, RedistributionRules(min_harvested=2500), A)
    assert plan.reason == ""
    future = {a for a in member_of if chunk_of(a) > 12}
    idle = sorted(a for a in future - plan.eligible if model[a].lifetime_harvested >= 2500)
    below = sorted(
        a
        for a in future - plan.eligible
        if 2000 <= model[a].lifetime_harvested < 2500 and model[a].last_activity_at > A - 90 * DAY
    )
    active = sorted(future & plan.eligible)
    scripted_idle, scripted_below, scripted_active = idle[:20], below[:20], active[:20]

    def scripted() -> None:
        for acc in scripted_idle:  # becomes active during the run: must NOT be credited
            services.wallet_harvest(member_id=member_of[acc], reason="poll_vote", as_of=DURING)
        for acc in scripted_below:  # crosses 2500 during the run: must NOT be credited
            services.wallet_harvest(
                member_id=member_of[acc],
                reason="manual_adjust",
                amount=500,
                granted_by_id=staff_user.pk,
                as_of=DURING,
            )
        for acc in scripted_active:  # acts during the run: MUST be credited
            services.wallet_plant(member_id=member_of[acc], amount=3, as_of=DURING)

    scripted_all = set(scripted_idle) | set(scripted_below) | set(scripted_active)
    unscripted = sorted(set(member_of) - scripted_all)
    members = Members(
        member_ids=[member_of[a] for a in unscripted],
        favourites=[member_of[a] for a in unscripted if a in set(idle) | plan.eligible],
    )
    members.start()
    # when the redistribution runs in chunks of 50 while they act
    runner = Worker(
        lambda: redistribution_run_start(
            as_of=A,
            chunk_size=CHUNK,
            workers=1,
            progress=interleaving(members, scripted, at_chunk=5),
        ),
        name="redistribution",
        guard_seconds=GUARD_SECONDS,
    )
    runner.start()
    try:
        run = settle(runner)
    finally:
        members.finish()
    # then the credited set is exactly the set counted at the start, the model's set at A
    report = reconcile()
    assert report.ok, [d.message for d in report.discrepancies]
    credited = run_postings(run.pk)
    assert set(credited) == plan.eligible
    assert run.eligible_wallets == len(credited) == run.wallets_done
    assert set(credited.values()) == {run.per_wallet}
    assert run.amount_done == run.per_wallet * run.eligible_wallets
    assert (run.silo_before, run.pot, run.per_wallet) == (silo, plan.pot, plan.per_wallet)
    assert system_balance(AccountKind.SILO) == run.silo_after == plan.silo_after
    assert system_balance(AccountKind.POOL) == 0
    assert not set(scripted_idle) & set(credited)
    assert not set(scripted_below) & set(credited)
    assert set(scripted_active) <= set(credited)
    assert len(scripted_idle) == len(scripted_below) == len(scripted_active) == 20
    assert members.ops > run.chunks_done
    # and a credit is not activity: wallets nobody touched keep their last activity
    after = db_wallets()
    history = History(after_seed)
    for acc in credited:
        if not history.acts(acc):
            assert after[acc].last_activity_at == model[acc].last_activity_at


# --- compost and redistribution at once -------------------------------------------------------


@override_settings(SAKA_REDISTRIBUTION_ACTIVE_DAYS=180)
def test_compost_and_redistribution_at_once_compost_the_current_balance():
    # given last week's compost (a silo), then wallets that this week's compost takes and the
    # month's redistribution credits alike (idle 90..96 days, active within 180 days)
    seed_population(wallets=N, as_of=A)
    compost_run_start(as_of=A - 7 * DAY)
    model = db_wallets()
    silo = system_balance(AccountKind.SILO)
    compost_eligible = {
        acc
        for acc, w in model.items()
        if w.last_activity_at <= A - 90 * DAY
        and (w.last_composted_at is None or w.last_composted_at <= A - 90 * DAY)
    }
    redistribution = redistribution_plan(model, silo, RedistributionRules(active_days=180), A)
    both = compost_eligible & redistribution.eligible
    assert len(both) > 20
    # when both runs execute at once, in chunks of 50, in step: neither starts chunk k + 1
    # before the other finished chunk k, so both work on the same wallets at the same time
    chunks = {"compost": 0, "redistribution": 0}
    done = {"compost": False, "redistribution": False}
    step = threading.Condition()

    def start(kind: str, fn: Callable[..., Run]) -> Callable[[], Run]:
        other = "redistribution" if kind == "compost" else "compost"

        def progress(run: Run) -> None:
            with step:
                chunks[kind] = run.chunks_done
                step.notify_all()
                assert step.wait_for(
                    lambda: done[other] or chunks[other] >= chunks[kind], GUARD_SECONDS
                ), f"{other} run stalled"

        def go() -> Run:
            try:
                return fn(as_of=A, chunk_size=CHUNK, workers=1, progress=progress)
            finally:
                with step:
                    done[kind] = True
                    step.notify_all()

        return go

    compost = Worker(
        start("compost", compost_run_start), name="compost", guard_seconds=GUARD_SECONDS
    )
    redistribute = Worker(
        start("redistribution", redistribution_run_start),
        name="redistribution",
        guard_seconds=GUARD_SECONDS,
    )
    compost.start()
    redistribute.start()
    c_run, r_run = settle(compost), settle(redistribute)
    # then each wallet composts floor(its balance just before x 10%), credit or not, and a
    # wallet whose balance passes the thresholds without the credit always composts
    report = reconcile()
    assert report.ok, [d.message for d in report.discrepancies]
    history = History(0)
    taken = {a: -x for a, x in run_postings(c_run.pk).items()}
    assert set(taken) <= compost_eligible
    for acc, amount in taken.items():
        posting = history.run_posting(acc, c_run.pk)
        before = history.balance_before(acc, posting[0])
        assert before in (model[acc].balance, model[acc].balance + r_run.per_wallet), acc
        assert amount == share(before, "0.10") >= 10, acc
    for acc in compost_eligible:
        if model[acc].balance >= 100:
            assert acc in taken, acc
    # and the redistribution credited its counted set, its pot taken from the silo it saw
    credited = run_postings(r_run.pk)
    assert set(credited) == redistribution.eligible
    assert r_run.pot == share(r_run.silo_before, "0.05")
    assert silo <= r_run.silo_before <= silo + c_run.amount_done
    assert system_balance(AccountKind.SILO) == (
        silo + c_run.amount_done - r_run.per_wallet * r_run.eligible_wallets
    )


# --- one executing run per kind -------------------------------------------------------------


def _pg_connect() -> psycopg.Connection:
    s = connection.settings_dict
    return psycopg.connect(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        user=s["USER"],
        password=s["PASSWORD"] or None,
        dbname=s["NAME"],
        autocommit=True,
    )


def _backend_alive(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone() is not None


def test_a_run_another_process_executes_is_refused_and_a_dry_run_is_not():
    # given another process executing this week's compost (it holds the kind's lease)
    seed_population(wallets=200, as_of=A)
    other = _pg_connect()
    (other_pid,) = other.execute("SELECT pg_backend_pid()").fetchone()
    try:
        other.execute(
            "SELECT pg_advisory_lock(%s)", [advisory_key(AdvisoryNamespace.GRAINS_RUN_KIND, 1)]
        )
        # when this process asks for the live run, then it is refused, and nothing is booked
        with pytest.raises(RunInProgress):
            compost_run_start(as_of=A)
        assert not SakaEntry.objects.filter(kind=EntryKind.COMPOST).exists()
        # and a dry run or a redistribution is not blocked
        assert compost_run_start(as_of=A, dry_run=True).wallets_done > 0
        redistribution_run_start(as_of=A)
    finally:
        other.close()  # the lease goes with the session ...
    deadline = time.monotonic() + GUARD_SECONDS
    while _backend_alive(other_pid):  # ... once its backend has ended
        assert time.monotonic() < deadline, "the other session never ended"
        time.sleep(0.01)
    # when the other process is gone, the run executes
    run = compost_run_start(as_of=A)
    assert run.wallets_done > 0


def test_two_processes_starting_the_same_run_book_it_once():
    # given a population and eight threads asking for this week's compost at once
    seed_population(wallets=600, as_of=A)
    barrier = threading.Barrier(8)

    def ask() -> Any:
        barrier.wait()
        try:
            return compost_run_start(as_of=A, chunk_size=CHUNK).pk
        except RunInProgress as exc:
            return exc

    workers = [Worker(ask, name=f"ask-{i}", guard_seconds=GUARD_SECONDS) for i in range(8)]
    for w in workers:
        w.start()
    outcomes = [settle(w) for w in workers]
    # then each got the run or a RunInProgress; one live run exists
    run_ids = {o for o in outcomes if isinstance(o, int)}
    assert len(run_ids) >= 1
    assert all(isinstance(o, int | RunInProgress) for o in outcomes)
    run = Run.objects.get(kind=RunKind.COMPOST, dry_run=False)
    assert run_ids == {run.pk}
    # when it is asked once more, it is finished; each eligible wallet composted once
    run = compost_run_start(as_of=A)
    plan = compost_plan(seed_model(), CompostRules(), A)
    assert {a: -x for a, x in run_postings(run.pk).items()} == plan


# --- a member operation holding a wallet when its chunk's statement arrives -------------------


class Held:
    """Member operations that pause right after taking their wallet lock (inside their
    transaction) until this run's chunk statement is seen waiting on them; then they finish
    and commit while the statement still waits. The statement must judge the wallet on the
    row it then locks, not on what it read before."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, operations: dict[str, Callable]) -> None:
        self.operations = operations
        self.holding = {name: threading.Event() for name in operations}
        self.release = {name: threading.Event() for name in operations}
        self.backend: dict[str, int] = {}
        self.seen_waiting: set[str] = set()
        real = services.entry_post  # harvest and plant book with it under the wallet lock

        def paused(**kwargs: Any) -> Any:
            name = threading.current_thread().name
            if name in self.holding and not self.holding[name].is_set():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    self.backend[name] = cursor.fetchone()[0]
                self.holding[name].set()
                assert self.release[name].wait(GUARD_SECONDS)
            return real(**kwargs)

        monkeypatch.setattr(services, "entry_post", paused)
        self.members = [
            Worker(fn, name=name, guard_seconds=GUARD_SECONDS) for name, fn in operations.items()
        ]

    def start(self) -> None:
        """From the run's progress callback: the members take their locks, then a watcher
        lets each go once the run's next statement waits on it."""
        for m in self.members:
            m.start()
        for name, event in self.holding.items():
            assert event.wait(GUARD_SECONDS), f"{name} never took its lock"
        self.watcher = Worker(self._watch, name="watcher", guard_seconds=GUARD_SECONDS)
        self.watcher.start()

    def _watch(self) -> None:
        deadline = time.monotonic() + GUARD_SECONDS
        while len(self.seen_waiting) < len(self.operations):
            for name, pid in self.backend.items():
                if name in self.seen_waiting:
                    continue
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND %s = ANY(pg_blocking_pids(pid))",
                        [pid],
                    )
                    if cursor.fetchone():
                        self.seen_waiting.add(name)
                        self.release[name].set()
            if time.monotonic() > deadline:
                for event in self.release.values():
                    event.set()
                raise AssertionError(
                    f"the run never waited on {set(self.backend) - self.seen_waiting}"
                )
            time.sleep(0.01)

    def finish(self) -> None:
        for m in [*self.members, self.watcher]:
            settle(m)
        assert self.seen_waiting == set(self.operations)


def _after_chunk(k: int, action: Callable[[], None]) -> Callable[[Run], None]:
    def progress(run: Run) -> None:
        if run.chunks_done == k:
            action()

    return progress


def test_a_member_holding_the_wallet_when_the_compost_arrives_keeps_its_grains(monkeypatch):
    # given 400 seeded wallets and two eligible ones in chunk k, whose members harvest and
    # plant: their operations hold the wallet lock when the chunk's statement arrives
    seed_population(wallets=400, as_of=A)
    seeded = accounts_by_seed()
    member_of = dict(seeded.values())
    plan = compost_plan(seed_model(), CompostRules(), A)
    k = min(chunk_of(a) for a in plan if chunk_of(a) >= 2)
    in_chunk = sorted(a for a in plan if chunk_of(a) == k)
    harvester, planter = in_chunk[len(in_chunk) // 2], in_chunk[-1]
    held = Held(
        monkeypatch,
        {
            "harvest": lambda: services.wallet_harvest(
                member_id=member_of[harvester], reason="content_read", as_of=DURING
            ),
            "plant": lambda: services.wallet_plant(
                member_id=member_of[planter], amount=1, as_of=DURING
            ),
        },
    )
    # when the compost runs in chunks of 50 and they act right before chunk k
    run = compost_run_start(
        as_of=A, chunk_size=CHUNK, workers=1, progress=_after_chunk(k, held.start)
    )
    held.finish()
    # then both keep their grains (they were active when their row was locked), the rest of
    # the chunk composts, and every amount is the model's
    taken = {a: -x for a, x in run_postings(run.pk).items()}
    assert harvester not in taken
    assert planter not in taken
    assert taken == {a: x for a, x in plan.items() if a not in (harvester, planter)}
    report = reconcile()
    assert report.ok, [d.message for d in report.discrepancies]


def test_a_member_holding_the_wallet_when_the_credit_arrives_changes_nothing(monkeypatch):
    # given 400 seeded wallets composted into the silo; in chunk k an eligible member who
    # plants, holding the wallet when the chunk arrives, and an idle member who harvests just
    # before (an idle row does not match the statement in its snapshot, so it never waits)
    seed_population(wallets=400, as_of=A)
    compost_run_start(as_of=A)
    member_of = dict(accounts_by_seed().values())
    model = db_wallets()
    plan = redistribution_plan(model, system_balance(AccountKind.SILO), RedistributionRules(), A)
    k = min(
        c
        for c in {chunk_of(a) for a in member_of}
        if c >= 2
        and any(chunk_of(a) == c for a in plan.eligible)
        and any(chunk_of(a) == c and a not in plan.eligible for a in member_of)
    )
    chunk = [a for a in sorted(member_of) if chunk_of(a) == k]
    active = chunk[len(chunk) // 2] if chunk[len(chunk) // 2] in plan.eligible else None
    active = active or next(a for a in chunk if a in plan.eligible)
    idle = next(a for a in reversed(chunk) if a not in plan.eligible)
    held = Held(
        monkeypatch,
        {
            "plant": lambda: services.wallet_plant(
                member_id=member_of[active], amount=1, as_of=DURING
            ),
        },
    )

    def act() -> None:
        services.wallet_harvest(member_id=member_of[idle], reason="content_read", as_of=DURING)
        held.start()

    # when the redistribution runs in chunks of 50 and they act right before chunk k
    run = redistribution_run_start(
        as_of=A, chunk_size=CHUNK, workers=1, progress=_after_chunk(k, act)
    )
    held.finish()
    # then the credited set is the counted one: the active member in, the idle one out
    credited = run_postings(run.pk)
    assert set(credited) == plan.eligible
    assert active in credited
    assert idle not in credited
    assert run.wallets_done == run.eligible_wallets == len(plan.eligible)
    report = reconcile()
    assert report.ok, [d.message for d in report.discrepancies]


# --- parallel workers while members act --------------------------------------------------------


def test_parallel_workers_compost_and_credit_exactly_while_members_act():
    # given the seeded population, and member threads acting the whole time
    seed_population(wallets=N, as_of=A)
    seeded = accounts_by_seed()
    after_seed = SakaEntry.objects.aggregate(m=Max("id"))["m"]
    plan = compost_plan(seed_model(), CompostRules(), A)
    member_of = dict(seeded.values())
    members = Members(
        member_ids=sorted(member_of.values()), favourites=[member_of[a] for a in plan]
    )
    members.start()
    # when the compost, then the redistribution run with 4 workers on chunks of 50
    try:
        run = compost_run_start(
            as_of=A, chunk_size=CHUNK, workers=4, progress=lambda r: members.wait_for_more(1)
        )
        credit = redistribution_run_start(as_of=A, chunk_size=CHUNK, workers=4)
    finally:
        members.finish()
    # then the books hold, every chunk was done once, ...
    report = reconcile()
    assert report.ok, [d.message for d in report.discrepancies]
    assert run.chunks_done == credit.chunks_done == -(-run.max_id // CHUNK)
    history = History(after_seed)
    composted = {
        acc: -p[1] for acc in member_of if (p := history.run_posting(acc, run.pk)) is not None
    }
    # ... only eligible wallets composted, each once, never after one of its member's
    # operations, by floor(balance just before x 10%); an eligible wallet kept its grains only
    # if its member acted
    assert set(composted) <= set(plan)
    for acc, amount in composted.items():
        posting = history.run_posting(acc, run.pk)
        assert all(act[0] > posting[0] for act in history.acts(acc)), acc
        assert amount == share(history.balance_before(acc, posting[0]), "0.10") == plan[acc]
    for acc in set(plan) - set(composted):
        assert history.acts(acc), f"eligible wallet {acc} was skipped although nobody acted"
    assert (run.wallets_done, run.amount_done) == (len(composted), sum(composted.values()))
    # ... and the redistribution credited its counted set once, with one share each
    credited = run_postings(credit.pk)
    assert len(credited) == credit.eligible_wallets == credit.wallets_done
    assert set(credited.values()) == {credit.per_wallet}
    assert system_balance(AccountKind.POOL) == 0
