"""Chunk rows: planned when their step begins, leased by one worker at a time, done once.

Claiming is one statement: the first pending chunk of the step whose lease is free or ran
out, ``FOR UPDATE SKIP LOCKED`` (two workers never wait on each other, and a chunk being
worked on -- its row is locked by its work transaction -- is skipped), then its lease. A
worker's first claim of a step commits on its own; each later one commits with the chunk the
worker just did (no transaction of its own). Doing a chunk is one transaction: lock the chunk
row, see it still pending (a chunk whose lease ran out while its first worker was still busy
is then found done and skipped), do the kind's work, which marks the chunk done in the same
transaction. So whatever the leases do, a chunk's work commits at most once, and until it has,
the chunk stays pending."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import DataError, IntegrityError, connection
from django.db.models import Count, F, Q
from django.utils import timezone

from saka.core.db import durable
from saka.core.errors import LockTimeout
from saka.core.metrics import run_chunk_seconds
from saka.engine.conf import get_settings
from saka.engine.errors import ChunkFailed
from saka.engine.logs import counts_text, run_fields
from saka.engine.spec import ChunkCounts, Chunked, RunSpec

logger = logging.getLogger("saka.runs")


def worker_name(thread: int | None = None) -> str:
    """``host:pid`` (``:thread`` for a thread of an in-process pool): who holds a lease."""
    name = f"{socket.gethostname()}:{os.getpid()}"
    if thread is None:
        thread = getattr(_local, "thread", None)
    return f"{name}:{thread}" if thread is not None else name


_local = threading.local()
# A chunk's retries back off 0.1, 0.2, 0.4 ... seconds, never longer than this (up to 20
# retries are allowed: uncapped, the last would sleep for hours).
MAX_BACKOFF_SECONDS = 5.0


def plan(spec: RunSpec, run: Any, step: Chunked) -> int:
    """Write the step's chunk rows (idempotent: rows that exist are kept, done or not)."""
    model = spec.chunk_model
    rows = [model(run_id=run.pk, step=step.step, lo=lo, hi=hi) for lo, hi in step.ranges(run)]
    model.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
    return len(rows)


def _pending(spec: RunSpec, run_id: int, step: Chunked) -> Any:
    return spec.chunk_model.objects.filter(run_id=run_id, step=step.step, done_at__isnull=True)


# The lease commits without waiting for its WAL flush (``set_config(..., true)`` is ``SET
# LOCAL``): a lease lost in a server crash costs nothing, and one fsync per chunk is saved.
_CLAIM_PG = """
UPDATE {table} c SET worker = %(worker)s, lease_until = %(until)s, claims = c.claims + 1
FROM (
    SELECT run_id, step, lo FROM {table}
    WHERE run_id = %(run)s AND step = %(step)s AND done_at IS NULL
      AND (lease_until IS NULL OR lease_until < %(at)s)
    ORDER BY lo LIMIT 1 FOR UPDATE SKIP LOCKED
) free, (SELECT set_config('synchronous_commit', 'off', true)) cfg
WHERE c.run_id = free.run_id AND c.step = free.step AND c.lo = free.lo
RETURNING c.lo, c.hi
"""

# The chunk's row lock (and its pending state) and the transaction's synchronous_commit off
# (``set_config(..., true)`` is ``SET LOCAL``: it ends with the transaction), in one statement.
# A chunk need not wait for its WAL flush: it commits together with its done mark, so a chunk
# lost in a server crash is lost with its mark and done again; any later synchronous commit
# (a member's) flushes it first.
_LOCK_PG = """
SELECT done_at, set_config('synchronous_commit', 'off', true) FROM {table}
WHERE run_id = %(run)s AND step = %(step)s AND lo = %(lo)s FOR UPDATE
"""


def _claim_in_transaction(
    spec: RunSpec, run_id: int, step: Chunked, worker: str
) -> tuple[int, int] | None:
    at = timezone.now()
    until = at + timedelta(seconds=get_settings().lease_seconds)
    if connection.vendor == "postgresql":
        params: dict[str, Any] = {
            "run": run_id,
            "step": step.step,
            "worker": worker,
            "until": until,
            "at": at,
        }
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_PG.format(table=spec.chunk_model._meta.db_table), params)
            row = cursor.fetchone()
        return (int(row[0]), int(row[1])) if row else None
    free = (
        _pending(spec, run_id, step)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=at))
        .order_by("lo")
        .values_list("lo", "hi")[:1]
    )
    found = list(free)
    if not found:
        return None
    lo, hi = found[0]
    spec.chunk_model.objects.filter(run_id=run_id, step=step.step, lo=lo).update(
        worker=worker, lease_until=until, claims=F("claims") + 1
    )
    return int(lo), int(hi)


