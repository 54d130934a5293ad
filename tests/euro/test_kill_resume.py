"""Crash safety: SIGKILL a real ``manage.py saka_settle`` in the middle of a settlement of
10,000 pledges, then run it again.

The kill point is made deterministic without any sleep: the test holds a row lock on the
first pledge of batch 11, waits until the child's backend is seen waiting on that lock in
``pg_stat_activity`` (10 batches committed by then), kills the child, releases the lock
(the orphaned backend then fails to answer its dead client and rolls back), and reruns the
command. Every pledge must end released exactly once, the run's totals must equal what was
booked, and ``reconcile`` must be clean both at the kill point and at the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection

from saka.euro.models import CampaignStatus, EuroPosting, Pledge, PledgeStatus, SettlementRun
from saka.euro.splits import commission_of
from saka.ledger.reconcile import reconcile
from tests.support.euro import close, deposit, open_campaign, seed_pledges

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
PLEDGES = 10_000
BATCH = 500
WAIT_SECONDS = 120  # liveness guard only


def _dsn() -> str:
    s = connection.settings_dict
    host, port = s.get("HOST") or "127.0.0.1", s.get("PORT") or 5432
    user, password = s.get("USER") or "postgres", s.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else f"{user}@"
    return f"postgres://{auth}{host}:{port}/{s['NAME']}"


def _settle_command(campaign_id: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DATABASE_URL": _dsn(),  # the test database, not the development one
        "SAKA_LOCK_TIMEOUT_MS": "60000",
        "SAKA_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(  # noqa: S603 - fixed argv: this interpreter and manage.py
        [
            sys.executable,
            "manage.py",
            "saka_settle",
            "--campaign",
            str(campaign_id),
            "--batch-size",
            str(BATCH),
            "--json",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _poll(query: str, params: list[Any], until: Any) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            rows = cursor.fetchall()
        if until(rows):
            return rows
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting on: {query}")


def test_a_killed_settlement_resumes_and_releases_every_pledge_once(
    make_user: Any, project: Any
) -> None:
    # given a succeeded campaign with 10,000 held pledges by 20 members
    members = [make_user() for _ in range(20)]
    for m in members:
        deposit(m, 10_000_000)
    campaign = open_campaign(project)
    amounts = [100 + (i * 7919) % 9_900 for i in range(PLEDGES)]
    ids = seed_pledges(campaign, members, amounts)
    close(campaign, CampaignStatus.SUCCEEDED)
    blocker = ids[10 * BATCH]  # the first pledge of batch 11

    # and another session holding a row lock on the first pledge of batch 11
    with psycopg.connect(_dsn(), autocommit=False) as holder:
        holder.execute("SELECT id FROM euro_pledge WHERE id = %s FOR UPDATE", [blocker])

        # when saka_settle runs until it waits on that lock, and is killed there
        child = _settle_command(campaign.pk)
        try:
            (waiting_pid,) = _poll(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
                [],
                until=lambda rows: len(rows) == 1,
            )[0]
            os.kill(child.pid, signal.SIGKILL)
            child.wait(WAIT_SECONDS)
        finally:
            if child.poll() is None:
                child.kill()
        assert child.returncode == -signal.SIGKILL

        # then 10 batches are committed and consistent, nothing of the 11th
        run = SettlementRun.objects.get(campaign=campaign)
        assert run.status == "running"  # killed: it never got to say otherwise
        assert (run.batches_done, run.pledges_done, run.cursor) == (
            10,
            10 * BATCH,
            ids[10 * BATCH - 1],
        )
        assert Pledge.objects.filter(status=PledgeStatus.RELEASED).count() == 10 * BATCH
        assert not Pledge.objects.filter(status=PledgeStatus.RELEASED, id__gte=blocker).exists()
        holder.rollback()  # release the lock: the orphaned backend gets it, then dies

    _poll(
        "SELECT pid FROM pg_stat_activity WHERE pid = %s",
        [waiting_pid],
        until=lambda rows: not rows,
    )
    report = reconcile()
    assert report.ok, [d.message for d in report.discrepancies]

    # when saka_settle runs again
    rerun = _settle_command(campaign.pk)
    out, err = rerun.communicate(timeout=WAIT_SECONDS)
    assert rerun.returncode == 0, err
    summary = json.loads(out)

    # then it resumed where it stopped and finished: every pledge released exactly once
    commission = sum(commission_of(a, Decimal("0.05")) for a in amounts)
    total = sum(amounts)
    assert (summary["status"], summary["attempts"], summary["batches_done"]) == ("done", 2, 20)
    assert (summary["pledges_done"], summary["pledges_skipped"]) == (PLEDGES, 0)
    run = SettlementRun.objects.get(campaign=campaign)
    assert (run.amount_done, run.commission_done, run.net_done) == (
        total,
        commission,
        total - commission,
    )
    assert summary["amount"] == f"{total // 100}.{total % 100:02d}"
    assert Pledge.objects.filter(status=PledgeStatus.RELEASED).count() == PLEDGES
    debits = EuroPosting.objects.filter(pledge_id__isnull=False, amount__lt=0)
    assert debits.count() == PLEDGES
    assert debits.values("pledge_id").distinct().count() == PLEDGES
    # (reconcile runs again after the test: balances, escrows, run totals vs postings)
