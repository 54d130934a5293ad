"""The alerts' checks (``saka.jobs.alerts``): each condition made for real raises its alert,
and all well raises none and resolves those raised before; the beat tasks and the command
run them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from saka.alerts.models import Alert, AlertKind
from saka.grains.models import Run, RunKind, RunStatus, RunTrigger, SakaAccount
from saka.grains.runs.compost import COMPOST, compost_run_start
from saka.grains.runs.lifecycle import open_live
from saka.jobs import alerts as checks
from saka.jobs import tasks
from tests.support.clock import A
from tests.support.runs_reference import build_wallet, new_member, wallet_id

pytestmark = pytest.mark.django_db

CLOSED_PORT = "redis://127.0.0.1:1/0"  # nobody listens there


@pytest.fixture(autouse=True)
def _no_mail(settings: Any) -> None:
    settings.SAKA_ALERT_EMAILS = []


def _open() -> dict[str, str]:
    return dict(
        Alert.objects.filter(resolved_at=None).values_list("fingerprint", "kind").order_by("id")
    )


def _wallet(staff_user: Any, name: str, balance: int, idle_days: int) -> int:
    member = new_member(name)
    at = A - timedelta(days=idle_days)
    build_wallet(member_id=member.pk, balance=balance, at=at, staff_id=staff_user.pk)
    return wallet_id(member.pk)


def _finished_compost(*, days_ago: float) -> Run:
    run = compost_run_start(as_of=A)
    Run.objects.filter(pk=run.pk).update(finished_at=timezone.now() - timedelta(days=days_ago))
    return run


# --- compost missing -----------------------------------------------------------------------------


def test_no_compost_ever_finished_raises_compost_missing() -> None:
    # given a platform where no compost has finished
    # when the checks run
    results = checks.alerts_check(at=timezone.now())
    # then the compost is missing (and nothing else is wrong)
    assert results == {
        "compost_missing": "raised",
        "compost_empty": "ok",
        "runs_stalled": "ok",
        "broker": "skipped",  # tasks run eagerly in the tests: no broker to reach
    }
    alert = Alert.objects.get()
    assert (alert.kind, alert.severity, alert.title) == (
        AlertKind.COMPOST_MISSING,
        "warning",
        "No compost run has ever finished",
    )


def test_an_old_compost_raises_compost_missing_and_a_recent_one_resolves_it() -> None:
    # given a compost that finished 9 days ago
    run = _finished_compost(days_ago=9)
    # when the check runs
    assert checks.compost_missing_check(at=timezone.now()) == "raised"
    # then the alert names the last run and its age
    alert = Alert.objects.get(kind=AlertKind.COMPOST_MISSING)
    assert alert.details["last_run_id"] == run.pk
    assert alert.details["age_seconds"] > 8 * 24 * 3600
    assert alert.details["max_age_seconds"] == 8 * 24 * 3600
    assert "last 192 hours" in alert.title
    # when the compost finished 7 days ago instead (on time): resolved
    Run.objects.filter(pk=run.pk).update(finished_at=timezone.now() - timedelta(days=7))
    assert checks.compost_missing_check(at=timezone.now()) == "ok"
    alert.refresh_from_db()
    assert alert.resolved_at is not None


# --- compost empty -------------------------------------------------------------------------------


def test_a_compost_with_eligible_wallets_and_none_composted_raises_compost_empty(
    staff_user: Any,
) -> None:
    # given an idle wallet of 60 grains: eligible (balance >= 50, idle 100 days), but its
    # compost (10% = 6) is below the minimum amount (10)
    _wallet(staff_user, "idle-small", 60, idle_days=100)
    # when the compost runs and the check reads it
    run = compost_run_start(as_of=A)
    assert (run.eligible_wallets, run.wallets_done, run.outcome) == (1, 0, "nothing_to_compost")
    assert checks.compost_empty_check(at=timezone.now()) == "raised"
    # then the alert names the run's period and figures
    alert = Alert.objects.get(kind=AlertKind.COMPOST_EMPTY)
    assert alert.fingerprint == f"compost_empty:{run.period}"
    assert (alert.details["eligible_wallets"], alert.details["wallets_composted"]) == (1, 0)
    # and seen again: still one alert
    checks.compost_empty_check(at=timezone.now())
    assert Alert.objects.filter(kind=AlertKind.COMPOST_EMPTY).count() == 1


def test_a_compost_that_composts_raises_nothing_and_resolves_an_empty_one(
    staff_user: Any,
) -> None:
    # given an empty compost's alert from last week
    _wallet(staff_user, "idle-small", 60, idle_days=100)
    empty = compost_run_start(as_of=A - timedelta(days=7))
    checks.compost_empty_check(at=timezone.now())
    assert set(_open()) == {f"compost_empty:{empty.period}"}
    # when this week's compost composts an idle wallet of 500 grains
    _wallet(staff_user, "idle-big", 500, idle_days=100)
    run = compost_run_start(as_of=A)
    # (a compost that composted pays no count of its eligible wallets: left unset)
    assert (run.eligible_wallets, run.wallets_done) == (None, 1)
    # then the check is ok and last week's alert is resolved
    assert checks.compost_empty_check(at=timezone.now()) == "ok"
    assert _open() == {}


def test_a_compost_with_no_eligible_wallet_is_not_empty(staff_user: Any) -> None:
    # given only an active wallet: nothing eligible, nothing composted
    _wallet(staff_user, "active", 500, idle_days=1)
    run = compost_run_start(as_of=A)
    assert (run.eligible_wallets, run.wallets_done) == (0, 0)
    assert checks.compost_empty_check(at=timezone.now()) == "ok"
    assert not Alert.objects.exists()


# --- stalled runs --------------------------------------------------------------------------------


def test_a_stalled_run_raises_run_stalled_until_it_finishes() -> None:
    # given a compost interrupted and nobody working on it
    run, _ = open_live(
        COMPOST,
        kind=RunKind.COMPOST,
        at=A,
        trigger=RunTrigger.PYTHON,
        triggered_by_id=None,
        chunk_size=5_000,
    )
    Run.objects.filter(pk=run.pk).update(status=RunStatus.INTERRUPTED, error="worker lost")
    # when the check runs
    assert checks.runs_stalled_check(at=timezone.now()) == "raised"
    # then one alert names the run
    alert = Alert.objects.get(kind=AlertKind.RUN_STALLED)
    assert alert.fingerprint == f"run_stalled:compost:{run.pk}"
    assert (alert.details["status"], alert.details["error"]) == ("interrupted", "worker lost")
    # when the run is resumed and finishes, the next check resolves it
    compost_run_start(as_of=A)
    assert Run.objects.get(pk=run.pk).status == RunStatus.DONE
    assert checks.runs_stalled_check(at=timezone.now()) == "ok"
    alert.refresh_from_db()
    assert alert.resolved_at is not None


# --- the broker ----------------------------------------------------------------------------------


def test_a_broker_nobody_listens_on_raises_broker_unreachable(settings: Any) -> None:
    # given a deployment with a broker (not eager) on a closed port
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = CLOSED_PORT
    # when the check runs
    assert checks.broker_check(at=timezone.now()) == "raised"
    # then a critical alert, with the error's type only
    alert = Alert.objects.get(kind=AlertKind.BROKER_UNREACHABLE)
    assert (alert.severity, alert.details) == ("critical", {"error": "OperationalError"})
    # when the broker answers again (kombu's in-process transport), it is resolved
    settings.CELERY_BROKER_URL = "memory://"
    assert checks.broker_check(at=timezone.now()) == "ok"
    alert.refresh_from_db()
    assert alert.resolved_at is not None


# --- the books -----------------------------------------------------------------------------------


@pytest.mark.corrupts_books
def test_a_tampered_balance_raises_books_discrepancy_and_repaired_resolves_it(
    staff_user: Any,
) -> None:
    # given a wallet whose cached balance was changed behind the ledger's back
    account_id = _wallet(staff_user, "tampered", 100, idle_days=1)
    SakaAccount.objects.filter(pk=account_id).update(balance=F("balance") + 7)
    # when the nightly reconcile runs (the beat task)
    assert tasks.books_reconcile.apply().get() == "raised"
    # then a critical alert lists the discrepancy
    alert = Alert.objects.get(kind=AlertKind.BOOKS_DISCREPANCY)
    assert alert.severity == "critical"
    assert alert.details["count"] == len(alert.details["discrepancies"]) >= 1
    assert "saka.balance_matches_postings" in alert.details["checks"]
    tampered = [
        d for d in alert.details["discrepancies"] if d["check"] == "balance_matches_postings"
    ]
    assert tampered[0]["data"]["account_id"] == account_id
    # when the balance is repaired, the next reconcile resolves it
    SakaAccount.objects.filter(pk=account_id).update(balance=F("balance") - 7)
    assert tasks.books_reconcile.apply().get() == "ok"
    alert.refresh_from_db()
    assert alert.resolved_at is not None


# --- all well, the task and the command ----------------------------------------------------------


def test_all_well_raises_nothing_and_resolves_what_was_raised(
    settings: Any, staff_user: Any
) -> None:
    # given every condition raised once: no compost, a broker down, a tampered-free book
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = CLOSED_PORT
    checks.alerts_check(at=timezone.now(), books=True)
    assert set(_open()) == {"compost_missing", "broker_unreachable"}
    # when a compost finishes (an idle wallet composted) and the broker answers
    _wallet(staff_user, "idle-big", 500, idle_days=100)
    compost_run_start(as_of=timezone.now())
    settings.CELERY_BROKER_URL = "memory://"
    # then every check is ok and nothing is open
    results = checks.alerts_check(at=timezone.now(), books=True)
    assert set(results.values()) == {"ok"}, results
    assert _open() == {}
    assert not Alert.objects.filter(kind=AlertKind.COMPOST_EMPTY).exists()


def test_the_frequent_checks_cost_their_pinned_queries_when_all_is_well(
    staff_user: Any, django_assert_num_queries: Any
) -> None:
    # given a compost finished just now (the broker is skipped: tasks run eagerly)
    compost_run_start(as_of=timezone.now())
    # when the checks run: the last compost's read by two checks, the stalled runs of each of
    # the three kinds, and three resolutions (compost missing, empty, stalled: each a
    # savepoint inside the test's transaction, an update, its release)
    with django_assert_num_queries(2 + 3 + 3 * 3):
        assert set(checks.alerts_check(at=timezone.now()).values()) == {"ok", "skipped"}


def test_a_failing_check_is_reported_and_the_others_still_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*, at: Any) -> str:
        raise RuntimeError("boom")

    monkeypatch.setitem(checks.CHECKS, "compost_empty", broken)
    results = checks.alerts_check(at=timezone.now())
    assert (results["compost_empty"], results["compost_missing"]) == ("error", "raised")


def test_the_beat_task_runs_the_checks() -> None:
    assert tasks.alerts_check.apply().get()["compost_missing"] == "raised"
    assert set(_open()) == {"compost_missing"}


def test_the_command_runs_every_check_without_the_broker(capsys: Any, settings: Any) -> None:
    # given no compost yet: the command exits 1 (an alert is raised) and lists each check
    with pytest.raises(SystemExit) as exited:
        call_command("saka_alerts_check", "--books")
    assert exited.value.code == 1
    out = capsys.readouterr().out
    assert "compost_missing: raised" in out
    assert "books: ok" in out
    # when all is well it exits 0
    compost_run_start(as_of=timezone.now())
    call_command("saka_alerts_check", "--json")
    assert '"compost_missing": "ok"' in capsys.readouterr().out
