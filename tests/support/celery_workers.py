"""Real Celery worker processes for the multi-process tests (PostgreSQL, a real Redis broker).

- ``Workers(count, database_url=...)``: ``start()`` N ``celery -A config worker --pool=solo``
  processes, each in its own process group and killed with the test process if that dies
  (``PR_SET_PDEATHSIG``), waits until each logs that it is ready; ``kill(worker)`` SIGKILLs one
  (its chunk's transaction rolls back, its lease runs out); ``stop()`` ends them all (SIGTERM,
  then SIGKILL), also when the test failed. Bounded: at most ``MAX_WORKERS``, every wait has a
  deadline. A solo worker runs its task in its own process, so its pid is the one in the
  ``host:pid`` a chunk lease records (``by_lease``).
- ``send(task, **kwargs)``: a task sent from the test process to the workers' broker (a Celery
  app of its own: the test settings may run tasks eagerly or name another broker).
- ``wait_for(model, pk, statuses)``: poll a run row until its status is one of ``statuses``,
  failing early (with the workers' logs) when one of them died unexpectedly.
- ``HeldRows``: rows locked FOR UPDATE from a raw connection, so that the worker whose chunk
  reaches one waits mid-transaction, holding its lease (a deterministic place to kill it);
  ``one_per_chunk`` picks such rows, ``live_leases`` and ``done_by`` read who holds or did
  which chunk (any run kind: they take the kind's chunk model).

The workers' database is the pytest one (``child_database_url()``), so a test that uses them is
``django_db(transaction=True)``: the workers see only what the test committed. Their broker is
``SAKA_TEST_BROKER_URL`` (Redis database 6 by default), flushed when workers start.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis
from celery import Celery
from django.db import connection
from psycopg import sql

from tests.support.db import pg_connect

REPO = Path(__file__).resolve().parents[2]


def _broker_url() -> str:
    """``SAKA_TEST_BROKER_URL`` (Redis database 6 by default); under pytest-xdist each worker
    process (``gw0``, ``gw1``, ...) takes the databases after it, so that no two test
    processes' Celery workers share a queue."""
    url = os.environ.get("SAKA_TEST_BROKER_URL", "redis://127.0.0.1:6379/6")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    from config.settings.test import redis_database_after

    return redis_database_after(url, 1 + int(worker[2:]))


BROKER_URL = _broker_url()
QUEUE = "celery"  # the default queue: the tasks the workers send each other go there too
MAX_WORKERS = 8
START_SECONDS = 90  # liveness guards: a wait longer than these is a hang, not a slow machine
STOP_SECONDS = 15
WAIT_SECONDS = 240
READY_MARKER = " ready."  # celery's worker_ready log line: "celery@<name> ready."
PR_SET_PDEATHSIG = 1


def child_database_url(*, host: str | None = None, port: int | None = None) -> str:
    """The pytest database as a URL for a child process (optionally through another host and
    port, e.g. a PgBouncer in front of it)."""
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return (
        f"postgres://{auth}@{host or s['HOST'] or '127.0.0.1'}:"
        f"{port or s['PORT'] or 5432}/{s['NAME']}"
    )


def die_with_parent() -> None:
    """``preexec_fn`` of a child process: the kernel SIGKILLs it if the test process dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def child_env(**overrides: str) -> dict[str, str]:
    """The environment of a Django child process started by a test: this process's, minus the
    test-only database name and the pooler switch, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if k not in ("SAKA_TEST_DB_NAME", "SAKA_DB_POOLER")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO)])
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    env.update(overrides)
    return env


def stop_processes(popens: Iterable[subprocess.Popen[Any]], *, sig: int = signal.SIGTERM) -> None:
    """End children started in their own sessions: ``sig`` to each process group, SIGKILL to
    those still there after ``STOP_SECONDS``."""
    running = [p for p in popens if p.poll() is None]
    for popen in running:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, sig)
    deadline = time.monotonic() + STOP_SECONDS
    for popen in running:
        try:
            popen.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(popen.pid, signal.SIGKILL)
            popen.wait(timeout=STOP_SECONDS)


# --- the broker --------------------------------------------------------------------------------