def claim(spec: RunSpec, run_id: int, step: Chunked, worker: str) -> tuple[int, int] | None:
    """Lease the first free pending chunk of ``step``: ``(lo, hi)``, or ``None``. One
    committed statement on PostgreSQL (``FOR UPDATE SKIP LOCKED``: claimers never wait)."""
    with durable():
        return _claim_in_transaction(spec, run_id, step, worker)


def _lock_pending(spec: RunSpec, run_id: int, step: int, lo: int) -> bool:
    """Inside the chunk's transaction: lock its row; ``True`` if it is still pending."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                _LOCK_PG.format(table=spec.chunk_model._meta.db_table),
                {"run": run_id, "step": step, "lo": lo},
            )
            row = cursor.fetchone()
        return row is not None and row[0] is None
    state = list(
        spec.chunk_model.objects.select_for_update()
        .filter(run_id=run_id, step=step, lo=lo)
        .values_list("done_at", flat=True)
    )
    return bool(state) and state[0] is None


def do(spec: RunSpec, run: Any, step: Chunked, lo: int, hi: int, worker: str) -> bool:
    """Do one leased chunk in its own transaction; ``False`` if another worker did it first."""
    done, _ = do_and_claim_next(spec, run, step, lo, hi, worker, claim_next=False)
    return done


def do_and_claim_next(
    spec: RunSpec,
    run: Any,
    step: Chunked,
    lo: int,
    hi: int,
    worker: str,
    *,
    claim_next: bool = True,
) -> tuple[bool, tuple[int, int] | None]:
    """Do one leased chunk in its own transaction and, in the same transaction, lease the
    worker's next chunk (one statement and no commit of its own per chunk): ``(done, next)``;
    ``done`` is ``False`` if another worker did the chunk first. A lock timeout or deadlock is
    tried again (``SAKA_RUN_CHUNK_RETRIES``, with backoff); a constraint or range error that the
    kind's work did not type itself becomes ``ChunkFailed`` at once; on any failure the lease is
    given up, so the next worker need not wait for it. A chunk done logs one line and is
    timed in ``saka_run_chunk_duration_seconds`` (retries included)."""
    retries = get_settings().chunk_retries
    attempt = 0
    t0 = time.monotonic()
    counts: ChunkCounts | None = None
    while True:
        try:
            with durable():
                done = _lock_pending(spec, run.pk, step.step, lo)
                if done:
                    counts = step.work(run, lo, hi, worker)
                upcoming = _claim_in_transaction(spec, run.pk, step, worker) if claim_next else None
        except LockTimeout:
            if attempt >= retries:
                release(spec, run.pk, step.step, lo)
                raise
            attempt += 1
            delay = min(0.1 * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)
            logger.warning(
                "run %s %s chunk (%s, %s]: lock timeout, try %s of %s in %.1f s",
                spec.name,
                run.pk,
                lo,
                hi,
                attempt + 1,
                retries + 1,
                delay,
            )
            time.sleep(delay)
            continue
        except (IntegrityError, DataError) as exc:  # never retried: it would fail the same way
            release(spec, run.pk, step.step, lo)
            raise ChunkFailed(
                run=spec.name,
                run_id=run.pk,
                step=step.name,
                lo=lo,
                hi=hi,
                error=f"{type(exc).__name__}: {exc}"[:300],
            ) from exc
        except Exception:
            release(spec, run.pk, step.step, lo)
            raise
        if done:
            _chunk_done_log(spec, run, step, lo, hi, worker, time.monotonic() - t0, counts, attempt)
        return done, upcoming


def _chunk_done_log(
    spec: RunSpec,
    run: Any,
    step: Chunked,
    lo: int,
    hi: int,
    worker: str,
    seconds: float,
    counts: ChunkCounts | None,
    retries: int,
) -> None:
    run_chunk_seconds.labels(run=spec.name, step=step.name).observe(seconds)
    ms = round(seconds * 1000, 1)
    logger.info(
        "run %s %s %s chunk (%s, %s] by %s: %s ms%s",
        spec.name,
        run.pk,
        step.name,
        lo,
        hi,
        worker,
        ms,
        f", {counts_text(counts)}" if counts else "",
        extra={
            **run_fields(spec, run, "run.chunk"),
            "step": step.name,
            "lo": lo,
            "hi": hi,
            "worker": worker,
            "duration_ms": ms,
            "retries": retries,
            "counts": dict(counts or {}),
        },
    )


def release(spec: RunSpec, run_id: int, step: int, lo: int) -> None:
    """Give a chunk's lease up (after a failure: the next worker need not wait for it)."""
    spec.chunk_model.objects.filter(run_id=run_id, step=step, lo=lo, done_at__isnull=True).update(
        lease_until=None
    )


