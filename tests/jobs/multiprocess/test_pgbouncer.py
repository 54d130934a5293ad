"""Runs and API requests through PgBouncer in transaction pooling mode (issue 10, item 6): the
worker processes' and the API clients' ``DATABASE_URL`` name a PgBouncer with a pool of one or
two server connections, ``SAKA_DB_POOLER=pgbouncer``; consecutive transactions of one client
land on whichever server connection is free, so nothing may outlive a transaction.

- A 100,000-wallet compost shared by two Celery worker processes (pool of 2): exact figures,
  every eligible wallet once. Both workers are made to take part: each first waits in a chunk
  whose wallet the test holds.
- A small redistribution by two worker processes while two API client processes send requests,
  all on one server connection (pool of 1): exact figures, every answer right, both clients'
  queries ran on that one server connection, and it carries no session state afterwards (no
  prepared statement, cursor or advisory lock; the lock timeout PgBouncer's connect_query set).
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
from typing import Any

import pytest

from saka.grains.accounts import system_account_id
from saka.grains.models import AccountKind, Run, RunChunk, RunChunkStep, RunKind, RunStatus
from saka.grains.runs.chunks import DEFAULT_CHUNK_SIZE
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from saka.jobs.schedule import COMPOST_TASK, REDISTRIBUTION_TASK
from tests.support.celery_workers import (
    BROKER_URL,
    REPO,
    START_SECONDS,
    HeldRows,
    child_env,
    die_with_parent,
    done_by,
    live_leases,
    one_per_chunk,
    send,
    stop_processes,
    wait_for,
    wait_for_row,
    wait_until,
)
from tests.support.clock import A
from tests.support.pgbouncer import PgBouncer
from tests.support.run_crashes import (
    assert_compost_exactly_once,
    expected_compost_postings,
    seed_model,
)
from tests.support.run_scenarios import seed
from tests.support.runs_reference import (
    RedistributionRules,
    redistribution_plan,
    run_postings,
    system_balance,
)

N_COMPOST = 100_000  # wallet ids 2..100001: 21 chunks
N_SMALL = 3_000
CLIENT_SECONDS = 120

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, reset_sequences=True)]


def _through(bouncer: PgBouncer) -> dict[str, Any]:
    return {"database_url": bouncer.url(), "env": {"SAKA_DB_POOLER": "pgbouncer"}}


def test_two_workers_share_a_compost_through_pgbouncer(pgbouncer: Any, workers: Any) -> None:
    # given the seeded population and what an uninterrupted compost does
    seed(N_COMPOST)
    # (the silo exists, as on any platform that composted once: the first chunk would create
    # it, and the other worker would wait for that chunk to commit before doing anything)
    system_account_id(AccountKind.SILO)
    dry = compost_run_start(as_of=A, dry_run=True)
    expected = expected_compost_postings(N_COMPOST)
    held = one_per_chunk(expected, DEFAULT_CHUNK_SIZE, (0, 1))
    # and two worker processes behind a PgBouncer of two server connections (whose
    # connect_query lets them wait on the held rows)
    bouncer = pgbouncer(pool_size=2, lock_timeout_ms=60_000)
    pool = workers(2, **_through(bouncer))
    with HeldRows("grains_account", held.values()) as rows:
        # when beat's compost task reaches them
        send(COMPOST_TASK, as_of=A.isoformat())
        # then each waits in one of the first two chunks: both work on the run
        wait_until(lambda: len(rows.waiters()) == 2, what="two blocked workers", workers=pool)
        run = wait_for_row(Run.objects.filter(kind=RunKind.COMPOST, dry_run=False), workers=pool)
        leases = live_leases(RunChunk, run.pk, RunChunkStep.APPLY)
        assert len({leases[0], leases[DEFAULT_CHUNK_SIZE]}) == 2
    # and the run finishes with the figures of the dry run, every eligible wallet once
    run = wait_for(Run, run.pk, [RunStatus.DONE], workers=pool)
    assert_compost_exactly_once(run, N_COMPOST)
    assert (run.outcome, run.wallets_done, run.amount_done) == (
        dry.outcome,
        dry.wallets_done,
        dry.amount_done,
    )
    assert len(done_by(RunChunk, run.pk)) == 2
    # and all of it went through PgBouncer, on at most two server connections
    (stats,) = [s for s in bouncer.show("STATS") if s["database"] == bouncer.dbname]
    assert int(stats["total_xact_count"]) > run.chunks_done
    assert len([s for s in bouncer.show("SERVERS") if s["database"] == bouncer.dbname]) <= 2


def _api_client(bouncer: PgBouncer, config: dict[str, Any]) -> subprocess.Popen[str]:
    env = child_env(
        DATABASE_URL=bouncer.url(),
        SAKA_DB_POOLER="pgbouncer",
        REDIS_URL=BROKER_URL,
        CELERY_TASK_ALWAYS_EAGER="0",
    )
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and client module
        [sys.executable, "-m", "tests.jobs.multiprocess.api_client", json.dumps(config)],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    assert child.stdout is not None
    if not select.select([child.stdout], [], [], START_SECONDS)[0]:
        stop_processes([child])
        pytest.fail("an API client did not start")
    ready = child.stdout.readline()
    assert ready == "ready\n", (ready, child.stderr.read() if child.stderr else "")
    return child


def test_a_redistribution_and_api_clients_share_one_server_connection(
    pgbouncer: Any, workers: Any, make_user: Any
) -> None:
    # given the seeded population composted into the silo, what the redistribution will do,
    # and members without a wallet yet (a harvest now does not change who is eligible at A)
    seed(N_SMALL)
    compost_run_start(as_of=A)
    silo = system_balance(AccountKind.SILO)
    dry = redistribution_run_start(as_of=A, dry_run=True)
    plan = redistribution_plan(seed_model(N_SMALL), silo, RedistributionRules(), A)
    staff, platform = make_user(staff=True, roles=["auditor"]), make_user(platform=True)
    members = [make_user().pk for _ in range(6)]
    # and a PgBouncer of one server connection, two workers and two API clients behind it
    bouncer = pgbouncer(pool_size=1)
    pool = workers(2, **_through(bouncer))
    clients = []
    try:
        for i, name in enumerate(("a", "b")):
            config = {
                "name": name,
                "staff": staff.pk,
                "platform": platform.pk,
                "members": members[3 * i : 3 * i + 3],
            }
            clients.append(_api_client(bouncer, config))
        # when the redistribution task reaches the workers and the clients start at once
        send(REDISTRIBUTION_TASK, as_of=A.isoformat())
        for child in clients:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        answers = []
        for child in clients:
            out, err = child.communicate(timeout=CLIENT_SECONDS)
            assert child.returncode == 0, err
            answers.append(json.loads(out.splitlines()[-1]))
    finally:
        stop_processes(clients)
    run = wait_for_row(Run.objects.filter(kind=RunKind.REDISTRIBUTION, dry_run=False))
    run = wait_for(Run, run.pk, [RunStatus.DONE], workers=pool)
    # then the redistribution has the dry run's figures: each frozen target credited once,
    # the pool empty again
    assert (run.outcome, run.pot, run.per_wallet, run.wallets_done, run.silo_after) == (
        dry.outcome,
        dry.pot,
        dry.per_wallet,
        dry.wallets_done,
        dry.silo_after,
    )
    assert run_postings(run.pk) == dict.fromkeys(plan.eligible, plan.per_wallet)
    assert system_balance(AccountKind.POOL) == 0
    assert system_balance(AccountKind.SILO) == plan.silo_after
    # and every request was answered right (a replay books nothing more)
    for answer in answers:
        per_member = [["harvest", 201, 10], ["harvest", 201, 10], ["wallet", 200, 10]]
        staff_calls = [["staff-run-list", 200, None], ["staff-silo", 200, None]]
        assert answer["calls"] == per_member * 3 + [*staff_calls, ["staff-stats", 200, None]]
    # and both clients' queries ran on the one server connection, which holds no session state
    with bouncer.connect() as conn:
        state = conn.execute(
            "SELECT pg_backend_pid(), (SELECT count(*) FROM pg_prepared_statements),"
            " (SELECT count(*) FROM pg_cursors), (SELECT count(*) FROM pg_locks"
            " WHERE locktype = 'advisory' AND pid = pg_backend_pid()),"
            " current_setting('lock_timeout'), current_setting('jit')"
        ).fetchone()
    assert state is not None
    assert [a["pids"] for a in answers] == [[state[0]], [state[0]]]
    assert state[1:] == (0, 0, 0, "3s", "off")
