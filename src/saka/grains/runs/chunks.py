"""The chunks of the SAKA runs: their key ranges, how a chunk's statement is executed, and the
portable record of a chunk done.

A chunk is one key range ``(lo, hi]`` of wallet ids and one short transaction that also marks
it done (:class:`~saka.grains.models.RunChunk`), so a killed run resumes with the chunks still
pending. No lock is held across chunks. The batch engine (``saka.engine``) plans the ranges,
leases them to any number of workers (threads, processes, machines) and opens each chunk's
transaction; disjoint key ranges never wait on each other's rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import F
from django.db.models.functions import Greatest

from saka.core.clock import now
from saka.engine.chunks import chunk_done
from saka.engine.spec import RunSpec
from saka.grains.accounts import system_account_id
from saka.grains.merkle import preimages_root
from saka.grains.models import AccountKind, Run, RunChunkStep
from saka.grains.sql.chunks import CHUNK_END_PG

# A chunk's statement holds its wallets' row locks until it commits: 5,000 ids (about 15 ms
# at 1M wallets) keeps a member who meets a chunk waiting briefly; 10,000 measured a member p99
# of 50-94 ms during a 1M compost with two workers, 5,000 about 35-40 ms, at the same speed.
DEFAULT_CHUNK_SIZE = 5_000
# The redistribution's freeze locks no row (it reads wallets and writes targets), so its
# chunks are this many times larger: fewer statements, the same resumability. Part of every
# run's chunk geometry, planned when the step begins: changing it never affects a run whose
# freeze is planned.
FREEZE_CHUNK_FACTOR = 10
MAX_WORKERS = 32


def db_time(value: datetime) -> Any:
    """A datetime as the backend stores it (raw SQL parameters compare like the ORM's)."""
    return connection.ops.adapt_datetimefield_value(value)


def fetch(query: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return list(cursor.fetchall())


def chunk_ranges(run: Run, step: int) -> list[tuple[int, int]]:
    """Every key range ``(lo, hi]`` of ``step``, in key order: ``(0, size]``, ``(size,
    2 size]``, ... up to ``max_id`` (size: the run's chunk size, times ``FREEZE_CHUNK_FACTOR``
    for the freeze)."""
    size = run.chunk_size * (FREEZE_CHUNK_FACTOR if step == RunChunkStep.FREEZE else 1)
    return [(lo, min(lo + size, run.max_id)) for lo in range(0, run.max_id, size)]


def chunk_counts(wallets: Any, grains: Any = 0) -> dict[str, int]:
    """What a chunk did, for its log line: wallets changed (or frozen) and grains moved."""
    return {"wallets": int(wallets), "amount": int(grains)}


def run_counts(run: Run) -> dict[str, int]:
    """A finished SAKA run's totals, for its log line."""
    return {"wallets": run.wallets_done, "amount": run.amount_done}


def record_chunk(
    spec: RunSpec, run: Run, step: int, lo: int, hi: int, worker: str, wallets: int, grains: int
) -> dict[str, int]:
    """Portable path: mark the chunk done and, for the apply step, add to the run's totals
    (the PostgreSQL statements do both inside the chunk's one statement); what it did."""
    chunk_done(spec, run.pk, step, lo, worker, wallets=wallets, amount=grains)
    if step == RunChunkStep.APPLY:
        Run.objects.filter(pk=run.pk).update(
            cursor=Greatest(F("cursor"), hi),
            chunks_done=F("chunks_done") + 1,
            wallets_done=F("wallets_done") + wallets,
            amount_done=F("amount_done") + grains,
            updated_at=now(),
        )
    else:
        Run.objects.filter(pk=run.pk).update(updated_at=now())
    return chunk_counts(wallets, grains)


def chunk_end_pg(
    run: Run,
    lo: int,
    hi: int,
    worker: str,
    *,
    account_id: int,
    delta: int,
    wallets: int,
    grains: int,
    items: list[bytes],
) -> dict[str, int]:
    """PostgreSQL: end an apply chunk whose statement booked ``wallets`` wallets for ``grains``
    and returned their leaves' preimages ``items`` (by id): its statement leaf hashed here,
    ``delta`` on the system account, the chunk done and the run's progress, in one statement
    (``sql.chunks.CHUNK_END_PG``) of the chunk's transaction."""
    root = preimages_root(items).hex() if items else None
    with connection.cursor() as cursor:
        cursor.execute(
            CHUNK_END_PG,
            {
                "run": run.pk,
                "lo": lo,
                "hi": hi,
                "n": int(wallets),
                "s": int(grains),
                "root": root,
                "delta": int(delta),
                "account": account_id,
                "now": db_time(now()),
                "worker": worker,
            },
        )
    return chunk_counts(wallets, grains)


def run_account_id(run: Run, kind: str) -> int:
    """The silo's or the pool's id for a run's chunks, looked up once per run object (a worker
    keeps its run object for the whole step). Both exist from the run's opening
    (``open_live``), so the id never belongs to an account created in a chunk's transaction
    that could roll back."""
    cache: dict[str, int] = run.__dict__.setdefault("_system_ids", {})
    if kind not in cache:
        cache[kind] = system_account_id(AccountKind(kind))
    return cache[kind]
