"""Runs that crash resume where they stopped and never apply twice to a wallet (spec 3, 8).

Two kinds of crash:

- simulated, on any database: an exception that no ``except Exception`` catches is raised
  inside a chunk's transaction (rolled back), between chunks, right after the redistribution
  plan is committed, or before the run's finish;
- real, on PostgreSQL: ``manage.py saka_compost`` / ``saka_redistribute`` run in a child
  process that is SIGKILLed while one of its chunk statements is blocked on a row this test
  locks (so the kill lands mid-transaction, deterministically), then the command is run again.

Every scenario ends with the same checks: each eligible wallet posted exactly once by the run,
amounts equal to the reference model, the run's figures equal to what was booked, and
``reconcile()`` clean.
"""

from __future__ import annotations

import io
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from saka.demo.seed import expected_compost, seed_balance, seed_idle_days, seed_population
from saka.grains.accounts import system_account_id
from saka.grains.models import (
    AccountKind,
    Run,
    RunChunk,
    RunChunkStep,
    RunKind,
    RunStatus,
    RunTarget,
    SakaAccount,
)
from saka.grains.runs import chunks, compost, lifecycle, redistribution
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from saka.grains.selectors import run_summary
from saka.ledger.reconcile import reconcile
from tests.support.clock import A
from tests.support.runs_reference import (
    DAY,
    CompostRules,
    RedistributionRules,
    Wallet,
    build_wallet,
    compost_plan,
    new_member,
    redistribution_plan,
    run_postings,
    system_balance,
)

# Simulated crashes run on any database; the SIGKILL tests override this with
# django_db(transaction=True) so that the child process sees the committed population.
pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[3]
GUARD_SECONDS = 90  # liveness guard only: a wait longer than this is a hang, not a slow run


class Killed(BaseException):
    """A crash: not an Exception, so no ``except Exception`` in the code under test stops it."""


# --- the reference: the seeded population of spec 7 -------------------------------------------


def seed_accounts() -> dict[int, int]:
    """``{seed index i: account id}`` of the seeded wallets."""
    rows = SakaAccount.objects.filter(kind=AccountKind.WALLET).values_list("id", "member__username")
    return {int(name.removeprefix("seed-")): acc for acc, name in rows}


def seed_model(n: int) -> dict[int, Wallet]:
    accounts = seed_accounts()
    assert len(accounts) == n
    return {
        accounts[i]: Wallet(
            balance=seed_balance(i),
            last_activity_at=A - seed_idle_days(i) * DAY,
            lifetime_harvested=seed_balance(i),
        )
        for i in range(1, n + 1)
    }


def expected_compost_postings(n: int) -> dict[int, int]:
    plan = compost_plan(seed_model(n), CompostRules(), A)
    assert (len(plan), sum(plan.values())) == expected_compost(wallets=n)
    return {acc: -amount for acc, amount in plan.items()}


def assert_compost_exactly_once(run: Run, n: int) -> None:
    expected = expected_compost_postings(n)
    assert run.status == RunStatus.DONE
    assert run_postings(run.pk) == expected  # each eligible wallet once, with its amount
    assert (run.wallets_done, run.amount_done) == expected_compost(wallets=n)
    assert run.chunks_done == math.ceil(run.max_id / run.chunk_size)
    assert system_balance(AccountKind.SILO) == run.amount_done
    report = reconcile()
    assert report.ok, [d.message for d in report.discrepancies]


def assert_redistribution_exactly_once(run: Run, n: int, silo_before: int) -> None:
    model = seed_model(n)
    plan = redistribution_plan(model, silo_before, RedistributionRules(), A)
    assert plan.reason == ""
    assert run.status == RunStatus.DONE
    assert run.outcome == "completed"
    assert (run.silo_before, run.pot, run.eligible_wallets, run.per_wallet) == (
        plan.silo_before,
        plan.pot,
        len(plan.eligible),
        plan.per_wallet,
    )
    # the credited set is the counted set, each credited once with the same share
    assert run_postings(run.pk) == dict.fromkeys(plan.eligible, plan.per_wallet)
    assert (run.wallets_done, run.amount_done) == (len(plan.eligible), plan.total)
    assert system_balance(AccountKind.SILO) == run.silo_after == plan.silo_after
    assert system_balance(AccountKind.POOL) == 0
    report = reconcile()
    assert report.ok, [d.message for d in report.discrepancies]


