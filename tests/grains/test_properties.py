"""Property test: random harvests and plants against a plain-Python model of the SAKA rules.

Each example creates fresh members and projects (examples share the test's transaction),
runs a random sequence of operations, compares every outcome and the final wallets and
projects with the model, and ends with ``reconcile()``.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saka.core.errors import InvalidAmount
from saka.grains import selectors, services
from saka.grains.conf import HARVEST_RULES
from saka.grains.errors import AdjustmentCapReached, DailyLimitReached
from saka.grains.models import SakaEntry
from saka.ledger.errors import IdempotencyConflict, InsufficientBalance
from saka.ledger.reconcile import reconcile
from saka.projects.selectors import project_totals
from saka.projects.services import project_create

pytestmark = pytest.mark.django_db

BASE = datetime(2025, 6, 2, tzinfo=UTC)  # a Monday, 00:00 UTC
MEMBERS, PROJECTS, DAYS = 2, 2, 2
CAP, MAX_GRANT = 1000, 500
_example_ids = itertools.count()


# --- operations --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Harvest:
    member: int
    reason: str
    day: int
    second: int
    key: str | None


@dataclass(frozen=True)
class Manual:
    member: int
    amount: int
    advance: int  # seconds after the previous manual adjustment (the staff clock only goes on)
    key: str | None


@dataclass(frozen=True)
class Plant:
    member: int
    amount: int
    project: int | None
    day: int
    second: int
    key: str | None


@dataclass(frozen=True)
class Retry:
    back: int  # re-send the ``back``-th most recent request sent with a key, as it was


members = st.integers(0, MEMBERS - 1)
days = st.integers(0, DAYS - 1)
seconds = st.integers(0, 86_399)
keys = st.sampled_from([None, None, None, None, "k1", "k2"])
# low-limit reasons more often, so that limits are reached within one example
reasons = st.sampled_from(
    ["content_read", "content_read", "invest_bonus", "invest_bonus", "poll_vote", "invite_accepted"]
)
OPERATIONS = {
    "harvest": st.builds(Harvest, members, reasons, days, seconds, keys),
    "manual": st.builds(
        Manual,
        members,
        st.one_of(st.sampled_from([300, 400, 499, 500, 500, 501]), st.integers(1, 600)),
        st.sampled_from([0, 0, 0, 0, 1, 3_600, 43_200, 86_399, 86_400, 86_401]),
        keys,
    ),
    "plant": st.builds(
        Plant,
        members,
        st.one_of(st.integers(1, 400), st.sampled_from([1, 10, 50])),
        st.sampled_from([None, 0, 1]),
        days,
        seconds,
        keys,
    ),
    "retry": st.builds(Retry, st.integers(0, 3)),
}
operations = st.lists(
    st.sampled_from(["harvest", "harvest", "manual", "manual", "plant", "plant", "retry"]).flatmap(
        OPERATIONS.__getitem__
    ),
    min_size=10,
    max_size=40,
)


# --- the model ---------------------------------------------------------------------------------


@dataclass
class Wallet:
    balance: int = 0
    harvested: int = 0
    planted: int = 0
    last_activity: datetime | None = None
    grants: list[tuple[datetime, int]] = field(default_factory=list)

    def active(self, at: datetime) -> None:
        self.last_activity = at if self.last_activity is None else max(self.last_activity, at)


@dataclass
class Model:
    tz: ZoneInfo
    wallets: dict[int, Wallet] = field(default_factory=lambda: defaultdict(Wallet))
    per_day: dict[tuple[int, str, Any], int] = field(default_factory=lambda: defaultdict(int))
    scores: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    supporters: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    keys: dict[tuple[str, str], tuple[dict[str, Any], Any]] = field(default_factory=dict)

    def harvest(self, member: int, reason: str, at: datetime) -> Any:
        day = (member, reason, at.astimezone(self.tz).date())
        if self.per_day[day] >= HARVEST_RULES[reason].daily_limit:
            return DailyLimitReached
        self.per_day[day] += 1
        return self._credit(member, HARVEST_RULES[reason].reward, at)

    def manual(self, member: int, amount: int, at: datetime) -> Any:
        if amount > MAX_GRANT:
            return InvalidAmount
        wallet = self.wallets[member]
        used = sum(a for t, a in wallet.grants if at - timedelta(hours=24) < t <= at)
        if used + amount > CAP:
            return AdjustmentCapReached
        wallet.grants.append((at, amount))
        return self._credit(member, amount, at)

    def _credit(self, member: int, amount: int, at: datetime) -> Any:
        wallet = self.wallets[member]
        wallet.balance += amount
        wallet.harvested += amount
        wallet.active(at)
        return ("ok", wallet.balance)

    def plant(self, member: int, amount: int, project: int | None, at: datetime) -> Any:
        wallet = self.wallets[member]
        if wallet.balance < amount:
            return InsufficientBalance
        wallet.balance -= amount
        wallet.planted += amount
        wallet.active(at)
        if project is not None:
            self.scores[project] += amount
            self.supporters[project].add(member)
        return ("ok", wallet.balance)

    def keyed(self, scope: str, key: str | None, payload: dict[str, Any], book: Any) -> Any:
        """Idempotency: a stored key replays or conflicts; a failed attempt stores nothing."""
        if key is None:
            return book()
        stored = self.keys.get((scope, key))
        if stored is not None:
            return ("replay", stored[1]) if stored[0] == payload else IdempotencyConflict
        outcome = book()
        if isinstance(outcome, tuple):
            self.keys[(scope, key)] = (payload, outcome)
        return outcome


# --- the property ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("time_zone", ["UTC", "Europe/Paris"])
@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_random_operations_follow_the_rules(make_user, time_zone, ops):
    with override_settings(SAKA_TIME_ZONE=time_zone):
        _check(make_user, ZoneInfo(time_zone), ops)


@dataclass(frozen=True)
class Request:
    """One service call, and what the model does with it."""

    scope: str
    key: str | None
    payload: dict[str, Any]
    book: Callable[[], Any]  # the model
    call: Callable[[], Any]  # the service
    invalid: type[Exception] | None = None  # refused before the key is looked at


def _check(make_user: Any, tz: ZoneInfo, ops: list[Any]) -> None:
    # given fresh members, a staff granter and projects for this example
    example = next(_example_ids)
    people = [make_user() for _ in range(MEMBERS)]
    staff = make_user(staff=True, roles=["saka_adjuster"])
    projects = [project_create(owner_id=staff.pk, title=f"P{i}") for i in range(PROJECTS)]
    model = Model(tz=tz)
    clock = {"manual": BASE}
    sent_with_key: list[Request] = []
    results: dict[tuple[str, str], Any] = {}

    def request(op: Any) -> Request | None:
        if isinstance(op, Retry):
            return sent_with_key[-1 - op.back % len(sent_with_key)] if sent_with_key else None
        member_id = people[op.member].pk
        key = None if op.key is None else f"x{example}-{op.key}"
        if isinstance(op, Harvest):
            at = BASE + timedelta(days=op.day, seconds=op.second)
            return Request(
                scope="harvest:system",
                key=key,
                payload={"member": op.member, "reason": op.reason},
                book=lambda: model.harvest(op.member, op.reason, at),
                call=lambda: services.wallet_harvest(
                    member_id=member_id, reason=op.reason, as_of=at, idempotency_key=key
                ),
            )
        if isinstance(op, Manual):
            clock["manual"] += timedelta(seconds=op.advance)  # the staff clock only goes on
            at = clock["manual"]
            return Request(
                scope="harvest:staff",
                key=key,
                payload={"member": op.member, "amount": op.amount},
                book=lambda: model.manual(op.member, op.amount, at),
                call=lambda: services.wallet_harvest(
                    member_id=member_id,
                    reason="manual_adjust",
                    amount=op.amount,
                    granted_by_id=staff.pk,
                    as_of=at,
                    idempotency_key=key,
                ),
                invalid=InvalidAmount if op.amount > MAX_GRANT else None,
            )
        at = BASE + timedelta(days=op.day, seconds=op.second)
        project_id = None if op.project is None else projects[op.project].pk
        return Request(
            scope=f"plant:{op.member}",
            key=key,
            payload={"amount": op.amount, "project": op.project},
            book=lambda: model.plant(op.member, op.amount, op.project, at),
            call=lambda: services.wallet_plant(
                member_id=member_id,
                amount=op.amount,
                project_id=project_id,
                as_of=at,
                idempotency_key=key,
            ),
        )

    # when each request is sent, then its outcome is the model's
    for op in ops:
        req = request(op)
        if req is None:
            continue
        if req.key is not None and not isinstance(op, Retry):
            sent_with_key.append(req)
        expected = req.invalid or model.keyed(req.scope, req.key, req.payload, req.book)
        if isinstance(expected, tuple):
            result = req.call()
            if expected[0] == "replay":
                assert result == results[(req.scope, req.key)], op
            else:
                assert result.balance == expected[1], op
                if req.key is not None:
                    results[(req.scope, req.key)] = result
        else:
            with pytest.raises(expected):
                req.call()

    # then every wallet, project and count agrees with the model
    for i, person in enumerate(people):
        view = selectors.wallet_summary(member_id=person.pk)
        wallet = model.wallets[i]
        assert (view.balance, view.lifetime_harvested, view.lifetime_planted) == (
            wallet.balance,
            wallet.harvested,
            wallet.planted,
        ), i
        assert view.last_activity_at == wallet.last_activity, i
        booked = SakaEntry.objects.filter(member_id=person.pk)
        assert booked.filter(kind="harvest", reason="manual_adjust").count() == len(wallet.grants)
    for i, project in enumerate(projects):
        assert project_totals(project_id=project.pk) == (
            model.scores[i],
            len(model.supporters[i]),
        ), i
    # and the books reconcile
    report = reconcile()
    assert report.ok, [d.message for d in report.discrepancies]
