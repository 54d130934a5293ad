"""The run concurrency tests' population and threads: the seeded population's size and chunk,
when members act, each wallet's model and posting history, and member threads that harvest
and plant at random while a run executes (nothing timed; the waits have a liveness guard)."""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta

from saka.core.errors import LockTimeout
from saka.demo.seed import seed_balance, seed_idle_days
from saka.grains import services
from saka.grains.errors import DailyLimitReached
from saka.grains.models import AccountKind, EntryKind, Run, SakaPosting
from saka.ledger.errors import InsufficientBalance
from tests.support.clock import A
from tests.support.runs_reference import DAY, Wallet
from tests.support.threads import Worker, settle

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
