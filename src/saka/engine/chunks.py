"""Chunk rows: planned when their step begins, leased by one worker at a time, done once.

Claiming is one short committed transaction: the first pending chunk of the step whose lease
is free or ran out, ``FOR UPDATE SKIP LOCKED`` (two workers never wait on each other, and a
chunk being worked on -- its row is locked by its work transaction -- is skipped), then its
lease. Doing it is another transaction: lock the chunk row, see it still pending (a chunk
whose lease ran out while its first worker was still busy is then found done and skipped),
do the kind's work, which marks the chunk done in the same transaction. So whatever the
leases do, a chunk's work commits at most once, and until it has, the chunk stays pending.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, F, Q
from django.utils import timezone

from saka.core.db import durable
from saka.core.errors import LockTimeout
from saka.engine.conf import get_settings
from saka.engine.spec import Chunked, RunSpec

logger = logging.getLogger("saka.runs")


def worker_name(thread: int | None = None) -> str:
    """``host:pid`` (``:thread`` for a thread of an in-process pool): who holds a lease."""
    name = f"{socket.gethostname()}:{os.getpid()}"
    if thread is None:
        thread = getattr(_local, "thread", None)
    return f"{name}:{thread}" if thread is not None else name


_local = threading.local()


def plan(spec: RunSpec, run: Any, step: Chunked) -> int:
    """Write the step's chunk rows (idempotent: rows that exist are kept, done or not)."""
    model = spec.chunk_model
    rows = [model(run_id=run.pk, step=step.step, lo=lo, hi=hi) for lo, hi in step.ranges(run)]
    model.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
    return len(rows)


def _pending(spec: RunSpec, run_id: int, step: Chunked) -> Any:
    return spec.chunk_model.objects.filter(run_id=run_id, step=step.step, done_at__isnull=True)


def claim(spec: RunSpec, run_id: int, step: Chunked, worker: str) -> tuple[int, int] | None:
    """Lease the first free pending chunk of ``step``: ``(lo, hi)``, or ``None``."""
    at = timezone.now()
    until = at + timedelta(seconds=get_settings().lease_seconds)
    with durable():
        free = (
            _pending(spec, run_id, step)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=at))
            .select_for_update(skip_locked=True)
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


def _async_commit() -> None:
    """A chunk need not wait for its WAL flush: it commits together with its done mark, so a
    chunk lost in a server crash is lost with its mark and done again; any later synchronous
    commit (a member's) flushes it first. ``SET LOCAL``: it ends with the transaction."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def do(spec: RunSpec, run: Any, step: Chunked, lo: int, hi: int, worker: str) -> bool:
    """Do one leased chunk in its own transaction; ``False`` if another worker did it first.
    A lock timeout or deadlock is tried again (``SAKA_RUN_CHUNK_RETRIES``, with backoff);
    on any failure the lease is given up, so the next worker need not wait for it."""
    retries = get_settings().chunk_retries
    attempt = 0
    while True:
        t0 = time.monotonic()
        try:
            with durable():
                state = list(
                    spec.chunk_model.objects.select_for_update()
                    .filter(run_id=run.pk, step=step.step, lo=lo)
                    .values_list("done_at", flat=True)
                )
                if not state or state[0] is not None:
                    return False
                _async_commit()
                step.work(run, lo, hi, worker)
        except LockTimeout:
            if attempt >= retries:
                release(spec, run.pk, step.step, lo)
                raise
            attempt += 1
            delay = 0.1 * 2 ** (attempt - 1)
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
        except Exception:
            release(spec, run.pk, step.step, lo)
            raise
        logger.debug(
            "run %s %s %s chunk (%s, %s] by %s: %.1f ms",
            spec.name,
            run.pk,
            step.name,
            lo,
            hi,
            worker,
            (time.monotonic() - t0) * 1000,
        )
        return True


def release(spec: RunSpec, run_id: int, step: int, lo: int) -> None:
    """Give a chunk's lease up (after a failure: the next worker need not wait for it)."""
    spec.chunk_model.objects.filter(run_id=run_id, step=step, lo=lo, done_at__isnull=True).update(
        lease_until=None
    )


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
    return [{**row, "lease_until": row["lease_until"].isoformat()} for row in rows]


def set_thread(index: int | None) -> None:
    _local.thread = index
