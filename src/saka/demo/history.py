"""The demo's SAKA history: members' harvests and boosts, and the scheduled runs (compost every
Monday 03:00 UTC, redistribution the 1st 04:00 UTC) of the past weeks, all booked in time
order through the real services and run code, each at its own instant (``as_of``).

The shape is anchored on the last redistribution before the current month (``R``, the 1st
of the previous month): *regular* members act in the last 0..90 days; *dormant* members were
active earlier and heavier (their last activity 98..130 days before ``R``), so the weekly
composts before ``R`` fill the silo and ``R`` pays every member active in its window a share
above zero. The current week's compost and the current month's redistribution are left to
the operator (the scheduler, ``saka_compost``, the admin).

Idempotent: a member's history is made only when their wallet does not exist yet (every
planned member gets at least one harvest); the runs are asked for by period, and a finished
period returns its run.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from saka.core.errors import DomainError
from saka.grains import services as grains
from saka.grains.models import Run, RunTrigger
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start

# harvest reasons a platform grants; dormant members were the heavy earners
REGULAR_REASONS = ["content_read", "content_read", "poll_vote", "invite_accepted", "invest_bonus"]
DORMANT_REASONS = ["content_read", "invite_accepted", "invite_accepted", "invest_bonus"]
COMPOST_WEEKS_BEFORE_R = 7


def last_redistribution_instant(today: datetime) -> datetime:
    """The 1st of the month before ``today``'s, 04:00 UTC (the last past scheduled run of a
    month that is not the current one)."""
    first = today.astimezone(UTC).replace(day=1, hour=4, minute=0, second=0, microsecond=0)
    return (first - timedelta(days=1)).replace(day=1)


def compost_instants(today: datetime, redistribution_at: datetime) -> list[datetime]:
    """Mondays 03:00 UTC from a few weeks before ``redistribution_at`` until the last one
    before ``today``'s ISO week."""
    utc = today.astimezone(UTC)
    this_monday = (utc - timedelta(days=utc.weekday())).replace(
        hour=3, minute=0, second=0, microsecond=0
    )
    start = redistribution_at - timedelta(weeks=COMPOST_WEEKS_BEFORE_R)
    first = (start - timedelta(days=start.weekday())).replace(hour=3, minute=0)
    out, at = [], first
    while at < this_monday:
        out.append(at)
        at += timedelta(weeks=1)
    return out


@dataclass(order=True)
class Event:
    at: datetime
    order: int  # ties: runs after the members' operations of the same instant
    action: Callable[[], object] = field(compare=False)
    kind: str = field(compare=False)  # "op" or "run"


@dataclass
class HistoryResult:
    operations: int = 0
    runs: list[Run] = field(default_factory=list)


def _plan_member(
    member_id: int,
    projects: list[int],
    rng: random.Random,
    today: datetime,
    days: int,
    r_days: int,
    admin_id: int,
) -> list[Event]:
    dormant = rng.random() < 0.35
    if dormant:
        last_day = min(days, r_days + 90 + rng.randint(8, 40))
        first_day = min(days, last_day + rng.randint(20, 60))
        reasons, pace = DORMANT_REASONS, 0.45
    else:
        last_day = rng.randint(0, 30)
        first_day = min(days, last_day + rng.randint(10, 60))
        reasons, pace = REGULAR_REASONS, 0.3
    events: list[Event] = []

    def harvest(reason: str, at: datetime, **extra: Any) -> Event:
        action = partial(
            grains.wallet_harvest, member_id=member_id, reason=reason, as_of=at, **extra
        )
        return Event(at, 0, action, "op")

    for day in range(first_day, last_day - 1, -1):
        if rng.random() > pace:
            continue
        at = today - timedelta(days=day, minutes=rng.randint(0, 600))
        reason = rng.choice(reasons)
        events += [harvest(reason, at + timedelta(seconds=n)) for n in range(rng.randint(1, 2))]
        if rng.random() < 0.25:
            project_id, amount = rng.choice(projects), rng.choice([10, 10, 20, 50])
            boost_at = at + timedelta(minutes=5)
            boost = partial(
                grains.project_boost,
                member_id=member_id,
                project_id=project_id,
                amount=amount,
                as_of=boost_at,
            )
            events.append(Event(boost_at, 0, boost, "op"))
    if not events:  # every demo member has a wallet: that is what makes a re-run a no-op
        events.append(harvest("content_read", today - timedelta(days=last_day)))
    if rng.random() < 0.05:
        events.append(
            harvest(
                "manual_adjust",
                today - timedelta(days=last_day, seconds=-30),
                amount=rng.randint(1, 200),
                granted_by_id=admin_id,
            )
        )
    return events


def history_book(
    *,
    member_ids: list[int],
    projects: list[int],
    rng: random.Random,
    today: datetime,
    days: int,
    admin_id: int,
    log: Callable[[str], object] | None = None,
) -> HistoryResult:
    """Plan the history of ``member_ids`` (members without a wallet) and the runs of the past
    weeks, then book everything in time order. A refused operation (a daily limit, a boost
    above the balance) is skipped, as the platform would see it refused."""
    redistribution_at = last_redistribution_instant(today)
    r_days = (today - redistribution_at).days
    events: list[Event] = []
    for member_id in member_ids:
        events += _plan_member(member_id, projects, rng, today, days, r_days, admin_id)
    runs: list[tuple[datetime, Callable[[], Run]]] = [
        (at, partial(compost_run_start, as_of=at, trigger=RunTrigger.BEAT))
        for at in compost_instants(today, redistribution_at)
    ]
    runs.append(
        (
            redistribution_at,
            partial(redistribution_run_start, as_of=redistribution_at, trigger=RunTrigger.BEAT),
        )
    )
    events += [Event(at, 1, action, "run") for at, action in runs]
    events.sort()
    result = HistoryResult()
    ops = sum(1 for e in events if e.kind == "op")
    for event in events:
        if event.kind == "run":
            run = event.action()
            assert isinstance(run, Run)  # noqa: S101 - the run functions return their run
            result.runs.append(run)
            continue
        try:
            event.action()
        except DomainError:
            continue
        result.operations += 1
        if log is not None and result.operations % 1000 == 0:
            log(f"  history: {result.operations}/{ops} operations")
    return result