def chunk_of(account_id: int, chunk_size: int) -> int:
    """Runs walk (k * size, (k + 1) * size] from 0."""
    return (account_id - 1) // chunk_size


def done_chunks(run: Run) -> set[int]:
    """The chunk numbers the run recorded as applied (parallel workers finish them in any
    order), after checking that the run row's progress says the same."""
    his = list(
        RunChunk.objects.filter(run_id=run.pk, step=RunChunkStep.APPLY).values_list("hi", flat=True)
    )
    run.refresh_from_db()
    assert run.chunks_done == len(his)
    assert run.cursor == max(his, default=0)
    return {math.ceil(hi / run.chunk_size) - 1 for hi in his}


def assert_interrupted_cleanly(run: Run, expected: dict[int, int], crashed: int | None) -> None:
    """After a crash: the crashed chunk left nothing, and the run's postings are exactly the
    expected postings of the chunks it recorded as done."""
    done = done_chunks(run)
    assert crashed not in done
    assert run_postings(run.pk) == {
        acc: amount for acc, amount in expected.items() if chunk_of(acc, run.chunk_size) in done
    }


# --- simulated crashes (any database) ---------------------------------------------------------

N_SMALL = 300
CHUNK_SMALL = 25


# chunk geometry matters here: ids start at 1 (sequences are not rolled back on PostgreSQL)
ids_from_one = pytest.mark.django_db(transaction=True, reset_sequences=True)


