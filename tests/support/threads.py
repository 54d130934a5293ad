"""Worker threads for the concurrency tests, each on its own database connection.

A ``Worker`` connects before it waits at its optional start line (a ``threading.Barrier``), so
all workers start their work together; it can set a short ``lock_timeout`` on its connection
(a blocked statement then fails with ``LockTimeout`` instead of hanging); it keeps its result
or its exception and closes its connection when it ends. ``guard_seconds`` is a liveness
guard only: a worker still alive after it is a hang (deadlock), never a timed assertion.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection

GUARD_SECONDS = 60.0


class Worker(threading.Thread):
    """Run ``fn`` in a thread on its own connection; keep its result or its exception."""

    def __init__(
        self,
        fn: Callable[[], Any],
        *,
        name: str | None = None,
        barrier: threading.Barrier | None = None,
        lock_timeout_ms: int | None = None,
        guard_seconds: float = GUARD_SECONDS,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.fn = fn
        self.barrier = barrier
        self.lock_timeout_ms = lock_timeout_ms
        self.guard_seconds = guard_seconds
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with connection.cursor() as cursor:  # connect before the start line
                if self.lock_timeout_ms is not None:
                    cursor.execute(
                        "SELECT set_config('lock_timeout', %s, false)",
                        [f"{self.lock_timeout_ms}ms"],
                    )
                else:
                    cursor.execute("SELECT 1")
            if self.barrier is not None:
                self.barrier.wait()
            self.result = self.fn()
        except BaseException as exc:
            self.error = exc
        finally:
            connection.close()

    @property
    def outcome(self) -> Any:
        """The exception the worker raised, or else its result."""
        return self.error if self.error is not None else self.result


def join(workers: list[Worker]) -> None:
    """Join every worker within its guard; fail naming the ones that hang."""
    for w in workers:
        w.join(w.guard_seconds)
    alive = [w.name for w in workers if w.is_alive()]
    assert not alive, f"threads hang (deadlock?): {alive}"


def run_all(workers: list[Worker]) -> list[Worker]:
    """Start every worker, then join them all."""
    for w in workers:
        w.start()
    join(workers)
    return workers


def settle(worker: Worker) -> Any:
    """Join one worker and return its result, re-raising its exception."""
    join([worker])
    if worker.error is not None:
        raise worker.error
    return worker.result
