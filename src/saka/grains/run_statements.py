"""Verifiable run statements: each finished live run publishes its figures and a Merkle root
over the wallets it moved (``saka.grains.merkle``), hash-chained to the previous statement.

Published once, in the run's finishing transaction (the engine's ``on_finish``, under the
run's row lock): a run is never done without its statement, and a run resumed after a crash
mid-publish publishes once. The chain's tail is serialised by ``statement_chain_lock``. The
chunks' subtrees are hashed before, by the run's hash step (``saka.grains.runs.statements``),
so the finishing transaction only folds the chunk leaves; ``saka_reconcile`` recomputes the
whole tree from the postings, streamed (one batch of postings in memory at a time).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import Sum

from saka.core.db import require_atomic
from saka.grains import lock_objects
from saka.grains.merkle import (
    GENESIS,
    StreamingRoot,
    chunk_leaf_hash,
    leaf_hash,
    merkle_root,
    preimages_root,
    statement_hash,
)
from saka.grains.models import Run, RunKind, RunStatement, RunStatementChunk, SakaEntry
from saka.grains.rules import CompostRule, RedistributionRule

logger = logging.getLogger("saka.runs")

# The sign that makes a run's wallet posting the grains it moved (positive).
SIGN = {RunKind.COMPOST.value: -1, RunKind.REDISTRIBUTION.value: 1}
_POSTINGS = (
    "SELECT account_id, amount FROM grains_posting "
    "WHERE run_id = %s AND account_id > %s AND account_id <= %s ORDER BY account_id"
)
# The whole run's postings are read in keyset batches of this many rows (no server-side
# cursor: PgBouncer in transaction pooling; no OFFSET): memory stays flat, one query per batch.
BATCH = 10_000
_BATCH = (
    "SELECT account_id, amount FROM grains_posting "
    "WHERE run_id = %s AND account_id > %s ORDER BY account_id LIMIT %s"
)
# PostgreSQL hashes the leaves itself (sha256 of the same bytes): Python folds the nodes only.
_BATCH_HASHED_PG = (
    "SELECT account_id, amount, sha256('\\x00'::bytea || convert_to("
    "account_id::text || ':' || (%s * amount)::text, 'UTF8')) FROM grains_posting "
    "WHERE run_id = %s AND account_id > %s ORDER BY account_id LIMIT %s"
)
# Leaves hashed in SQL on PostgreSQL (see docs/statements.md for the measurement).
LEAVES_IN_SQL = False


@dataclass(frozen=True)
class ChunkLeaf:
    """One chunk of a run's tree: its key range, wallets, grains and subtree root (hex)."""

    lo: int
    hi: int
    count: int
    total: int
    root: str

    def as_list(self) -> list[Any]:
        return [self.lo, self.hi, self.count, self.total, self.root]

    @classmethod
    def of_list(cls, row: list[Any]) -> ChunkLeaf:
        return cls(int(row[0]), int(row[1]), int(row[2]), int(row[3]), str(row[4]))

    def leaf(self) -> bytes:
        return chunk_leaf_hash(self.lo, self.hi, self.count, self.total, bytes.fromhex(self.root))


def chunk_range_of(run: Run, account_id: int) -> tuple[int, int]:
    """The apply-step key range ``(lo, hi]`` of the run holding ``account_id`` (the run's
    chunk geometry: ``(0, size]``, ``(size, 2 size]``, ... up to ``max_id``)."""
    size = run.chunk_size
    lo = (account_id - 1) // size * size
    return lo, max(min(lo + size, run.max_id), account_id)


def chunk_postings(run: Run, lo: int, hi: int) -> list[tuple[int, int]]:
    """``(account_id, grains moved)`` of the run's wallet postings in ``(lo, hi]``, by id."""
    sign = SIGN[run.kind]
    with connection.cursor() as cursor:
        cursor.execute(_POSTINGS, [run.pk, lo, hi])
        return [(int(a), sign * int(x)) for a, x in cursor.fetchall()]


