"""Rolled-up accounts (``Book.rollup_kinds``): a credit is a pending row until a rollup folds
it into the cached balance; the balance read is cached + pending all along; each pending row
is folded exactly once -- across a crash between posting and rollup, a rollup that dies in
its transaction, concurrent rollups, and postings still uncommitted while a rollup runs.
Reconcile (automatic after each test) proves cached + pending = Σ postings."""

from __future__ import annotations

import io
import json
import threading
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from saka.euro import selectors
from saka.euro.accounts import EURO_BOOK, euro_rollup, system_account_id
from saka.euro.models import AccountKind, EntryKind, EuroAccount, EuroEntry, EuroPendingDelta
from saka.euro.payments import deposits
from saka.grains import services as grains
from saka.ledger import posting
from saka.ledger.errors import UnbalancedEntry
from saka.ledger.posting import entry_post
from saka.ledger.reconcile import reconcile
from saka.projects.models import Project, ProjectScoreDelta
from saka.projects.selectors import project_totals
from saka.projects.services import project_scores_rollup
from tests.support.euro import SECRET, deposit
from tests.support.euro_races import JOIN_SECONDS, paused, wait_for_lock_waiters
from tests.support.saka import harvest
from tests.support.threads import Worker, join, settle


@pytest.fixture(autouse=True)
def _webhook_secret(settings: Any) -> None:
    settings.SAKA_PAYMENT_WEBHOOK_SECRET = SECRET


def _commission() -> tuple[int, int]:
    """The commission account's (cached balance, pending rows)."""
    account_id = system_account_id(AccountKind.COMMISSION)
    cached = EuroAccount.objects.values_list("balance", flat=True).get(pk=account_id)
    return int(cached), EuroPendingDelta.objects.filter(account_id=account_id).count()


@pytest.mark.django_db
def test_a_tip_is_pending_until_the_rollup_folds_it_once(make_user: Any) -> None:
    # given two deposits with a tip
    member = make_user()
    deposit(member, 10_00, tip=1_00)
    deposit(member, 10_00, tip=50)
    # then the commission row was not written: two pending credits, read as the balance
    assert _commission() == (0, 2)
    assert selectors.platform_balance() == 1_50
    assert reconcile().ok
    # when the rollup runs twice
    folded = [euro_rollup(), euro_rollup()]
    # then it folded each pending row once
    assert folded == [2, 0]
    assert _commission() == (1_50, 0)
    assert selectors.platform_balance() == 1_50


@pytest.mark.django_db
def test_a_boost_is_pending_until_the_rollup_folds_it_once(make_user: Any, project: Any) -> None:
    # given two members' boosts of a project (one boosts twice)
    a, b = make_user(), make_user()
    harvest(a.pk, "invest_bonus")
    harvest(b.pk, "invest_bonus")
    for member, grains_ in ((a, 10), (a, 5), (b, 7)):
        grains.project_boost(member_id=member.pk, project_id=project.pk, amount=grains_)
    # then the project row is untouched, the figures read are exact
    assert Project.objects.values_list("saka_score", "saka_supporters").get(pk=project.pk) == (
        0,
        0,
    )
    assert project_totals(project_id=project.pk) == (22, 2)
    # when the rollup runs twice; then each delta was folded once
    assert [project_scores_rollup(), project_scores_rollup()] == [3, 0]
    assert Project.objects.values_list("saka_score", "saka_supporters").get(pk=project.pk) == (
        22,
        2,
    )
    assert project_totals(project_id=project.pk) == (22, 2)
    assert not ProjectScoreDelta.objects.exists()


@pytest.mark.django_db
def test_a_debit_of_a_rolled_up_account_is_refused(make_user: Any) -> None:
    # given the platform's commission (a rolled-up account) holding a tip
    deposit(make_user(), 10_00, tip=1_00)
    commission = system_account_id(AccountKind.COMMISSION)
    provider = system_account_id(AccountKind.PROVIDER)
    entries = EuroEntry.objects.count()
    # when something tries to take money out of it through the posting engine
    with pytest.raises(UnbalancedEntry), transaction.atomic():
        entry_post(
            book=EURO_BOOK,
            entry=EuroEntry(kind=EntryKind.DEPOSIT, amount=50),
            postings=[(commission, -50), (provider, 50)],
            external_account_ids=frozenset({provider}),
            rollup_account_ids=frozenset({commission}),
        )
    # then nothing was booked: its balance can never go below zero unseen
    assert EuroEntry.objects.count() == entries
    assert selectors.platform_balance() == 1_00