_FREE_PG = """
UPDATE {table} SET lease_until = NULL
WHERE (run_id, step, lo) IN (
    SELECT run_id, step, lo FROM {table}
    WHERE run_id = %(run)s AND done_at IS NULL AND lease_until IS NOT NULL
      AND lease_until < %(claimed_before)s
    FOR UPDATE SKIP LOCKED
)
"""


def free_idle_leases(spec: RunSpec, run_id: int, *, claimed_seconds_ago: float = 0) -> int:
    """Give up the leases, claimed at least ``claimed_seconds_ago``, of chunks nobody is
    working on now (their row is not locked): their worker died, or it is between its claim and
    its chunk's transaction -- it then finds the chunk done and skips it. Never needed for
    exactness (the row lock and the done mark are), only so that a dead worker's chunks are
    taken at once instead of when their lease runs out. PostgreSQL: rows locked by a chunk's
    transaction are skipped (SKIP LOCKED); SQLite takes its write lock when a transaction
    begins (``BEGIN IMMEDIATE``), so no chunk's transaction is open while this one runs."""
    lease = timedelta(seconds=get_settings().lease_seconds)
    before = timezone.now() + lease - timedelta(seconds=claimed_seconds_ago)
    if connection.vendor == "sqlite":
        with durable():
            return int(
                spec.chunk_model.objects.filter(
                    run_id=run_id, done_at__isnull=True, lease_until__lt=before
                ).update(lease_until=None)
            )
    if connection.vendor != "postgresql":
        return 0
    with durable(), connection.cursor() as cursor:
        cursor.execute(
            _FREE_PG.format(table=spec.chunk_model._meta.db_table),
            {"run": run_id, "claimed_before": before},
        )
        return int(cursor.rowcount)


def chunk_done(spec: RunSpec, run_id: int, step: int, lo: int, worker: str, **totals: Any) -> None:
    """Portable path: mark a chunk done (with the kind's totals) inside its transaction."""
    updated = spec.chunk_model.objects.filter(
        run_id=run_id, step=step, lo=lo, done_at__isnull=True
    ).update(done_at=timezone.now(), worker=worker, lease_until=None, **totals)
    if updated != 1:  # never: the engine locked the row and saw it pending
        raise RuntimeError(f"chunk {run_id}/{step}/{lo} was not pending")


@dataclass(frozen=True)
class StepState:
    total: int
    done: int
    leased: int  # pending with a live lease

    @property
    def pending(self) -> int:
        return self.total - self.done

    @property
    def finished(self) -> bool:
        return self.done == self.total


def step_state(spec: RunSpec, run_id: int, step: int) -> StepState:
    at = timezone.now()
    agg = spec.chunk_model.objects.filter(run_id=run_id, step=step).aggregate(
        total=Count("lo"),
        done=Count("lo", filter=Q(done_at__isnull=False)),
        leased=Count("lo", filter=Q(done_at__isnull=True, lease_until__gte=at)),
    )
    return StepState(total=agg["total"], done=agg["done"], leased=agg["leased"])


def leases(spec: RunSpec, run_id: int) -> list[dict[str, Any]]:
    """The live leases of a run: who holds which chunk, until when."""
    rows = (
        spec.chunk_model.objects.filter(
            run_id=run_id, done_at__isnull=True, lease_until__gte=timezone.now()
        )
        .order_by("step", "lo")
        .values("step", "lo", "hi", "worker", "lease_until")
    )
    return [
        {**row, "lease_until": row["lease_until"].isoformat() if row["lease_until"] else None}
        for row in rows
    ]


def set_thread(index: int | None) -> None:
    _local.thread = index