def chunk_leaf(run: Run, lo: int, hi: int) -> ChunkLeaf | None:
    """The chunk leaf of ``(lo, hi]`` from its postings (``None``: it has none)."""
    tree, total = StreamingRoot(), 0
    for account_id, amount in chunk_postings(run, lo, hi):
        tree.add(leaf_hash(account_id, amount))
        total += amount
    if tree.count == 0:
        return None
    return ChunkLeaf(lo, hi, tree.count, total, tree.root().hex())


def preimages(pairs: Iterable[tuple[int, int]]) -> list[bytes]:
    """The leaves' preimages ``b"{account_id}:{grains moved}"`` of ``pairs``, in their order."""
    return [f"{account_id}:{amount}".encode() for account_id, amount in pairs]


def chunk_leaf_store(run: Run, lo: int, hi: int, items: list[bytes], total: int) -> None:
    """Store the chunk leaf of ``(lo, hi]``, in the transaction of the chunk that booked its
    postings: ``items`` are the postings' preimages by account id (:func:`preimages`, or the
    chunk statement's own ``string_agg``), ``total`` their grains. A chunk that booked nothing
    has no leaf. The postings and their leaf commit together, or neither does."""
    if not items:
        return
    RunStatementChunk.objects.create(
        run_id=run.pk, lo=lo, hi=hi, count=len(items), total=total, root=preimages_root(items).hex()
    )


def stored_chunk_leaves(run: Run) -> list[ChunkLeaf]:
    """The chunk leaves the run's hash step stored, by key."""
    rows = RunStatementChunk.objects.filter(run_id=run.pk).order_by("lo")
    return [ChunkLeaf(r.lo, r.hi, r.count, r.total, r.root) for r in rows]


def _run_leaves(run: Run, sql_leaves: bool) -> Iterator[tuple[int, int, bytes]]:
    """``(account_id, grains moved, leaf hash)`` of every wallet posting of the run, by id."""
    sign, after = SIGN[run.kind], 0
    in_sql = sql_leaves and connection.vendor == "postgresql"
    while True:
        with connection.cursor() as cursor:
            if in_sql:
                cursor.execute(_BATCH_HASHED_PG, [sign, run.pk, after, BATCH])
            else:
                cursor.execute(_BATCH, [run.pk, after, BATCH])
            rows = cursor.fetchall()
        for row in rows:
            account_id, amount = int(row[0]), sign * int(row[1])
            yield account_id, amount, bytes(row[2]) if in_sql else leaf_hash(account_id, amount)
        if len(rows) < BATCH:
            return
        after = int(rows[-1][0])


def run_chunk_leaves(run: Run, *, sql_leaves: bool | None = None) -> Iterator[ChunkLeaf]:
    """The chunk leaves of the run's tree, recomputed from its postings (a chunk with none is
    left out), streamed: one batch of postings and one chunk's O(log n) stack in memory."""
    in_sql = LEAVES_IN_SQL if sql_leaves is None else sql_leaves
    current: tuple[int, int] | None = None
    tree, total = StreamingRoot(), 0
    for account_id, amount, leaf in _run_leaves(run, in_sql):
        key = chunk_range_of(run, account_id)
        if key != current:
            if current is not None:
                yield ChunkLeaf(*current, tree.count, total, tree.root().hex())
            current, tree, total = key, StreamingRoot(), 0
        tree.add(leaf)
        total += amount
    if current is not None:
        yield ChunkLeaf(*current, tree.count, total, tree.root().hex())


def top_root(chunks: list[ChunkLeaf]) -> str:
    return merkle_root(c.leaf() for c in chunks).hex()


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _returned(run: Run) -> int:
    found = SakaEntry.objects.filter(run_id=run.pk, reason="pot_return").aggregate(x=Sum("amount"))
    return int(found["x"] or 0)


