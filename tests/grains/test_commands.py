"""The run commands: ``saka_compost`` and ``saka_redistribute`` (spec 5).

``--json`` prints one object with the run's figures; bad input is a ``CommandError`` (one
line, exit status 1), never a traceback. ``saka_seed`` is tested in ``tests/demo``.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from saka.grains.models import AccountKind, Run, RunKind, RunTrigger, SakaEntry
from tests.support.clock import A
from tests.support.run_scenarios import run_json, seed
from tests.support.runs_reference import (
    DAY,
    CompostRules,
    RedistributionRules,
    compost_plan,
    db_wallets,
    redistribution_plan,
    run_postings,
    system_balance,
)

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]


# --- saka_compost / saka_redistribute --json ---------------------------------------------------

COMMON = {"run_id", "kind", "period", "dry_run", "status", "outcome", "reason", "as_of"}


def test_compost_json_has_the_run_figures():
    # given a seeded population
    seed(300)
    plan = compost_plan(db_wallets(), CompostRules(), A)
    # when the weekly compost runs from the command
    summary = run_json("saka_compost", as_of=A.isoformat(), chunk_size=6400)
    # then the JSON names the run and its figures, equal to the model and to the run row
    run = Run.objects.get(pk=summary["run_id"])
    assert COMMON | {"wallets_composted", "total_composted", "attempts"} <= set(summary)
    assert summary["kind"] == "compost"
    assert (summary["period"], summary["dry_run"], summary["status"]) == ("2026-W10", False, "done")
    assert (summary["outcome"], summary["reason"]) == ("completed", None)
    assert (summary["wallets_composted"], summary["total_composted"]) == (
        len(plan),
        sum(plan.values()),
    )
    assert (run.trigger, run.chunk_size, run.dry_run) == (RunTrigger.COMMAND, 6400, False)
    assert datetime.fromisoformat(summary["as_of"]) == A


def test_compost_dry_run_json_books_nothing():
    # given a seeded population
    seed(300)
    entries = SakaEntry.objects.count()
    # when a dry run is asked from the command
    dry = run_json("saka_compost", as_of=A.isoformat(), dry_run=True)
    # then it reports the figures of the live run and books nothing
    assert (dry["dry_run"], dry["status"]) == (True, "done")
    assert SakaEntry.objects.count() == entries
    live = run_json("saka_compost", as_of=A.isoformat())
    assert (dry["wallets_composted"], dry["total_composted"]) == (
        live["wallets_composted"],
        live["total_composted"],
    )
    assert dry["run_id"] != live["run_id"]


def test_redistribute_json_has_the_run_figures():
    # given a seeded population composted into the silo
    seed(300)
    run_json("saka_compost", as_of=A.isoformat())
    silo = system_balance(AccountKind.SILO)
    plan = redistribution_plan(db_wallets(), silo, RedistributionRules(), A)
    # when the monthly redistribution runs from the command
    summary = run_json("saka_redistribute", as_of=A.isoformat(), chunk_size=5000)
    # then the JSON has its figures, equal to the model
    assert COMMON | {
        "eligible_wallets",
        "per_wallet",
        "pot",
        "wallets_credited",
        "total_redistributed",
        "silo_before",
        "silo_after",
    } <= set(summary)
    assert (summary["kind"], summary["period"], summary["status"]) == (
        "redistribution",
        "2026-03",
        "done",
    )
    assert (summary["outcome"], summary["reason"]) == ("completed", None)
    assert (summary["silo_before"], summary["pot"], summary["per_wallet"]) == (
        silo,
        plan.pot,
        plan.per_wallet,
    )
    assert (summary["eligible_wallets"], summary["wallets_credited"]) == (
        len(plan.eligible),
        len(plan.eligible),
    )
    assert (summary["total_redistributed"], summary["silo_after"]) == (plan.total, plan.silo_after)
    assert run_postings(summary["run_id"]) == dict.fromkeys(plan.eligible, plan.per_wallet)


def test_redistribute_json_says_why_nothing_moved():
    # given an empty silo
    seed(20)
    # when the redistribution runs from the command
    summary = run_json("saka_redistribute", as_of=A.isoformat())
    # then the reason is in the JSON
    assert (summary["status"], summary["outcome"], summary["reason"]) == (
        "done",
        "nothing_to_redistribute",
        "nothing_to_redistribute",
    )
    assert (summary["silo_before"], summary["silo_after"], summary["total_redistributed"]) == (
        0,
        0,
        0,
    )


def test_asking_again_for_a_finished_period_returns_the_same_run():
    # given a finished compost of the week, run from the command
    seed(100)
    first = run_json("saka_compost", as_of=A.isoformat())
    entries = SakaEntry.objects.count()
    # when the command is run again later that week
    again = run_json("saka_compost", as_of=(A + 2 * DAY).isoformat())
    # then it prints the same run and books nothing
    assert again == first
    assert SakaEntry.objects.count() == entries


def test_human_output_lists_the_figures():
    # given a seeded population
    seed(50)
    out = io.StringIO()
    # when the command runs without --json
    call_command("saka_compost", as_of=A.isoformat(), stdout=out, stderr=io.StringIO())
    # then it prints one "name: value" line per figure
    lines = {
        k.strip(): v.strip()
        for k, _, v in (line.partition(":") for line in out.getvalue().splitlines())
    }
    run = Run.objects.get(kind=RunKind.COMPOST, dry_run=False)
    assert lines["wallets_composted"] == str(run.wallets_done)
    assert lines["total_composted"] == str(run.amount_done)
    assert lines["status"] == "done"


def test_progress_bar_on_a_terminal(monkeypatch):
    # given a terminal
    seed(200)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    err = io.StringIO()
    # when the compost runs without --json
    call_command(
        "saka_compost", as_of=A.isoformat(), chunk_size=5000, stdout=io.StringIO(), stderr=err
    )
    # then a progress bar reached 100%
    assert "compost [" in err.getvalue()
    assert "100.0%" in err.getvalue()


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["saka_compost", "saka_redistribute"])
@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2026-03-02",  # a date, no instant
        "2026-03-02T03:00:00",  # no offset
        "2026-02-30T03:00:00Z",  # no such day
        "2026-03-02T03:00:00+25:00",  # no such offset
        "0001-01-01T00:00:00Z",  # out of range
        "9999-12-31T23:59:59-01:00",  # out of range (and of datetime's range in UTC)
        " ",
    ],
)
def test_bad_as_of_is_a_command_error(command, value):
    with pytest.raises(CommandError, match="as_of"):
        call_command(command, as_of=value, json=True, stdout=io.StringIO())
    assert not Run.objects.exists()


@pytest.mark.parametrize("command", ["saka_compost", "saka_redistribute"])
def test_empty_as_of_is_a_command_error(command):
    with pytest.raises(CommandError):
        call_command(command, as_of="", json=True, stdout=io.StringIO())
    assert not Run.objects.exists()


@pytest.mark.parametrize("command", ["saka_compost", "saka_redistribute"])
@pytest.mark.parametrize("chunk", ["0", "-1", "1000001", "ten", "1.5"])
def test_bad_chunk_size_is_a_command_error(command, chunk):
    with pytest.raises(CommandError):
        call_command(command, "--chunk-size", chunk, "--json", stdout=io.StringIO())
    assert not Run.objects.exists()


@override_settings(SAKA_ENABLED=False)
@pytest.mark.parametrize("command", ["saka_compost", "saka_redistribute"])
def test_disabled_saka_is_a_command_error(command):
    with pytest.raises(CommandError, match="disabled"):
        call_command(command, as_of=A.isoformat(), stdout=io.StringIO())
    assert not Run.objects.exists()


def test_a_bad_as_of_in_a_real_process_is_one_line_and_exit_status_1(tmp_path):
    # given the command run as operators do, on a throwaway database
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    # when --as-of cannot be read
    done = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, str(REPO / "manage.py"), "saka_compost", "--as-of", "2026-02-30T03:00Z"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # then a one-line error, exit status 1, no traceback
    assert done.returncode == 1
    assert "CommandError" in done.stderr
    assert "as_of" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
