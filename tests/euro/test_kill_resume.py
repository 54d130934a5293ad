"""Crash safety: SIGKILL a real ``manage.py saka_settle`` (two worker threads) in the middle of
a settlement of 10,000 pledges, then finish it with two processes: the command run again and
a second one joining it (``--join``).

The kill point is made deterministic without any sleep: the test holds a row lock on the
first pledge of chunk 11, waits until a backend of the child is seen waiting on that lock
(``pg_blocking_pids``), kills the child, releases the lock (the orphaned backends then fail
to answer their dead client and roll back). At the kill point exactly the chunks marked done
are booked (the other thread may have been anywhere), nothing of chunk 11. Every pledge must
end released exactly once, the run's totals must equal what was booked, and ``reconcile``
must be clean both at the kill point and at the end.
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

import pytest
from django.db import connection

from saka.euro.models import (
    CampaignStatus,
    EuroPosting,
    Pledge,
    PledgeStatus,
    SettlementChunk,
    SettlementRun,
)
from saka.euro.splits import commission_of
from saka.ledger.reconcile import reconcile
from tests.support.db import pg_connect
from tests.support.euro import close, deposit, open_campaign, seed_pledges

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
PLEDGES = 10_000
CHUNK = 500
WAIT_SECONDS = 120  # liveness guard only


def _dsn() -> str:
    s = connection.settings_dict
    host, port = s.get("HOST") or "127.0.0.1", s.get("PORT") or 5432
    user, password = s.get("USER") or "postgres", s.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else f"{user}@"
    return f"postgres://{auth}{host}:{port}/{s['NAME']}"


def _settle_command(*args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DATABASE_URL": _dsn(),  # the test database, not the development one
        "SAKA_LOCK_TIMEOUT_MS": "60000",
        "SAKA_LOG_LEVEL": "WARNING",
        "SAKA_RUN_WORKERS": "2",
    }
    return subprocess.Popen(  # noqa: S603 - fixed argv: this interpreter and manage.py
        [sys.executable, "manage.py", "saka_settle", *args, "--json"],
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


def _finish(child: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = child.communicate(timeout=WAIT_SECONDS)
    assert child.returncode == 0, err
    summary: dict[str, Any] = json.loads(out)
    return summary


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
    blocker = ids[10 * CHUNK]  # the first pledge of chunk 11

    # and another session holding a row lock on the first pledge of chunk 11
    holder = pg_connect()
    try:
        holder.execute("SELECT id FROM euro_pledge WHERE id = %s FOR UPDATE", [blocker])
        (holder_pid,) = holder.execute("SELECT pg_backend_pid()").fetchone()

        # when saka_settle (two threads) runs until one thread waits on that lock, and is
        # killed there
        child = _settle_command("--campaign", str(campaign.pk), "--chunk-size", str(CHUNK))
        try:
            _poll(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND %s = ANY(pg_blocking_pids(pid))",
                [holder_pid],
                until=lambda rows: len(rows) == 1,
            )
            os.kill(child.pid, signal.SIGKILL)
            child.wait(WAIT_SECONDS)
        finally:
            if child.poll() is None:
                child.kill()
        assert child.returncode == -signal.SIGKILL
        holder.rollback()  # release the lock: the orphaned backends get it, then die
    finally:
        holder.close()
    _poll(  # the killed child's backends are gone (each rolled its open transaction back)
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid()",
        [],
        until=lambda rows: not rows,
    )

    # then the run stayed "running" (killed: it never got to say otherwise); exactly the chunks
    # marked done are booked, each with the totals it booked, nothing of chunk 11
    run = SettlementRun.objects.get(campaign=campaign)
    assert run.status == "running"
    done = SettlementChunk.objects.filter(run_id=run.pk, done_at__isnull=False)
    released = Pledge.objects.filter(status=PledgeStatus.RELEASED)
    # (chunks are claimed in key order: the ten before chunk 11 were claimed before it, one
    # of them possibly still being done by the other thread when it was killed)
    assert 9 <= done.count() == run.chunks_done < 20
    assert not done.filter(lo__lt=blocker, hi__gte=blocker).exists()
    assert released.count() == run.pledges_done == sum(c.pledges for c in done)
    assert run.amount_done == sum(c.amount for c in done)
    for chunk in done:
        in_chunk = released.filter(id__gt=chunk.lo, id__lte=chunk.hi)
        assert in_chunk.count() == chunk.pledges == CHUNK
    assert not released.filter(id__gte=blocker, id__lte=ids[11 * CHUNK - 1]).exists()
    report = reconcile()
    assert report.ok, [d.message for d in report.discrepancies]

    # when saka_settle runs again, and a second process joins it
    rerun = _settle_command("--campaign", str(campaign.pk))
    joined = _settle_command("--join", str(run.pk))
    summaries = [_finish(rerun), _finish(joined)]

    # then the same run finished: every pledge released exactly once
    commission = sum(commission_of(a, Decimal("0.05")) for a in amounts)
    total = sum(amounts)
    for summary in summaries:
        assert (summary["id"], summary["status"], summary["chunks_done"]) == (run.pk, "done", 20)
        assert (summary["pledges_done"], summary["pledges_skipped"]) == (PLEDGES, 0)
        assert summary["amount"] == f"{total // 100}.{total % 100:02d}"
    run = SettlementRun.objects.get(campaign=campaign)
    assert (run.amount_done, run.commission_done, run.net_done) == (
        total,
        commission,
        total - commission,
    )
    assert Pledge.objects.filter(status=PledgeStatus.RELEASED).count() == PLEDGES
    debits = EuroPosting.objects.filter(pledge_id__isnull=False, amount__lt=0)
    assert debits.count() == PLEDGES
    assert debits.values("pledge_id").distinct().count() == PLEDGES
    # (reconcile runs again after the test: balances, escrows, run totals vs postings)
