"""One live run per period (an ISO week's compost, a month's redistribution) and dry runs that
write only their run, match the live run, and never block or replace it."""

from __future__ import annotations

import pytest

from saka.grains.models import Run, RunKind, RunStatus
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from tests.support.clock import A
from tests.support.run_rules import SECOND, composted, credits, fill_silo
from tests.support.runs_reference import DAY, ledger_snapshot

pytestmark = pytest.mark.django_db


# --- one live run per period, dry runs --------------------------------------------------------


def test_one_live_compost_per_iso_week(make_wallet):
    # given a finished compost run of the week
    wallet = make_wallet(1000, A - 100 * DAY)
    first = compost_run_start(as_of=A)
    snapshot = ledger_snapshot()
    # when the same week is asked again, at the same instant and later in the week
    again = compost_run_start(as_of=A)
    later_in_week = compost_run_start(as_of=A + 6 * DAY + 20 * 3600 * SECOND)
    # then the finished run comes back and nothing is booked twice
    assert again.pk == first.pk == later_in_week.pk
    assert later_in_week.as_of == A
    assert ledger_snapshot() == snapshot
    assert composted(first) == {wallet: 100}
    assert Run.objects.filter(kind=RunKind.COMPOST, dry_run=False).count() == 1


def test_one_live_redistribution_per_month(make_wallet):
    # given a finished redistribution of the month
    fill_silo(make_wallet, [10_000], at=A)
    active = make_wallet(100, A - DAY)
    first = redistribution_run_start(as_of=A)
    snapshot = ledger_snapshot()
    # when the month is asked again, later in the month
    again = redistribution_run_start(as_of=A + 20 * DAY)
    # then the finished run comes back and nothing is booked twice
    assert again.pk == first.pk
    assert ledger_snapshot() == snapshot
    assert credits(first) == {active: first.per_wallet}
    assert Run.objects.filter(kind=RunKind.REDISTRIBUTION, dry_run=False).count() == 1


def test_dry_compost_writes_only_its_run_and_matches_the_live_run(make_wallet):
    # given a mixed population
    for i in range(12):
        make_wallet(90 + 397 * i, A - (40 + 11 * i) * DAY)
    make_wallet(800, None)
    snapshot, runs = ledger_snapshot(), Run.objects.count()
    # when a dry run is made
    dry = compost_run_start(as_of=A, dry_run=True)
    # then only its run row was written
    assert ledger_snapshot() == snapshot
    assert Run.objects.count() == runs + 1
    assert (dry.dry_run, dry.status) == (True, RunStatus.DONE)
    # and the live run at the same instant does exactly what it announced
    live = compost_run_start(as_of=A)
    assert live.pk != dry.pk
    assert (dry.wallets_done, dry.amount_done) == (live.wallets_done, live.amount_done)
    assert dry.wallets_done == len(composted(live)) > 0
    assert dry.amount_done == sum(composted(live).values())


def test_dry_redistribution_writes_only_its_run_and_matches_the_live_run(make_wallet):
    # given a silo and a mixed population
    fill_silo(make_wallet, [3000, 4000, 5000], at=A - 7 * DAY)
    for i in range(9):
        make_wallet(50 + 101 * i, A - (10 * i + 3) * DAY)
    snapshot, runs = ledger_snapshot(), Run.objects.count()
    # when a dry run is made
    dry = redistribution_run_start(as_of=A, dry_run=True)
    # then only its run row was written
    assert ledger_snapshot() == snapshot
    assert Run.objects.count() == runs + 1
    # and the live run at the same instant has the same figures
    live = redistribution_run_start(as_of=A)
    fields = (
        "outcome",
        "silo_before",
        "pot",
        "eligible_wallets",
        "per_wallet",
        "wallets_done",
        "amount_done",
        "silo_after",
    )
    assert [getattr(dry, f) for f in fields] == [getattr(live, f) for f in fields]
    assert live.wallets_done == len(credits(live)) > 0


def test_a_dry_run_never_blocks_or_replaces_the_live_run(make_wallet):
    # given dry runs of the week, made before and after the live run
    make_wallet(1000, A - 100 * DAY)
    dry_before = compost_run_start(as_of=A, dry_run=True)
    live = compost_run_start(as_of=A)
    dry_after = compost_run_start(as_of=A, dry_run=True)
    # then each dry run is its own record; the live run is unique and did the work
    assert len({dry_before.pk, live.pk, dry_after.pk}) == 3
    assert live.wallets_done == 1
    assert dry_after.wallets_done == 0  # composted wallets wait a full window