def run_figures(run: Run) -> dict[str, Any]:
    """The statement's figures of a finished run, from its row (and its ``pot_return``)."""
    common: dict[str, Any] = {
        "run_id": run.pk,
        "kind": run.kind,
        "period": run.period,
        "as_of": _iso(run.as_of),
        "outcome": run.outcome,
        "chunk_size": run.chunk_size,
        "max_id": run.max_id,
    }
    if run.kind == RunKind.COMPOST:
        rule = CompostRule.of_run(run.parameters)
        return common | {
            "rate": str(rule.rate),
            "min_balance": rule.min_balance,
            "min_amount": rule.min_amount,
            "inactivity_days": rule.inactivity_days,
            "cutoff": _iso(rule.cutoff(run.as_of)),
            "wallets_composted": run.wallets_done,
            "total": run.amount_done,
            "eligible_wallets": run.eligible_wallets,
        }
    red = RedistributionRule.of_run(run.parameters)
    pot, counted, share = (
        int(run.pot or 0),
        int(run.eligible_wallets or 0),
        int(run.per_wallet or 0),
    )
    return common | {
        "silo_before": int(run.silo_before or 0),
        "rate": str(red.rate),
        "pot": pot,
        "eligibility": {
            "min_harvested": red.min_harvested,
            "active_days": red.active_days,
            "as_of": _iso(run.as_of),
            "active_cutoff": _iso(red.active_cutoff(run.as_of)),
        },
        "members_counted": counted,
        "share": share,
        "credited": run.wallets_done,
        "credited_total": run.amount_done,
        "remainder": pot - share * counted,
        "returned": _returned(run),
        "silo_after": run.silo_after,
    }


def statement_body(run: Run, *, seq: int, chunks: list[ChunkLeaf]) -> dict[str, Any]:
    """The hashed body: the figures, ``seq``, the root and the leaves counted."""
    return run_figures(run) | {
        "seq": seq,
        "merkle_root": top_root(chunks),
        "leaves": sum(c.count for c in chunks),
        "chunks": len(chunks),
    }


def run_statement_publish(run: Run) -> RunStatement | None:
    """Publish the statement of the finished live ``run`` (``None`` for a dry run), once:
    inside the run's finishing transaction, the chain's tail locked after the chunk leaves
    are read. A run with a statement already returns it."""
    require_atomic()
    if run.dry_run:
        return None
    existing = RunStatement.objects.filter(run_id=run.pk).first()
    if existing is not None:
        return existing
    started = time.monotonic()
    chunks = stored_chunk_leaves(run)  # hashed by the run's hash step (saka.grains.runs.statements)
    read = time.monotonic()
    lock_objects.statement_chain_lock()
    tail = RunStatement.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, prev = (int(tail[0]) + 1, str(tail[1])) if tail else (1, GENESIS)
    body = statement_body(run, seq=seq, chunks=chunks)
    statement = RunStatement.objects.create(
        seq=seq,
        run_id=run.pk,
        kind=run.kind,
        body=body,
        merkle_root=body["merkle_root"],
        prev_hash=prev,
        hash=statement_hash(prev, body),
        chunks=[c.as_list() for c in chunks],
    )
    _published(statement, read - started, time.monotonic() - started)
    return statement


def _published(statement: RunStatement, reading_s: float, total_s: float) -> None:
    logger.info(
        "run %s statement %s published: %s leaves, %s chunks, root %s (%.0f ms hashing, %.0f ms)",
        statement.run_id,
        statement.seq,
        statement.body["leaves"],
        statement.body["chunks"],
        statement.merkle_root[:12],
        reading_s * 1000,
        total_s * 1000,
        extra={
            "event": "run.statement",
            "run_id": statement.run_id,
            "seq": statement.seq,
            "leaves": statement.body["leaves"],
            "duration_ms": int(total_s * 1000),
        },
    )
