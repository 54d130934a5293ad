"""Seasons: created in a free range only (typed refusals, nothing written), at most one
active (also under concurrent activations), runs linked to the season containing their
``as_of``, a season's figures equal to what the runs and services booked inside it."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from saka.audit.errors import RoleRequired
from saka.audit.models import AuditRecord, Outcome
from saka.core.errors import ValidationError
from saka.grains.errors import SeasonNotFound, SeasonOverlaps
from saka.grains.models import EntryKind, Run, SakaEntry, Season
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from saka.grains.seasons.selectors import (
    season_current,
    season_get,
    season_list,
    season_stats,
)
from saka.grains.seasons.services import season_activate, season_create, season_deactivate
from tests.support.clock import A
from tests.support.run_rules import fill_silo
from tests.support.runs_reference import build_wallet, migrate_wallet, new_member, wallet_id
from tests.support.threads import Worker, run_all

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


@pytest.fixture
def make_wallet(staff_user):
    """``make_wallet(balance, last_activity_at, planted=0)`` as in ``tests/grains/runs``."""
    counter = {"n": 0}

    def make(balance, at, *, planted=0):
        counter["n"] += 1
        member = new_member(f"season-w{counter['n']}")
        if at is None:
            migrate_wallet(member_id=member.pk, amount=balance)
        else:
            build_wallet(
                member_id=member.pk, balance=balance, at=at, staff_id=staff_user.pk, planted=planted
            )
        return wallet_id(member.pk)

    return make


def _season(name: str, start, days: int = 30, **kwargs) -> Season:
    return season_create(
        name=name, starts_at=start, ends_at=start + days * DAY, created_by_id=None, **kwargs
    )


def _state() -> tuple:
    return (
        list(Season.objects.order_by("pk").values_list("pk", "name", "is_active")),
        AuditRecord.objects.filter(outcome=Outcome.SUCCEEDED).count(),
    )


# --- create ---------------------------------------------------------------------------------


def test_a_staff_policy_maker_creates_a_season(make_user):
    # given a policy maker
    maker = make_user(staff=True, roles=["policy_maker"])
    # when they create a season
    season = season_create(
        name="  Spring 2026 ", starts_at=A, ends_at=A + 90 * DAY, created_by_id=maker.pk
    )
    # then it is stored, named and slugged, inactive, and the creation is audited
    season.refresh_from_db()
    assert (season.name, season.slug, season.is_active, season.created_by_id) == (
        "Spring 2026",
        "spring-2026",
        False,
        maker.pk,
    )
    record = AuditRecord.objects.get(action="saka.season.create")
    assert (record.actor_id, record.target_id, record.outcome) == (
        maker.pk,
        str(season.pk),
        Outcome.SUCCEEDED,
    )


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (A - 10 * DAY, A + 10 * DAY, "overlap"),  # meets the start
        (A + 80 * DAY, A + 100 * DAY, "overlap"),  # meets the end
        (A + 10 * DAY, A + 20 * DAY, "overlap"),  # inside
        (A - 10 * DAY, A + 100 * DAY, "overlap"),  # around
        (A - 10 * DAY, A, "ok"),  # ends the instant it starts: '[)' ranges do not meet
        (A + 90 * DAY, A + 100 * DAY, "ok"),  # starts the instant it ends
    ],
)
def test_overlapping_seasons_are_refused(start, end, expected):
    # given a season [A, A + 90 days)
    first = _season("Spring", A, 90)
    before = _state()
    # when another is created
    if expected == "ok":
        # then a range that only touches it is accepted
        assert _season("Other", start, (end - start).days).pk > first.pk
        return
    with pytest.raises(SeasonOverlaps) as caught:
        season_create(name="Other", starts_at=start, ends_at=end, created_by_id=None)
    # then one that meets it is refused, naming it, and nothing is written
    assert caught.value.data["season_id"] == first.pk
    assert _state() == before


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"name": "!!!"}, "name"),
        ({"name": 42}, "name"),
        ({"ends_at": A}, "ends_at"),
        ({"ends_at": A - DAY}, "ends_at"),
        ({"starts_at": A.replace(tzinfo=None)}, "starts_at"),
        ({"starts_at": "2026-03-02"}, "starts_at"),
        ({"name": "Spring"}, "name"),  # taken
        ({"name": "SPRING"}, "name"),  # its slug is taken
    ],
)
def test_bad_input_is_a_validation_error_and_writes_nothing(kwargs, field):
    # given a season "Spring" long before
    _season("Spring", A - 400 * DAY)
    before = _state()
    args = {"name": "Summer", "starts_at": A, "ends_at": A + 30 * DAY, "created_by_id": None}
    # when a season is created with one bad argument
    with pytest.raises(ValidationError) as caught:
        season_create(**{**args, **kwargs})
    # then it is refused naming the field, and nothing is written
    assert caught.value.data["field"] == field
    assert _state() == before


@pytest.mark.parametrize("role", ["auditor", "run_operator", "poll_manager", None])
def test_other_roles_are_refused_and_recorded(make_user, role):
    # given a staff user without manage_policy, and a season
    user = make_user(staff=True, roles=[] if role is None else [role])
    season = _season("Spring", A)
    before = _state()
    # when they create, activate or deactivate a season
    calls = [
        lambda: season_create(
            name="Summer", starts_at=A + 60 * DAY, ends_at=A + 90 * DAY, created_by_id=user.pk
        ),
        lambda: season_activate(season_id=season.pk, actor_id=user.pk),
        lambda: season_deactivate(season_id=season.pk, actor_id=user.pk),
    ]
    for call in calls:
        with pytest.raises(RoleRequired) as caught:
            call()
        assert caught.value.data["permission"] == "audit.manage_policy"
    # then nothing changed, and each refusal is recorded
    assert _state() == before
    assert sorted(
        AuditRecord.objects.filter(actor=user, outcome=Outcome.REFUSED).values_list(
            "action", flat=True
        )
    ) == ["saka.season.activate", "saka.season.create", "saka.season.deactivate"]


def test_creating_a_season_costs_few_queries(django_assert_num_queries):
    # given a season
    _season("Spring", A)
    # when another is created by the system: the lock (PostgreSQL), name and slug, the
    # overlap check, the insert, the audit record, SAVEPOINT-free BEGIN/COMMIT
    with CaptureQueriesContext(connection) as ctx:
        _season("Summer", A + 60 * DAY)
    # then
    expected = 8 if connection.vendor == "postgresql" else 7
    assert len(ctx.captured_queries) == expected, [q["sql"][:80] for q in ctx.captured_queries]


# --- one active season ------------------------------------------------------------------------


def test_activating_a_season_deactivates_the_other():
    # given two seasons, the first active
    first = _season("Spring", A, active=True)
    second = _season("Summer", A + 30 * DAY)
    # when the second is activated
    season_activate(season_id=second.pk, actor_id=None)
    # then it is the only active one; deactivating it leaves none
    assert list(Season.objects.filter(is_active=True).values_list("pk", flat=True)) == [second.pk]
    record = AuditRecord.objects.filter(action="saka.season.activate").get()
    assert record.payload["deactivated"] == [first.pk]
    season_deactivate(season_id=second.pk, actor_id=None)
    assert not Season.objects.filter(is_active=True).exists()


def test_an_unknown_season_is_typed():
    for bad in (10**9, 0, -1, "1", True):
        with pytest.raises(SeasonNotFound):
            season_activate(season_id=bad, actor_id=None)
        with pytest.raises(SeasonNotFound):
            season_deactivate(season_id=bad, actor_id=None)
        with pytest.raises(SeasonNotFound):
            season_get(season_id=bad)


def test_the_database_refuses_a_second_active_season():
    # given an active season
    _season("Spring", A, active=True)
    other = _season("Summer", A + 30 * DAY)
    # when a second is set active behind the service's back, then the partial index refuses
    with pytest.raises(IntegrityError), transaction.atomic():
        Season.objects.filter(pk=other.pk).update(is_active=True)


@pytest.mark.postgres
def test_the_database_refuses_overlapping_seasons():
    # given a season, when an overlapping one is inserted behind the service's back
    _season("Spring", A)
    with pytest.raises(IntegrityError), transaction.atomic():
        Season.objects.create(name="Other", slug="other", starts_at=A + DAY, ends_at=A + 2 * DAY)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_activations_leave_one_season_active():
    # given four seasons
    seasons = [_season(f"S{i}", A + i * 30 * DAY) for i in range(4)]
    start = threading.Barrier(len(seasons))
    # when each is activated at the same instant by its own connection
    workers = run_all(
        [
            Worker(lambda pk=s.pk: season_activate(season_id=pk, actor_id=None), barrier=start)
            for s in seasons
        ]
    )
    # then every activation succeeded, serialised: exactly one season is active, the last
    assert [w.error for w in workers] == [None] * len(seasons)
    active = list(Season.objects.filter(is_active=True).values_list("pk", flat=True))
    assert len(active) == 1
    last = AuditRecord.objects.filter(action="saka.season.activate").order_by("-id").first()
    assert active == [int(last.target_id)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_overlapping_creations_leave_one():
    # given nothing, when two overlapping seasons are created at the same instant
    start = threading.Barrier(2)
    workers = run_all(
        [
            Worker(lambda n=n, i=i: _season(n, A + DAY * i), barrier=start)
            for i, n in enumerate(["Left", "Right"])
        ]
    )
    # then one is created and the other refused with the typed error
    outcomes = sorted(type(w.outcome).__name__ for w in workers)
    assert outcomes == ["Season", "SeasonOverlaps"]
    assert Season.objects.count() == 1


# --- runs and figures -------------------------------------------------------------------------


@override_settings(SAKA_REDISTRIBUTION_RATE="0.5")
def test_a_seasons_figures_equal_the_runs_and_services_totals(make_wallet):
    # given a season [A - 30 days, A + 30 days) and the next one
    season = _season("Spring", A - 30 * DAY, 60)
    later = _season("Summer", A + 30 * DAY, 60)
    # and three members harvesting 1,200 and planting 200 each inside it, one wallet idle since
    # long before it, a silo filled by composting migrated wallets at A - 7 days
    for _ in range(3):
        make_wallet(1_000, A - 10 * DAY, planted=200)
    make_wallet(700, A - 200 * DAY)
    fill_silo(make_wallet, [50_000, 50_000], at=A - 7 * DAY)
    # when a compost runs at A and a redistribution a day later (inside), a compost after it
    composts = [
        Run.objects.get(kind="compost", as_of=A - 7 * DAY),
        compost_run_start(as_of=A),
    ]
    redistribution = redistribution_run_start(as_of=A + DAY)
    outside = compost_run_start(as_of=A + 40 * DAY)
    stats = season_stats(season_get(season_id=season.pk))
    # then the season counts what was booked inside it, the redistribution as its credits
    assert redistribution.amount_done > 0
    assert composts[0].amount_done > 0
    assert stats.harvested == 3 * 1_200
    assert stats.harvesters == 3
    assert stats.planted == 3 * 200
    assert stats.composted == sum(r.amount_done for r in composts)
    assert stats.redistributed == redistribution.amount_done
    assert stats.runs == 3
    # (the pot's transfers silo -> pool -> silo are not redistributed grains)
    moved = SakaEntry.objects.filter(run=redistribution, kind=EntryKind.REDISTRIBUTION)
    assert sum(moved.values_list("amount", flat=True)) > stats.redistributed
    # and each run is linked to the season containing its as_of
    assert {r.season_id for r in [*composts, redistribution]} == {season.pk}
    assert outside.season_id == later.pk
    assert season_stats(later).composted == outside.amount_done


def test_a_run_links_to_the_season_of_its_as_of_not_the_active_one():
    # given an active season that ended, and a later one inactive
    past = _season("Winter", A - 60 * DAY, 30, active=True)
    now_season = _season("Spring", A - 30 * DAY, 60)
    # when dry runs are made at A, at the past season's start, at the instant it ends, and
    # outside any season
    runs = [
        compost_run_start(as_of=at, dry_run=True)
        for at in (A, A - 60 * DAY, A - 30 * DAY, A + 200 * DAY)
    ]
    # then each is linked to the season containing its as_of ('[)': an end belongs to the next)
    assert [r.season_id for r in runs] == [now_season.pk, past.pk, now_season.pk, None]
    assert season_current(A) == now_season
    assert season_current(A + 200 * DAY) is None


def test_stats_and_list_queries_are_pinned(django_assert_num_queries):
    # given three seasons
    for i in range(3):
        _season(f"S{i}", A + i * 30 * DAY)
    # when the list is read with each season's figures, then one query for the list (runs
    # counted in it) and one aggregate per season
    with django_assert_num_queries(4):
        figures = [season_stats(s) for s in season_list()]
    assert [f.runs for f in figures] == [0, 0, 0]
    # and a season not from the list costs its aggregate and its runs' count
    plain = Season.objects.first()
    with django_assert_num_queries(2):
        season_stats(plain)
