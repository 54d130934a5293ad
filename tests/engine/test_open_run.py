"""Opening a run (``saka.engine.lifecycle.open_run``): bounded retries, never recursion; a run
queued by a user deleted since opens without them; an earlier unfinished run of the kind is
named and finished first; the database keeps one unfinished live run per kind."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from saka.engine import lifecycle
from saka.engine.errors import EarlierRunUnfinished, RunConflict
from saka.grains.models import Run, RunKind, RunStatus, RunTrigger
from saka.grains.runs.compost import COMPOST, compost_run_start
from saka.grains.runs.lifecycle import earlier_unfinished, open_live
from saka.grains.runs.periods import period_of
from tests.support.clock import A
from tests.support.runs_reference import DAY
from tests.support.threads import Worker, settle

pytestmark = pytest.mark.django_db

WEEK = 7 * DAY


def _open_compost(at: Any, **kwargs: Any) -> tuple[Run, bool]:
    options = {"trigger": RunTrigger.PYTHON, "triggered_by_id": None, "chunk_size": 100}
    return open_live(COMPOST, kind=RunKind.COMPOST, at=at, **{**options, **kwargs})


def _deleted_user_id() -> int:
    user = get_user_model().objects.create_user(username="gone", password="pw")
    user_id = user.pk
    user.delete()
    return user_id


# --- bounded retries ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # real commits: the foreign key is checked
def test_a_run_queued_by_a_deleted_user_opens_without_them() -> None:
    # given a start asked by a user who was deleted before the run opened
    user_id = _deleted_user_id()
    # when the run is opened
    run, created = _open_compost(A, triggered_by_id=user_id)
    # then it opened (no RecursionError, no conflict), only without who asked
    assert created
    assert (run.triggered_by_id, run.status) == (None, RunStatus.QUEUED)
    assert Run.objects.get().triggered_by_id is None


@pytest.mark.django_db(transaction=True)
def test_a_persistent_integrity_error_is_a_run_conflict_after_open_attempts() -> None:
    # given a create that always fails its foreign key (the user it names is gone)
    user_id = _deleted_user_id()
    calls: list[int] = []

    def create() -> Run:
        calls.append(1)
        return Run.objects.create(
            kind=RunKind.COMPOST,
            period=period_of(RunKind.COMPOST, A),
            as_of=A,
            trigger=RunTrigger.PYTHON,
            triggered_by_id=user_id,
        )

    # when the run is opened, then it gives up after OPEN_ATTEMPTS, typed, leaving nothing
    with pytest.raises(RunConflict) as refused:
        lifecycle.open_run(COMPOST, find=lambda: None, create=create)
    assert len(calls) == lifecycle.OPEN_ATTEMPTS
    assert isinstance(refused.value.__cause__, IntegrityError)
    assert refused.value.data["error"]
    assert not Run.objects.exists()


def test_an_opener_that_lost_the_race_finds_the_winners_run() -> None:
    # given a concurrent opener that wins between this one's find and its insert
    winner, _ = _open_compost(A)
    found = iter([None, winner])

    def create() -> Run:
        raise IntegrityError("duplicate key value violates grains_run_one_live_per_period")

    # when this one opens, then it gets the winner's run (not created), on its second try
    run, created = lifecycle.open_run(COMPOST, find=lambda: next(found), create=create)
    assert (run, created) == (winner, False)


def test_a_found_run_is_returned_as_it_is() -> None:
    # given the week's run, done
    run = compost_run_start(as_of=A)
    # when it is opened again, then it is found as it is
    again, created = _open_compost(A + timedelta(hours=1))
    assert (again.pk, again.status, created) == (run.pk, RunStatus.DONE, False)
    # (the engine asks for nothing else once it found the run)
    create, earlier = mock.Mock(), mock.Mock()
    assert lifecycle.open_run(COMPOST, find=lambda: run, create=create, earlier=earlier) == (
        run,
        False,
    )
    create.assert_not_called()
    earlier.assert_not_called()


# --- an earlier unfinished run of the kind ------------------------------------------------------


def test_a_new_period_is_refused_naming_the_earlier_unfinished_run() -> None:
    # given week W's compost opened and never finished
    earlier, _ = _open_compost(A)
    # when week W + 1's is opened, then it is refused with the earlier run's id and period
    with pytest.raises(EarlierRunUnfinished) as refused:
        _open_compost(A + WEEK)
    assert refused.value.data == {
        "run_id": earlier.pk,
        "kind": RunKind.COMPOST,
        "period": earlier.period,
    }
    assert Run.objects.get() == earlier
    # and another kind, or a dry run, is not held back
    compost_run_start(as_of=A + WEEK, dry_run=True)
    assert earlier_unfinished(RunKind.REDISTRIBUTION, period_of(RunKind.REDISTRIBUTION, A)) is None


def test_run_live_finishes_the_earlier_run_first_then_its_own() -> None:
    # given week W's compost interrupted
    earlier, _ = _open_compost(A)
    lifecycle.interrupt(COMPOST, earlier.pk, RuntimeError("worker lost"))
    # when week W + 1's compost runs in this process
    current = compost_run_start(as_of=A + WEEK, chunk_size=100)
    # then W was finished first (its attempt counted), then W + 1
    earlier.refresh_from_db()
    assert (earlier.status, earlier.attempts) == (RunStatus.DONE, 2)
    assert (current.status, current.period) == (
        RunStatus.DONE,
        period_of(RunKind.COMPOST, A + WEEK),
    )
    assert earlier.finished_at <= current.created_at
    # and once W is done, nothing holds the next week back
    assert _open_compost(A + 2 * WEEK)[1] is True


# --- one unfinished live run per kind in the database ------------------------------------------


def _insert(
    kind: str, period: str, *, dry_run: bool = False, status: str = RunStatus.QUEUED
) -> Run:
    return Run.objects.create(
        kind=kind, period=period, dry_run=dry_run, status=status, as_of=A, trigger="python"
    )


@pytest.mark.postgres
def test_the_database_keeps_one_unfinished_live_run_per_kind() -> None:
    # given an unfinished live compost
    _insert(RunKind.COMPOST, "2026-W10", status=RunStatus.RUNNING)
    # then a second unfinished live compost of another period is refused by the index
    for status in (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.INTERRUPTED):
        with pytest.raises(IntegrityError) as refused, transaction.atomic():
            _insert(RunKind.COMPOST, "2026-W11", status=status)
        assert "grains_run_one_unfinished_per_kind" in str(refused.value)
    # and a done one, a dry one or another kind's is not
    _insert(RunKind.COMPOST, "2026-W09", status=RunStatus.DONE)
    _insert(RunKind.COMPOST, "2026-W11", dry_run=True, status=RunStatus.RUNNING)
    _insert(RunKind.REDISTRIBUTION, "2026-03", status=RunStatus.INTERRUPTED)
    assert Run.objects.count() == 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_periods_opened_at_once_one_opens_the_other_is_told_which() -> None:
    # given two openers of consecutive weeks that both see no earlier unfinished run
    # (each waits for the other after its check, then inserts)
    barrier = threading.Barrier(2)

    def open_week(at: Any) -> Any:
        period = period_of(RunKind.COMPOST, at)
        checks = {"n": 0}

        def earlier() -> Any:
            found = earlier_unfinished(RunKind.COMPOST, period)
            checks["n"] += 1
            if checks["n"] == 1:
                barrier.wait()
            return found

        def create() -> Run:
            return _insert(RunKind.COMPOST, period)

        def go() -> Any:
            try:
                return lifecycle.open_run(
                    COMPOST,
                    find=lambda: Run.objects.filter(
                        kind=RunKind.COMPOST, period=period, dry_run=False
                    ).first(),
                    create=create,
                    earlier=earlier,
                )[0]
            except EarlierRunUnfinished as exc:
                return exc

        return go

    workers = [Worker(open_week(at), name=str(at.date())) for at in (A, A + WEEK)]
    for w in workers:
        w.start()
    outcomes = [settle(w) for w in workers]
    # then exactly one run opened; the other opener was refused, naming it
    opened = [o for o in outcomes if isinstance(o, Run)]
    refused = [o for o in outcomes if isinstance(o, EarlierRunUnfinished)]
    assert (len(opened), len(refused)) == (1, 1), outcomes
    assert refused[0].data["run_id"] == opened[0].pk
    assert list(Run.objects.values_list("pk", flat=True)) == [opened[0].pk]
