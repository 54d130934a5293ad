"""The chunk engine of the runs: key ranges, the chunks still pending, the parallel worker
pool, each chunk's own transaction and its record, and how a chunk's statement is executed.

A chunk is one key range ``(lo, hi]`` of wallet ids and one short transaction that also records
it as done (:class:`~saka.grains.models.RunChunk`, whose primary key makes a chunk happen at
most once), so a killed run resumes with the chunks still pending. No lock is held across
chunks. On PostgreSQL ``workers`` threads, each with its own connection, take chunks in
parallel (disjoint key ranges never wait on each other's rows).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import connection, connections
from django.db.models import F
from django.db.models.functions import Greatest

from saka.core.clock import now
from saka.core.db import durable
from saka.grains.conf import get_settings
from saka.grains.models import Run, RunChunk, RunChunkStep

logger = logging.getLogger("saka.runs")

# A chunk's statement holds its wallets' row locks until it commits: 5,000 ids (about 15 ms
# at 1M wallets) keeps a member who meets a chunk waiting briefly; 10,000 measured a member p99
# of 50-94 ms during a 1M compost with two workers, 5,000 about 35-40 ms, at the same speed.
DEFAULT_CHUNK_SIZE = 5_000
# The redistribution's freeze locks no row (it reads wallets and writes targets), so its
# chunks are this many times larger: fewer statements, the same resumability. Part of every
# run's chunk geometry: changed while a redistribution is interrupted, its resume would
# freeze a range again and fail on the targets' key (an error, nothing booked twice).
FREEZE_CHUNK_FACTOR = 10
MAX_WORKERS = 32
Progress = Callable[[Run], None]
# A chunk's work: (lo, hi] -> (wallets, grains); it runs inside the chunk's transaction.
ChunkWork = Callable[[int, int], tuple[int, int]]


# --- a chunk's statement ----------------------------------------------------------------------


def db_time(value: datetime) -> Any:
    """A datetime as the backend stores it (raw SQL parameters compare like the ORM's)."""
    return connection.ops.adapt_datetimefield_value(value)


def fetch(query: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return list(cursor.fetchall())


def _async_commit() -> None:
    """A chunk need not wait for its WAL flush: it commits together with its chunk record, so a
    chunk lost in a server crash is lost with its record and done again on resume; any later
    synchronous commit (a member's) flushes it first. Saves one fsync per chunk."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


# --- chunks: pending, done, in parallel ---------------------------------------------------------


def chunk_ranges(run: Run, step: int) -> list[tuple[int, int]]:
    """Every key range ``(lo, hi]`` of ``step``, in key order: ``(0, size]``, ``(size,
    2 size]``, ... up to ``max_id`` (size: the run's chunk size, times ``FREEZE_CHUNK_FACTOR``
    for the freeze)."""
    size = run.chunk_size * (FREEZE_CHUNK_FACTOR if step == RunChunkStep.FREEZE else 1)
    return [(lo, min(lo + size, run.max_id)) for lo in range(0, run.max_id, size)]


def _pending(run: Run, step: int) -> list[tuple[int, int]]:
    """The key ranges of ``step`` not done yet, in key order."""
    done = set(RunChunk.objects.filter(run_id=run.pk, step=step).values_list("lo", flat=True))
    # a run begun before chunks were recorded advanced only its cursor, in key order
    legacy = run.cursor if step == RunChunkStep.APPLY and not done else 0
    return [(lo, hi) for lo, hi in chunk_ranges(run, step) if lo not in done and hi > legacy]


def _in_parallel(
    ranges: list[tuple[int, int]],
    one: Callable[[int, int], tuple[int, int]],
    workers: int,
    on_done: Callable[[int, int, int], None],
) -> None:
    """``one`` over ``ranges`` in ``workers`` threads (each its own database connection).
    ``on_done(hi, wallets, grains)`` runs in the calling thread. The first error stops the
    other workers after their current chunk (it rolls back, or commits whole) and is raised."""
    todo: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
    for key_range in ranges:
        todo.put(key_range)
    results: queue.SimpleQueue[tuple[int, int, int] | BaseException | None] = queue.SimpleQueue()
    stop = threading.Event()

    def worker() -> None:
        try:
            while not stop.is_set():
                try:
                    lo, hi = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    wallets, grains = one(lo, hi)
                except BaseException as exc:  # handed to the calling thread, raised there
                    stop.set()
                    results.put(exc)
                    return
                results.put((hi, wallets, grains))
        finally:
            connections.close_all()  # this thread's connections
            results.put(None)

    threads = [
        threading.Thread(target=worker, name=f"saka-run-worker-{i}", daemon=True)
        for i in range(min(workers, len(ranges)))
    ]
    for thread in threads:
        thread.start()
    alive, error = len(threads), None
    try:
        while alive:
            result = results.get()
            if result is None:
                alive -= 1
            elif isinstance(result, BaseException):
                error = error or result
            else:
                on_done(*result)
    except BaseException:
        stop.set()
        for thread in threads:
            thread.join()
        raise
    if error is not None:
        raise error


def run_chunks(
    run: Run,
    step: int,
    work: ChunkWork,
    *,
    workers: int | None,
    progress: Progress | None = None,
) -> None:
    """Do the pending chunks of ``step``, each in its own transaction; in parallel on
    PostgreSQL when ``workers`` (default ``SAKA_RUN_WORKERS``) > 1, never inside a caller's
    transaction, whose data other connections could not see."""
    ranges = _pending(run, step)
    workers = workers or get_settings().run_workers

    def one(lo: int, hi: int) -> tuple[int, int]:
        t0 = time.monotonic()
        # durable: a run is never part of a caller's transaction (each chunk commits alone)
        with durable():
            _async_commit()
            wallets, grains = work(lo, hi)
        logger.debug(
            "run %s %s chunk (%s, %s]: %.1f ms, %s wallets",
            run.pk,
            RunChunkStep(step).label,
            lo,
            hi,
            (time.monotonic() - t0) * 1000,
            wallets,
        )
        return wallets, grains

    def on_done(hi: int, wallets: int, grains: int) -> None:
        if step != RunChunkStep.APPLY:
            return
        # the row holds the same totals (each chunk adds to it); no read back per chunk
        run.cursor = max(run.cursor, hi)
        run.chunks_done += 1
        run.wallets_done += wallets
        run.amount_done += grains
        if progress is not None:
            progress(run)

    parallel = (
        workers > 1
        and len(ranges) > 1
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
    )
    if parallel:
        _in_parallel(ranges, one, workers, on_done)
    else:
        for lo, hi in ranges:
            on_done(hi, *one(lo, hi))
    run.refresh_from_db()


def record_chunk(run: Run, step: int, lo: int, hi: int, wallets: int, grains: int) -> None:
    """Portable path: the chunk's record and, for the apply step, the run's totals."""
    RunChunk.objects.create(
        run_id=run.pk, step=step, lo=lo, hi=hi, wallets=wallets, amount=grains, done_at=now()
    )
    if step == RunChunkStep.APPLY:
        Run.objects.filter(pk=run.pk).update(
            cursor=Greatest(F("cursor"), hi),
            chunks_done=F("chunks_done") + 1,
            wallets_done=F("wallets_done") + wallets,
            amount_done=F("amount_done") + grains,
            updated_at=now(),
        )
