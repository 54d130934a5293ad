"""Helpers of the EUR concurrency tests (PostgreSQL): ``JOIN_SECONDS``, a liveness guard only;
waiting until other backends wait on a row lock; pausing a booking step inside its open
transaction in the thread named ``paused``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

JOIN_SECONDS = 90


def wait_for_lock_waiters(count: int = 1) -> None:
    """Wait until ``count`` other backends of this database wait on a row lock."""
    deadline = time.monotonic() + JOIN_SECONDS
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] >= count:
                return
        time.sleep(0.005)
    raise AssertionError("nobody waits on the lock")


@contextmanager
def paused(
    monkeypatch: Any, module: Any, name: str
) -> Iterator[tuple[threading.Event, threading.Event]]:
    """Make ``module.name`` (a booking step) stop after it ran, with its transaction still
    open, in the thread named ``paused``: ``(booked, release)`` events."""
    booked, release = threading.Event(), threading.Event()
    real = getattr(module, name)

    def step(**kwargs: Any) -> Any:
        out = real(**kwargs)
        if threading.current_thread().name == "paused":
            booked.set()
            release.wait(JOIN_SECONDS)
        return out

    monkeypatch.setattr(module, name, step)
    try:
        yield booked, release
    finally:
        release.set()
