"""Runs that crash resume where they stopped and never apply twice to a wallet (spec 3, 8):
real crashes, on PostgreSQL.

``manage.py saka_compost`` / ``saka_redistribute`` run in a child process that is SIGKILLed
while one of its chunk statements is blocked on a row this test locks (so the kill lands
mid-transaction, deterministically), then the command is run again. Every scenario ends with
the same checks as the simulated crashes (``tests.support.run_crashes``).

The killed process leaves its chunks pending under live leases, and its run ``running``
(nothing recorded the kill). Leases last an hour here (``SAKA_RUN_LEASE_SECONDS`` in both
processes), so the second command finishes only because it frees the dead leases (when it
joins the run, or while it waits for them: ``free_idle_leases``, their rows are no longer
locked), not because they ran out: were that broken, it would hang until the liveness guard
fails the test."""

from __future__ import annotations

import io
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from saka.demo.seed import expected_compost
from saka.grains.accounts import system_account_id
from saka.grains.models import AccountKind, Run, RunChunk, RunChunkStep, RunKind, RunStatus
from saka.grains.runs import chunks
from saka.grains.runs.compost import compost_run_start
from tests.support.clock import A
from tests.support.db import pg_connect
from tests.support.run_crashes import (
    assert_compost_exactly_once,
    assert_interrupted_cleanly,
    assert_redistribution_exactly_once,
    chunk_of,
    done,
    expected_compost_postings,
    seed_accounts,
    seed_model,
)
from tests.support.runs_reference import (
    RedistributionRules,
    redistribution_plan,
    run_postings,
    system_balance,
)

# The SIGKILL tests override this with django_db(transaction=True) so that the child process
# sees the committed population.
pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[3]
GUARD_SECONDS = 90  # liveness guard only: a wait longer than this is a hang, not a slow run
LEASE_SECONDS = 3600  # a dead lease never runs out during a test: only freeing it helps


# --- SIGKILL of a real run process (PostgreSQL) ------------------------------------------------

N_KILL = 2999  # wallets get ids 2..3000 (the issuance account is 1): 15 full chunks of 200
CHUNK_KILL = 200


