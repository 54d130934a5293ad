"""Fixtures of the multi-process tests: ``workers(count, **options)`` starts real Celery worker
processes on the pytest database (or through a PgBouncer), ``pgbouncer(**options)`` a PgBouncer
in front of it; both are stopped at the end of the test, whatever happened.

Every test here is ``django_db(transaction=True)``: the worker processes see only what the test
committed. The population is seeded with ``saka_seed`` (set-based SQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.celery_workers import Workers, flush_broker
from tests.support.pgbouncer import PgBouncer


@pytest.fixture
def workers() -> Iterator[Callable[..., Workers]]:
    started: list[Workers] = []

    def start(count: int, **options: Any) -> Workers:
        pool = Workers(count, **options)
        started.append(pool)
        try:
            return pool.start()
        except BaseException:
            pool.stop()
            raise

    yield start
    for pool in started:
        pool.stop()
    flush_broker()


@pytest.fixture
def pgbouncer() -> Iterator[Callable[..., PgBouncer]]:
    started: list[PgBouncer] = []

    def start(**options: Any) -> PgBouncer:
        bouncer = PgBouncer(**options)
        started.append(bouncer)
        return bouncer.start()

    yield start
    for bouncer in started:
        bouncer.stop()