@pytest.mark.django_db
def test_a_rollup_that_dies_in_its_transaction_loses_nothing(make_user: Any) -> None:
    # given a pending tip, and a rollup whose transaction fails after its fold
    deposit(make_user(), 10_00, tip=1_00)

    def dying_rollup() -> None:
        with transaction.atomic():
            folded = posting.pending_fold(
                pending_model=EuroPendingDelta,
                target_model=EuroAccount,
                key="account_id",
                sums={"balance": "amount"},
            )
            assert folded == 1
            raise RuntimeError("the worker died")

    with pytest.raises(RuntimeError):
        dying_rollup()
    # then the pending row survived, and the next rollup folds it once
    assert _commission() == (0, 1)
    assert euro_rollup() == 1
    assert _commission() == (1_00, 0)


# --- PostgreSQL: real connections ------------------------------------------------------------


def _paused_rollup(monkeypatch: Any) -> tuple[threading.Event, threading.Event]:
    """Make a rollup run by the thread named ``paused`` stop after its fold, its transaction
    open (pending rows deleted, balances updated, nothing committed)."""
    booked, release = threading.Event(), threading.Event()
    real = posting.pending_fold

    def fold(**kwargs: Any) -> int:
        out = real(**kwargs)
        if threading.current_thread().name == "paused":
            booked.set()
            release.wait(JOIN_SECONDS)
        return out

    monkeypatch.setattr(posting, "pending_fold", fold)
    return booked, release


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_rollups_fold_each_row_once(make_user: Any, monkeypatch: Any) -> None:
    # given three pending tips and a rollup that folded them, not committed yet
    member = make_user()
    for tip in (1_00, 2_00, 3_00):
        deposit(member, 10_00, tip=tip)
    booked, release = _paused_rollup(monkeypatch)
    first = Worker(euro_rollup, name="paused")
    first.start()
    try:
        assert booked.wait(JOIN_SECONDS)
        # when a second rollup starts meanwhile (it waits for the first's lock)
        second = Worker(euro_rollup, name="second")
        second.start()
        wait_for_lock_waiters(1)
    finally:
        release.set()
    # then the first folded the three rows, the second none: added once
    assert settle(first) == 3
    assert settle(second) == 0
    assert _commission() == (6_00, 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_crash_of_the_rollup_mid_transaction_loses_nothing(
    make_user: Any, monkeypatch: Any
) -> None:
    # given two pending tips and a rollup that folded them, not committed
    member = make_user()
    deposit(member, 10_00, tip=1_00)
    deposit(member, 10_00, tip=2_00)
    booked, release = _paused_rollup(monkeypatch)
    pid: dict[str, int] = {}
    real_fold = posting.pending_fold

    def fold_and_tell(**kwargs: Any) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid["rollup"] = cursor.fetchone()[0]
        return int(real_fold(**kwargs))

    monkeypatch.setattr(posting, "pending_fold", fold_and_tell)
    crashed = Worker(euro_rollup, name="paused")
    crashed.start()
    try:
        assert booked.wait(JOIN_SECONDS)
        # when its database session dies (the process crashed)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid["rollup"]])
    finally:
        release.set()
    join([crashed])
    assert crashed.error is not None
    # then nothing was folded nor lost: the rows are pending, the next rollup folds them once
    assert _commission() == (0, 2)
    assert selectors.platform_balance() == 3_00
    assert euro_rollup() == 2
    assert _commission() == (3_00, 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_rollup_leaves_uncommitted_credits_for_the_next_one(
    make_user: Any, monkeypatch: Any
) -> None:
    # given a committed tip, and a member's deposit with a tip booked but not committed
    deposit(make_user(), 10_00, tip=1_00)
    member = make_user()
    with paused(monkeypatch, deposits, "entry_post") as (booked, release):
        open_deposit = Worker(lambda: deposit(member, 10_00, tip=2_00), name="paused")
        open_deposit.start()
        assert booked.wait(JOIN_SECONDS)
        # when a rollup runs meanwhile, with a short lock_timeout
        rollup = Worker(euro_rollup, lock_timeout_ms=200)
        rollup.start()
        # then it completed at once (it waits for no member) and folded the committed tip only
        assert settle(rollup) == 1
        release.set()
        settle(open_deposit)
    assert _commission() == (1_00, 1)
    assert selectors.platform_balance() == 3_00
    # and the next rollup folds the credit committed since
    assert euro_rollup() == 1
    assert _commission() == (3_00, 0)


@pytest.mark.django_db
def test_the_rollup_command_folds_what_is_pending(make_user: Any, project: Any) -> None:
    # given a pending tip and a pending boost
    member = make_user()
    deposit(member, 10_00, tip=1_00)
    harvest(member.pk, "invest_bonus")
    grains.project_boost(member_id=member.pk, project_id=project.pk, amount=10)
    out = io.StringIO()
    # when cron runs the command (no broker)
    call_command("saka_rollup", json=True, stdout=out)
    # then both were folded
    assert json.loads(out.getvalue()) == {"eur": 1, "projects": 1}
    assert _commission() == (1_00, 0)
    assert not ProjectScoreDelta.objects.exists()
