"""The runs' statement step: after a run's last chunked step, each chunk's wallet postings are
hashed into its subtree root (``saka.grains.run_statements``) in a chunk of its own -- short
transactions that lock no wallet, shared by the run's workers and resumable like the others
-- so that the statement published in the finishing transaction, under the run's row lock,
only folds the chunk leaves (a few hundred at a million wallets)."""

from __future__ import annotations

from saka.engine.spec import Chunked, ChunkWork, Ranges, RunSpec
from saka.grains.models import Run, RunChunkStep, RunStatementChunk
from saka.grains.run_statements import chunk_leaf
from saka.grains.runs.chunks import chunk_counts, record_chunk


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
    """The statement's hash step of a run kind, over ``ranges`` (the apply step's)."""
    return Chunked("hash", RunChunkStep.HASH, ranges, work)