def _database_url() -> str:
    """The pytest database, for the child process (not the database DATABASE_URL names)."""
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _run_command(kind: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "SAKA_LOCK_TIMEOUT_MS": "60000",  # the child waits on our lock instead of failing
        "SAKA_RUN_LEASE_SECONDS": str(LEASE_SECONDS),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    env.pop("SAKA_TEST_DB_NAME", None)
    args = ["--as-of", A.isoformat(), "--chunk-size", str(CHUNK_KILL), "--json"]
    return subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, str(REPO / "manage.py"), f"saka_{kind}", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _query(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:  # autocommit: a fresh pg_stat_activity every time
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _wait_until_blocked(child: subprocess.Popen, blocker_pid: int) -> int:
    """The backend of ``child`` once it waits on a lock held by ``blocker_pid``."""
    deadline = time.monotonic() + GUARD_SECONDS
    while time.monotonic() < deadline:
        if child.poll() is not None:
            out, err = child.communicate()
            pytest.fail(f"the run ended before reaching the locked row: {out}\n{err}")
        rows = _query(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND %s = ANY(pg_blocking_pids(pid))",
            [blocker_pid],
        )
        if rows:
            return rows[0][0]
        time.sleep(0.05)
    child.kill()
    pytest.fail("the run never blocked on the locked row")


def _wait_until_gone(backend_pid: int) -> None:
    """A killed client's backend ends once it finds its client gone (after our unlock)."""
    deadline = time.monotonic() + GUARD_SECONDS
    while _query("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [backend_pid]):
        if time.monotonic() > deadline:
            pytest.fail(f"backend {backend_pid} of the killed run is still alive")
        time.sleep(0.05)


def _kill_while_blocked_on(kind: str, account_id: int | None) -> int:
    """Start the command, hold a row lock on ``account_id`` (``None``: a lock on the frozen sets
    table, which blocks the freeze) until the command's statement waits on it
    (mid-transaction), SIGKILL the command, then let the lock go; returns its pid."""
    locker = pg_connect()
    try:
        with locker.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (locker_pid,) = cursor.fetchone()
            if account_id is None:
                cursor.execute("LOCK TABLE grains_run_frozen IN SHARE MODE")
            else:
                cursor.execute(
                    "SELECT id FROM grains_account WHERE id = %s FOR UPDATE", [account_id]
                )
                assert cursor.fetchone() == (account_id,)
        child = _run_command(kind)
        backend = _wait_until_blocked(child, locker_pid)
        os.kill(child.pid, signal.SIGKILL)
        child.communicate()
        assert child.returncode == -signal.SIGKILL
    finally:
        locker.rollback()
        locker.close()
    _wait_until_gone(backend)
    return child.pid


def _run_to_completion(kind: str) -> dict:
    child = _run_command(kind)
    try:
        out, err = child.communicate(timeout=GUARD_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
        pytest.fail(f"the second run hangs (dead leases never freed?): {err}")
    assert child.returncode == 0, err
    return json.loads(out)


def _dead_leases(run: Run, pid: int) -> set[tuple[int, int]]:
    """The chunks ``(step, lo)`` left pending under a lease, after checking that the killed
    process (worker ``host:pid`` or ``host:pid:thread``) holds every one of them."""
    rows = RunChunk.objects.filter(run_id=run.pk, done_at__isnull=True, lease_until__isnull=False)
    holder = f"{socket.gethostname()}:{pid}"
    workers = set(rows.values_list("worker", flat=True))
    assert all(w == holder or w.startswith(f"{holder}:") for w in workers), workers
    return set(rows.values_list("step", "lo"))


def _target(eligible: set[int], where: str) -> tuple[int, int]:
    """An eligible wallet in the first, a middle or the last chunk: ``(chunk, account id)``."""
    by_chunk: dict[int, list[int]] = {}
    for acc in sorted(eligible):
        by_chunk.setdefault(chunk_of(acc, CHUNK_KILL), []).append(acc)
    chunks = sorted(by_chunk)
    k = {"first": chunks[0], "middle": chunks[len(chunks) // 2], "last": chunks[-1]}[where]
    members = by_chunk[k]
    return k, members[len(members) // 2]  # some of the chunk's rows come before it


def _seed_for_kill() -> None:
    call_command("saka_seed", wallets=N_KILL, as_of=A.isoformat(), json=True, stdout=io.StringIO())
    assert max(seed_accounts().values()) == N_KILL + 1


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_sigkill_mid_compost_chunk_then_resume(where):
    # given the seeded population and a compost process killed inside chunk k's statement
    _seed_for_kill()
    expected = expected_compost_postings(N_KILL)
    k, locked = _target(set(expected), where)
    last_chunk = math.ceil((N_KILL + 1) / CHUNK_KILL) - 1
    assert (k == last_chunk) == (where == "last")
    pid = _kill_while_blocked_on("compost", locked)
    # then the run stayed "running": nothing of chunk k, and exactly the chunks it recorded as
    # done booked (its other worker went on with other chunks until the kill); chunk k is
    # still leased by the dead process
    run = Run.objects.get(kind=RunKind.COMPOST, dry_run=False)
    assert (run.status, run.attempts) == (RunStatus.RUNNING, 1)
    assert_interrupted_cleanly(run, expected, k)
    assert (RunChunkStep.APPLY, k * CHUNK_KILL) in _dead_leases(run, pid)
    # when the command is run again (it joins the running run: the same attempt, as nothing
    # recorded the kill)
    summary = _run_to_completion("compost")
    # then the same run finished: every eligible wallet composted exactly once
    assert (summary["run_id"], summary["status"], summary["attempts"]) == (run.pk, "done", 1)
    assert (summary["wallets_composted"], summary["total_composted"]) == expected_compost(
        wallets=N_KILL
    )
    assert_compost_exactly_once(Run.objects.get(pk=run.pk), N_KILL)


@pytest.mark.parametrize("where", ["freeze", "plan", "first", "middle", "last"])
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_sigkill_mid_redistribution_then_resume(where):
    # given the seeded population composted into the silo, and a redistribution process
    # killed while it waits on the silo (its plan) or inside chunk k's statement
    _seed_for_kill()
    compost_run_start(as_of=A)
    silo = system_balance(AccountKind.SILO)
    plan = redistribution_plan(seed_model(N_KILL), silo, RedistributionRules(), A)
    if where == "freeze":
        k, locked = None, None
    elif where == "plan":
        k, locked = None, system_account_id(AccountKind.SILO)
    else:
        k, locked = _target(set(plan.eligible), where)
    pid = _kill_while_blocked_on("redistribute", locked)
    run = Run.objects.get(kind=RunKind.REDISTRIBUTION, dry_run=False)
    assert (run.status, run.attempts) == (RunStatus.RUNNING, 1)
    leased = _dead_leases(run, pid)
    if k is None:
        # then nothing was planned nor moved (and, killed while freezing, nothing frozen: the
        # freeze chunks its threads had claimed -- one or both, by the time one of them
        # blocked -- wait on the targets under the dead process's leases)
        assert (run.per_wallet, run.chunks_done) == (None, 0)
        assert system_balance(AccountKind.SILO) == silo
        frozen = done(run.pk, RunChunkStep.FREEZE).count()
        ranges = chunks.chunk_ranges(run, RunChunkStep.FREEZE)
        assert frozen == (0 if where == "freeze" else len(ranges))
        freezing = {(RunChunkStep.FREEZE, lo) for lo, _ in ranges}
        if where == "freeze":
            assert leased
            assert leased <= freezing
        else:
            assert leased == set()
    else:
        # then the plan is frozen, the chunks recorded as done are paid (never chunk k) and
        # the rest waits in the pool; chunk k is still leased by the dead process
        assert run.per_wallet == plan.per_wallet
        assert_interrupted_cleanly(run, dict.fromkeys(plan.eligible, plan.per_wallet), k)
        assert system_balance(AccountKind.POOL) == plan.per_wallet * (
            len(plan.eligible) - len(run_postings(run.pk))
        )
        assert (RunChunkStep.APPLY, k * CHUNK_KILL) in leased
    # when the command is run again (it joins the running run: the same attempt)
    summary = _run_to_completion("redistribute")
    # then the same run credited the counted set exactly once
    assert (summary["run_id"], summary["status"], summary["attempts"]) == (run.pk, "done", 1)
    assert (summary["eligible_wallets"], summary["per_wallet"]) == (
        len(plan.eligible),
        plan.per_wallet,
    )
    assert (summary["total_redistributed"], summary["silo_after"]) == (
        plan.total,
        plan.silo_after,
    )
    assert_redistribution_exactly_once(Run.objects.get(pk=run.pk), N_KILL, silo)
