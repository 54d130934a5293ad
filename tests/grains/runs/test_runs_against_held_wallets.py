"""A member operation holding a wallet when a run's chunk statement arrives (PostgreSQL, real
threads): the statement waits, then judges the wallet on the row it locks: a compost leaves
the grains the member keeps, a credit changes nothing it should not."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from saka.demo.seed import seed_population
from saka.grains import services
from saka.grains.models import AccountKind, Run
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from saka.ledger.reconcile import reconcile
from tests.support.clock import A
from tests.support.run_races import (
    CHUNK,
    DURING,
    GUARD_SECONDS,
    accounts_by_seed,
    chunk_of,
    seed_model,
)
from tests.support.runs_reference import (
    CompostRules,
    RedistributionRules,
    compost_plan,
    db_wallets,
    redistribution_plan,
    run_postings,
    system_balance,
)
from tests.support.threads import Worker, settle

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, reset_sequences=True),
]


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