def broker_app() -> Celery:
    """A Celery app of the test process that only sends to the workers' broker."""
    app = Celery("saka-test-client", broker=BROKER_URL, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=QUEUE,
        broker_connection_retry_on_startup=True,
    )
    return app


def flush_broker() -> None:
    """Empty the workers' broker database (never another one: only ``BROKER_URL``'s)."""
    redis.Redis.from_url(BROKER_URL).flushdb()


def send(task: str, **kwargs: Any) -> None:
    """Send ``task`` (by name, as beat does) with ``kwargs`` to the workers."""
    app = broker_app()
    try:
        app.send_task(task, kwargs=kwargs, queue=QUEUE)
    finally:
        app.close()


# --- the workers -------------------------------------------------------------------------------


@dataclass
class WorkerProcess:
    index: int
    popen: subprocess.Popen[Any]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def lease_name(self) -> str:
        """What the engine records as the worker of a chunk it leases (``host:pid``)."""
        return f"{socket.gethostname()}:{self.pid}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Workers:
    """N Celery worker processes on the pytest database (or on ``database_url``)."""

    count: int
    database_url: str = ""
    env: dict[str, str] = field(default_factory=dict)
    lease_seconds: int = 5
    stall_seconds: int = 120
    lock_timeout_ms: int = 60_000  # a worker waits on a test's held row instead of failing
    processes: list[WorkerProcess] = field(default_factory=list)
    killed: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_WORKERS:
            raise ValueError(f"1..{MAX_WORKERS} workers, not {self.count}")
        self.log_dir = Path(tempfile.mkdtemp(prefix="saka-workers-"))
        self.token = uuid.uuid4().hex[:8]

    def _env(self) -> dict[str, str]:
        return child_env(
            DATABASE_URL=self.database_url or child_database_url(),
            REDIS_URL=BROKER_URL,
            CELERY_TASK_ALWAYS_EAGER="0",
            SAKA_RUN_WORKERS=str(self.count),
            SAKA_RUN_LEASE_SECONDS=str(self.lease_seconds),
            SAKA_RUN_STALL_SECONDS=str(self.stall_seconds),
            SAKA_LOCK_TIMEOUT_MS=str(self.lock_timeout_ms),
            SAKA_LOG_LEVEL="INFO",
            **self.env,
        )

    def start(self) -> Workers:
        """Start the workers (after emptying the broker) and wait until each is ready."""
        flush_broker()
        env = self._env()
        for i in range(self.count):
            log = self.log_dir / f"worker-{i}.log"
            with log.open("wb") as out:
                popen = subprocess.Popen(  # noqa: S603 - our own interpreter and celery
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "config",
                        "worker",
                        "--pool=solo",
                        "-c",
                        "1",
                        "-Q",
                        QUEUE,
                        "-n",
                        f"saka-test-{self.token}-{i}@%h",
                        "--without-heartbeat",
                        "--without-gossip",
                        "--without-mingle",
                        "-l",
                        "INFO",
                    ],
                    cwd=REPO,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=die_with_parent,
                )
            self.processes.append(WorkerProcess(index=i, popen=popen, log=log))
        deadline = time.monotonic() + START_SECONDS
        for worker in self.processes:
            while READY_MARKER not in worker.log_text():
                if not worker.alive():
                    raise RuntimeError(f"worker {worker.index} died:\n{worker.log_text()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"worker {worker.index} not ready:\n{worker.log_text()}")
                time.sleep(0.1)
        return self

    def by_lease(self, lease_worker: str) -> WorkerProcess:
        """The worker whose ``host:pid`` a chunk row names."""
        for worker in self.processes:
            if worker.lease_name == lease_worker:
                return worker
        raise LookupError(f"{lease_worker!r} is none of {[w.lease_name for w in self]}")

    def kill(self, worker: WorkerProcess) -> None:
        """SIGKILL one worker (its process group) and reap it."""
        self.killed.add(worker.index)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.popen.wait(timeout=STOP_SECONDS)

    def check_alive(self) -> None:
        """Fail if a worker that was not killed on purpose has died."""
        for worker in self.processes:
            if worker.index not in self.killed and not worker.alive():
                raise AssertionError(f"worker {worker.index} died:\n{worker.log_text()[-4000:]}")

    def logs(self) -> str:
        return "\n".join(
            f"--- worker {w.index} (pid {w.pid}) ---\n{w.log_text()[-3000:]}" for w in self
        )

    def stop(self) -> None:
        """End every worker, then drop their logs (a failure's message already quoted them)."""
        stop_processes(w.popen for w in self.processes)
        shutil.rmtree(self.log_dir, ignore_errors=True)

    def __iter__(self) -> Iterator[WorkerProcess]:
        return iter(self.processes)


# --- waiting -----------------------------------------------------------------------------------


def wait_until(
    check: Callable[[], Any],
    *,
    what: str,
    workers: Workers | None = None,
    timeout: float = WAIT_SECONDS,
    poll: float = 0.1,
) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds, or
    at once if a worker died that was not killed on purpose (with their logs)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if workers is not None:
            workers.check_alive()
        if time.monotonic() > deadline:
            logs = workers.logs() if workers is not None else ""
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        time.sleep(poll)


def wait_for(
    model: Any,
    pk: int,
    statuses: Iterable[str],
    *,
    workers: Workers | None = None,
    timeout: float = WAIT_SECONDS,
) -> Any:
    """The row ``pk`` of ``model`` once its status is one of ``statuses``."""
    wanted = set(statuses)
    return wait_until(
        lambda: model.objects.filter(pk=pk, status__in=wanted).first(),
        what=f"{model.__name__} {pk} to be {sorted(wanted)}",
        workers=workers,
        timeout=timeout,
    )


def wait_for_row(
    queryset: Any, *, workers: Workers | None = None, timeout: float = WAIT_SECONDS
) -> Any:
    """The first row of ``queryset`` once there is one (e.g. a run a task opens)."""
    return wait_until(
        queryset.first, what=f"a row of {queryset.query}", workers=workers, timeout=timeout
    )


# --- rows held by the test ---------------------------------------------------------------------


class HeldRows:
    """Rows locked ``FOR UPDATE`` on a raw connection of the test, until ``release()``."""

    def __init__(self, table: str, ids: Iterable[int]) -> None:
        self.ids = sorted(ids)
        self.conn: psycopg.Connection[Any] = pg_connect()
        with self.conn.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (self.pid,) = cursor.fetchone() or (0,)
            cursor.execute(
                sql.SQL("SELECT id FROM {} WHERE id = ANY(%s) ORDER BY id FOR UPDATE").format(
                    sql.Identifier(table)
                ),
                [self.ids],
            )
            assert [r[0] for r in cursor.fetchall()] == self.ids

    def waiters(self) -> list[int]:
        """Backends waiting on one of the held rows."""
        with pg_connect(autocommit=True) as watcher, watcher.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND %s = ANY(pg_blocking_pids(pid)) ORDER BY pid",
                [self.pid],
            )
            return [r[0] for r in cursor.fetchall()]

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()

    def __enter__(self) -> HeldRows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


