"""A tiny run kind over the SAKA run tables, for the engine tests (no new model).

:class:`Tiny` holds a :class:`~saka.engine.spec.RunSpec` on ``Run`` and ``RunChunk`` whose
steps book nothing: a chunked step ``count`` (its work only marks the chunk done, after a
test's own ``chunk_work`` if it set one) and a single step ``close``. It tallies what each
step's work did: ``calls`` counts every call, ``committed`` the calls whose transaction
committed (``transaction.on_commit``: only in tests with real transactions), the finish
included. ``Tiny.open(n)`` opens a live run of ``n`` chunks of ``SIZE`` keys.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.db import transaction

from saka.engine import lifecycle
from saka.engine.chunks import chunk_done
from saka.engine.spec import Chunked, RunSpec, Single
from saka.grains.models import Run, RunChunk, RunKind, RunStatus, RunTrigger
from tests.support.clock import A

STEP = 0  # the chunk rows' step of ``count``
SIZE = 10  # each chunk is (10 k, 10 (k + 1)]


class Tiny:
    def __init__(self, kind: str = RunKind.COMPOST) -> None:
        self.kind = kind
        self.lock = threading.Lock()
        self.calls: Counter[Any] = Counter()  # every call of a step's work
        self.committed: Counter[Any] = Counter()  # the calls whose transaction committed
        self.chunk_work: Callable[[Any, int, int, str], None] | None = None  # a test's own
        self.spec = RunSpec(
            name=f"tiny-{kind}",
            run_model=Run,
            chunk_model=RunChunk,
            steps=[
                Chunked("count", STEP, self._ranges, self._count),
                Single("close", self._close),
            ],
            outcome=lambda run: "completed",
            on_finish=self._finished,
            live={"kind": kind, "dry_run": False},
        )

    @staticmethod
    def _ranges(run: Any) -> list[tuple[int, int]]:
        return [
            (lo, min(lo + run.chunk_size, run.max_id))
            for lo in range(0, run.max_id, run.chunk_size)
        ]

    def _tally(self, key: Any) -> None:
        with self.lock:
            self.calls[key] += 1

        def committed() -> None:
            with self.lock:
                self.committed[key] += 1

        transaction.on_commit(committed)

    def _count(self, run: Any, lo: int, hi: int, worker: str) -> None:
        self._tally(("count", lo))
        if self.chunk_work is not None:
            self.chunk_work(run, lo, hi, worker)
        chunk_done(self.spec, run.pk, STEP, lo, worker)

    def _close(self, run: Any) -> None:
        self._tally("close")

    def _finished(self, run: Any) -> None:
        self._tally("finish")

    def open(self, chunks: int, *, period: str = "tiny-1", **fields: Any) -> Run:
        """A live run of ``chunks`` chunks of ``SIZE`` keys, opened by the engine (queued, its
        chunks planned)."""

        def create() -> Run:
            return Run.objects.create(
                kind=self.kind,
                period=period,
                as_of=A,
                trigger=RunTrigger.PYTHON,
                chunk_size=SIZE,
                max_id=chunks * SIZE,
                status=RunStatus.QUEUED,
                **fields,
            )

        run, created = lifecycle.open_run(
            self.spec,
            find=lambda: Run.objects.filter(kind=self.kind, period=period, dry_run=False).first(),
            create=create,
        )
        assert created
        return run
