"""What a run kind gives the engine: its models, its steps and its outcome."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from saka.engine.models import BatchChunk, BatchRun

# A chunk's work: (run, lo, hi, worker) inside the chunk's transaction, after the engine locked
# the chunk row and saw it pending. It must mark the chunk done in that transaction
# (``saka.engine.chunks.chunk_done`` or the same UPDATE inside its own statement). It may
# return what it did (``{"wallets": 12, "amount": 340}``): the chunk's log line carries it.
ChunkCounts = Mapping[str, int]
ChunkWork = Callable[[Any, int, int, str], ChunkCounts | None]
# The key ranges of a chunked step, computed once when the step begins (under the run's lock).
Ranges = Callable[[Any], Sequence[tuple[int, int]]]
# A single step (or the finish hook): inside a transaction that holds the run's row lock.
SingleWork = Callable[[Any], None]


@dataclass(frozen=True)
class Chunked:
    """A step done chunk by chunk, in any order, by any number of workers."""

    name: str
    step: int  # the chunk rows' ``step`` value
    ranges: Ranges
    work: ChunkWork


@dataclass(frozen=True)
class Single:
    """A step done once, by one worker, in one transaction holding the run's row lock."""

    name: str
    work: SingleWork


Step = Chunked | Single


@dataclass(frozen=True)
class RunSpec:
    """A run kind. ``steps`` is the same sequence for every run of the kind (the run's
    ``phase`` indexes it); ``outcome`` names how a finished run ended (computed under the
    run's lock when the last step is done); ``on_finish`` runs in that transaction too;
    ``counts`` gives the finished run's totals for its log line."""

    name: str
    run_model: type[BatchRun]
    chunk_model: type[BatchChunk]
    steps: Sequence[Step]
    outcome: Callable[[Any], str]
    on_finish: SingleWork | None = None
    live: dict[str, Any] = field(default_factory=dict)  # filter of the runs that book (not dry)
    counts: Callable[[Any], ChunkCounts] | None = None

    def chunked(self, step: int) -> Chunked:
        for s in self.steps:
            if isinstance(s, Chunked) and s.step == step:
                return s
        raise KeyError(step)