# --- the chunks of a run the workers share ------------------------------------------------------


def one_per_chunk(ids: Iterable[int], chunk_size: int, chunks: Iterable[int]) -> dict[int, int]:
    """``{chunk number: id}``: one of ``ids`` in each of ``chunks`` (chunk k is the key range
    ``(k * size, (k + 1) * size]``), from the middle of the chunk's ids."""
    by_chunk: dict[int, list[int]] = {}
    for i in sorted(ids):
        by_chunk.setdefault((i - 1) // chunk_size, []).append(i)
    return {k: by_chunk[k][len(by_chunk[k]) // 2] for k in chunks}


def live_leases(chunk_model: Any, run_id: int, step: int) -> dict[int, str]:
    """``{lo: worker}`` of the pending chunks of a step that a worker holds a lease on."""
    rows = chunk_model.objects.filter(
        run_id=run_id, step=step, done_at__isnull=True, lease_until__isnull=False
    ).values_list("lo", "worker")
    return dict(rows)


def done_by(chunk_model: Any, run_id: int, step: int | None = None) -> dict[str, int]:
    """``{worker: chunks done}`` of a run (of one step, or of all)."""
    rows = chunk_model.objects.filter(run_id=run_id, done_at__isnull=False)
    if step is not None:
        rows = rows.filter(step=step)
    counts: dict[str, int] = {}
    for worker in rows.values_list("worker", flat=True):
        counts[worker] = counts.get(worker, 0) + 1
    return counts