def parallel_runs() -> bool:
    """Whether runs here take chunks in parallel (PostgreSQL, outside a test transaction)."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


@pytest.fixture
def seeded():
    seed_population(wallets=N_SMALL, as_of=A)
    return N_SMALL


def _crash_in_chunk(
    monkeypatch, module, name: str, k: int, *, after_work: bool = True, size_factor: int = 1
) -> None:
    """Make ``<module>.<name>`` raise ``Killed`` in chunk k (0-based), after doing the chunk's
    work (inside the chunk's transaction, so the work is rolled back) or before it."""
    real = getattr(module, name)

    def chunk(run, lo, *args, **kwargs):
        # the k-th chunk by key range, whichever worker takes it
        crash = lo == k * run.chunk_size * size_factor
        if crash and not after_work:
            raise Killed
        done = real(run, lo, *args, **kwargs)
        if crash:
            raise Killed
        return done

    monkeypatch.setattr(module, name, chunk)


def _chunks_to_crash(run_max: int, size: int = CHUNK_SMALL) -> dict[str, int]:
    last = math.ceil(run_max / size) - 1
    return {"first": 0, "middle": last // 2, "last": last}


@ids_from_one
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_compost_crashed_inside_a_chunk_resumes_and_composts_each_wallet_once(
    seeded, monkeypatch, where
):
    # given a compost run that dies inside a chunk's transaction
    max_id = max(seed_accounts().values())
    k = _chunks_to_crash(max_id)[where]
    _crash_in_chunk(monkeypatch, compost, "_compost_chunk", k)
    with pytest.raises(Killed):
        compost_run_start(as_of=A, chunk_size=CHUNK_SMALL)
    run = Run.objects.get(kind=RunKind.COMPOST, dry_run=False)
    # then the crashed chunk left nothing behind, the chunks done are booked, the run is
    # interrupted (one worker: exactly the chunks before k are done)
    assert run.status == RunStatus.INTERRUPTED
    assert "Killed" in run.error
    assert_interrupted_cleanly(run, expected_compost_postings(seeded), k)
    if not parallel_runs():
        assert done_chunks(run) == set(range(k))
    # when it is started again
    monkeypatch.undo()
    resumed = compost_run_start(as_of=A, chunk_size=CHUNK_SMALL)
    # then it is the same run, finished, each eligible wallet composted exactly once
    assert resumed.pk == run.pk
    assert resumed.attempts == 2
    assert_compost_exactly_once(resumed, seeded)


@ids_from_one
def test_compost_crashed_between_chunks_resumes_after_the_last_committed_chunk(seeded):
    # given a compost run that dies right after its 5th chunk committed
    def die_after_five(run: Run) -> None:
        if run.chunks_done == 5:
            raise Killed

    with pytest.raises(Killed):
        compost_run_start(as_of=A, chunk_size=CHUNK_SMALL, progress=die_after_five)
    run = Run.objects.get(kind=RunKind.COMPOST, dry_run=False)
    assert run.status == RunStatus.INTERRUPTED
    assert_interrupted_cleanly(run, expected_compost_postings(seeded), None)
    assert run.chunks_done >= 5  # (parallel workers: the others finish their current chunk)
    if not parallel_runs():
        assert done_chunks(run) == set(range(5))
    # when it is started again (twice: the second call returns the finished run)
    resumed = compost_run_start(as_of=A)
    again = compost_run_start(as_of=A)
    # then every eligible wallet is composted exactly once
    assert resumed.pk == again.pk == run.pk
    assert (resumed.chunk_size, resumed.attempts) == (CHUNK_SMALL, 2)
    assert_compost_exactly_once(again, seeded)


def _fill_silo() -> int:
    compost_run_start(as_of=A)
    return system_balance(AccountKind.SILO)


@ids_from_one
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_redistribution_crashed_inside_a_chunk_credits_the_counted_set_once(
    seeded, monkeypatch, where
):
    # given a silo, and a redistribution that dies inside a chunk's transaction
    silo = _fill_silo()
    max_id = max(seed_accounts().values())
    k = _chunks_to_crash(max_id)[where]
    _crash_in_chunk(monkeypatch, redistribution, "_redistribution_chunk", k)
    with pytest.raises(Killed):
        redistribution_run_start(as_of=A, chunk_size=CHUNK_SMALL)
    run = Run.objects.get(kind=RunKind.REDISTRIBUTION, dry_run=False)
    # then the plan is frozen, the chunks done are paid and the rest of the pot waits in the pool
    assert run.status == RunStatus.INTERRUPTED
    plan = redistribution_plan(seed_model(seeded), silo, RedistributionRules(), A)
    assert_interrupted_cleanly(run, dict.fromkeys(plan.eligible, plan.per_wallet), k)
    assert system_balance(AccountKind.POOL) == run.per_wallet * run.eligible_wallets - sum(
        run_postings(run.pk).values()
    )
    # when it is started again
    monkeypatch.undo()
    resumed = redistribution_run_start(as_of=A, chunk_size=CHUNK_SMALL)
    # then the counted set is credited exactly once
    assert (resumed.pk, resumed.attempts) == (run.pk, 2)
    assert_redistribution_exactly_once(resumed, seeded, silo)


@ids_from_one
@pytest.mark.parametrize("where", ["first", "last"])  # 2 freeze chunks of 250 ids here
def test_redistribution_crashed_while_freezing_its_set_resumes_and_counts_it_once(
    seeded, monkeypatch, where
):
    # given a silo, and a redistribution that dies inside a freeze chunk's transaction
    silo = _fill_silo()
    size = CHUNK_SMALL * chunks.FREEZE_CHUNK_FACTOR  # the freeze's chunks
    k = _chunks_to_crash(max(seed_accounts().values()), size)[where]
    _crash_in_chunk(
        monkeypatch, redistribution, "_freeze_chunk", k, size_factor=chunks.FREEZE_CHUNK_FACTOR
    )
    with pytest.raises(Killed):
        redistribution_run_start(as_of=A, chunk_size=CHUNK_SMALL)
    run = Run.objects.get(kind=RunKind.REDISTRIBUTION, dry_run=False)
    # then nothing is planned nor moved, and the targets are exactly the eligible wallets of
    # the chunks recorded as frozen (never chunk k)
    assert (run.status, run.per_wallet, run.chunks_done) == (RunStatus.INTERRUPTED, None, 0)
    assert system_balance(AccountKind.SILO) == silo
    frozen = {
        lo // size: wallets
        for lo, wallets in RunChunk.objects.filter(
            run_id=run.pk, step=RunChunkStep.FREEZE
        ).values_list("lo", "wallets")
    }
    assert k not in frozen
    plan = redistribution_plan(seed_model(seeded), silo, RedistributionRules(), A)
    targets = set(RunTarget.objects.filter(run_id=run.pk).values_list("account_id", flat=True))
    assert targets == {a for a in plan.eligible if chunk_of(a, size) in frozen}
    assert sum(frozen.values()) == len(targets)
    # when it is started again
    monkeypatch.undo()
    resumed = redistribution_run_start(as_of=A, chunk_size=CHUNK_SMALL)
    # then the whole set is counted once and credited once
    assert (resumed.pk, resumed.attempts) == (run.pk, 2)
    assert_redistribution_exactly_once(resumed, seeded, silo)


@ids_from_one
def test_redistribution_crashed_after_its_plan_resumes_with_the_same_plan(seeded, monkeypatch):
    # given a redistribution that dies right after its plan and pot were committed
    silo = _fill_silo()
    _crash_in_chunk(monkeypatch, redistribution, "_redistribution_chunk", 0, after_work=False)
    with pytest.raises(Killed):
        redistribution_run_start(as_of=A, chunk_size=CHUNK_SMALL)
    run = Run.objects.get(kind=RunKind.REDISTRIBUTION, dry_run=False)
    assert run.per_wallet is not None
    # (one worker: nothing paid yet; parallel workers finished the chunks they had taken)
    assert system_balance(AccountKind.POOL) == run.per_wallet * run.eligible_wallets - sum(
        run_postings(run.pk).values()
    )
    if not parallel_runs():
        assert run_postings(run.pk) == {}
    # when it is started again
    monkeypatch.undo()
    resumed = redistribution_run_start(as_of=A)
    # then the frozen plan is paid, not a new one
    assert (resumed.pk, resumed.per_wallet, resumed.pot) == (run.pk, run.per_wallet, run.pot)
    assert_redistribution_exactly_once(resumed, seeded, silo)


@ids_from_one
def test_redistribution_crashed_before_its_finish_finishes_without_paying_again(
    seeded, monkeypatch
):
    # given a redistribution that dies after its last chunk, before it is marked done
    silo = _fill_silo()
    real = redistribution._redistribution_settle

    def die(run):
        raise Killed

    monkeypatch.setattr(redistribution, "_redistribution_settle", die)
    with pytest.raises(Killed):
        redistribution_run_start(as_of=A, chunk_size=CHUNK_SMALL)
    monkeypatch.setattr(redistribution, "_redistribution_settle", real)
    # when it is started again
    resumed = redistribution_run_start(as_of=A)
    # then nothing more is credited and the run is done
    assert resumed.attempts == 2
    assert_redistribution_exactly_once(resumed, seeded, silo)


@pytest.mark.parametrize(
    ("silo_balances", "active", "reason"),
    [
        pytest.param([190], 3, "nothing_to_redistribute"),
        pytest.param([2000], 11, "share_rounds_to_zero"),
        pytest.param([4000], 0, "no_eligible_wallets"),
    ],
)
def test_redistribution_with_nothing_to_do_crashed_before_its_finish_keeps_its_reason(
    staff_user, monkeypatch, silo_balances, active, reason
):
    # given a silo and active members such that nothing is redistributed
    for i, b in enumerate(silo_balances):
        build_wallet(
            member_id=new_member(f"idle{i}").pk, balance=b, at=A - 200 * DAY, staff_id=staff_user.pk
        )
    for i in range(active):
        build_wallet(
            member_id=new_member(f"act{i}").pk, balance=60, at=A - DAY, staff_id=staff_user.pk
        )
    silo = _fill_silo()
    # and a redistribution that dies right after its plan committed, before it is marked done
    real, calls = lifecycle._finish, []

    def finish(*args, **kwargs):
        if not calls:
            calls.append(1)
            raise Killed
        return real(*args, **kwargs)

    monkeypatch.setattr(lifecycle, "_finish", finish)
    with pytest.raises(Killed):
        redistribution_run_start(as_of=A)
    # when it is started again
    resumed = redistribution_run_start(as_of=A)
    # then it finishes with the same reason and moves nothing
    assert (resumed.status, resumed.outcome) == (RunStatus.DONE, reason)
    assert run_summary(resumed)["reason"] == reason
    assert run_postings(resumed.pk) == {}
    assert system_balance(AccountKind.SILO) == silo


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


def _pg_connect() -> psycopg.Connection:
    s = connection.settings_dict
    return psycopg.connect(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        user=s["USER"],
        password=s["PASSWORD"] or None,
        dbname=s["NAME"],
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


def _kill_while_blocked_on(kind: str, account_id: int | None) -> None:
    """Start the command, hold a row lock on ``account_id`` (``None``: a lock on the targets
    table, which blocks the freeze) until the command's statement waits on it
    (mid-transaction), SIGKILL the command, then let the lock go."""
    locker = _pg_connect()
    try:
        with locker.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (locker_pid,) = cursor.fetchone()
            if account_id is None:
                cursor.execute("LOCK TABLE grains_run_target IN SHARE MODE")
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


def _run_to_completion(kind: str) -> dict:
    child = _run_command(kind)
    out, err = child.communicate(timeout=GUARD_SECONDS)
    assert child.returncode == 0, err
    return json.loads(out)


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
    _kill_while_blocked_on("compost", locked)
    # then the run stayed "running": nothing of chunk k, and exactly the chunks it recorded as
    # done booked (its other worker went on with other chunks until the kill)
    run = Run.objects.get(kind=RunKind.COMPOST, dry_run=False)
    assert (run.status, run.attempts) == (RunStatus.RUNNING, 1)
    assert_interrupted_cleanly(run, expected, k)
    # when the command is run again
    summary = _run_to_completion("compost")
    # then the same run finished: every eligible wallet composted exactly once
    assert (summary["run_id"], summary["status"], summary["attempts"]) == (run.pk, "done", 2)
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
    _kill_while_blocked_on("redistribute", locked)
    run = Run.objects.get(kind=RunKind.REDISTRIBUTION, dry_run=False)
    assert (run.status, run.attempts) == (RunStatus.RUNNING, 1)
    if k is None:
        # then nothing was planned nor moved (and, killed while freezing, nothing frozen)
        assert (run.per_wallet, run.chunks_done) == (None, 0)
        assert system_balance(AccountKind.SILO) == silo
        frozen = RunChunk.objects.filter(run_id=run.pk, step=RunChunkStep.FREEZE).count()
        total = len(chunks.chunk_ranges(run, RunChunkStep.FREEZE))
        assert frozen == (0 if where == "freeze" else total)
    else:
        # then the plan is frozen, the chunks recorded as done are paid (never chunk k) and
        # the rest waits in the pool
        assert run.per_wallet == plan.per_wallet
        assert_interrupted_cleanly(run, dict.fromkeys(plan.eligible, plan.per_wallet), k)
        assert system_balance(AccountKind.POOL) == plan.per_wallet * (
            len(plan.eligible) - len(run_postings(run.pk))
        )
    # when the command is run again
    summary = _run_to_completion("redistribute")
    # then the same run credited the counted set exactly once
    assert (summary["run_id"], summary["status"], summary["attempts"]) == (run.pk, "done", 2)
    assert (summary["eligible_wallets"], summary["per_wallet"]) == (
        len(plan.eligible),
        plan.per_wallet,
    )
    assert (summary["total_redistributed"], summary["silo_after"]) == (
        plan.total,
        plan.silo_after,
    )
    assert_redistribution_exactly_once(Run.objects.get(pk=run.pk), N_KILL, silo)
