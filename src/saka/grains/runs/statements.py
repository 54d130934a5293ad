"""The runs' statement leaves: each apply chunk stores its subtree's leaf in its own transaction
(``run_statements.chunk_leaf_store``, from the rows its statement returns), so the statement
published in the finishing transaction, under the run's row lock, only folds the chunk leaves
(a few hundred at a million wallets).

The hash step is what is left of the earlier design, where every chunk's postings were read
again and hashed in a step of their own after the last apply chunk: it now plans only the apply
chunks that booked postings without storing their leaf -- none for a run done by this version;
those of a run begun by an earlier one and finished by this one. Short transactions that lock no
wallet, shared by the run's workers and resumable like the others."""

from __future__ import annotations

from saka.engine.spec import Chunked, ChunkWork, Ranges, RunSpec
from saka.grains.models import Run, RunChunk, RunChunkStep, RunStatementChunk
from saka.grains.run_statements import chunk_leaf
from saka.grains.runs.chunks import chunk_counts, record_chunk


def missing_leaf_ranges(run: Run) -> list[tuple[int, int]]:
    """The apply chunks of ``run`` that booked postings but stored no statement leaf, by key."""
    stored = set(RunStatementChunk.objects.filter(run_id=run.pk).values_list("lo", flat=True))
    booked = (
        RunChunk.objects.filter(run_id=run.pk, step=RunChunkStep.APPLY, wallets__gt=0)
        .order_by("lo")
        .values_list("lo", "hi")
    )
    return [(lo, hi) for lo, hi in booked if lo not in stored]


def statement_chunk_hash(spec: RunSpec, run: Run, lo: int, hi: int, worker: str) -> dict[str, int]:
    """Hash the run's postings in ``(lo, hi]`` (at most ``chunk_size``), store the chunk leaf
    (none for a chunk without postings) and mark the chunk done, in the chunk's transaction."""
    found = chunk_leaf(run, lo, hi)
    if found is None:
        record_chunk(spec, run, RunChunkStep.HASH, lo, hi, worker, 0, 0)
        return chunk_counts(0, 0)
    RunStatementChunk.objects.create(
        run_id=run.pk, lo=lo, hi=hi, count=found.count, total=found.total, root=found.root
    )
    return record_chunk(spec, run, RunChunkStep.HASH, lo, hi, worker, found.count, found.total)


def hash_step(ranges: Ranges, work: ChunkWork) -> Chunked:
    """The statement's hash step of a run kind, over ``ranges`` (:func:`missing_leaf_ranges`)."""
    return Chunked("hash", RunChunkStep.HASH, ranges, work)
