"""Database plumbing every domain shares: transactions, row locks, advisory leases.

The outermost service owns the transaction (:func:`durable`). Building blocks that must run
inside one call :func:`require_atomic`. Every row lock goes through :func:`lock_rows`: one
statement, primary-key order, bounded by PostgreSQL's ``lock_timeout`` (set per connection in
settings); a timeout or deadlock becomes :class:`~saka.core.errors.LockTimeout`
(:func:`lock_errors_typed`). Cross-process "one executor at a time" leases are PostgreSQL
session advisory locks whose keys come from one registry (:class:`AdvisoryNamespace`), so two
features can never take each other's lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum
from typing import Any, TypeVar

from django.db import OperationalError, connection, transaction
from django.db.models import Model, QuerySet

from saka.core.errors import DomainError, LockTimeout

M = TypeVar("M", bound=Model)

# SQLSTATEs: lock_not_available, deadlock_detected, query_canceled (statement timeout)
_LOCK_SQLSTATES = {"55P03", "40P01", "57014"}


def is_lock_error(exc: BaseException) -> bool:
    cause: Any = getattr(exc, "__cause__", None)
    sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    if sqlstate in _LOCK_SQLSTATES:
        return True
    # SQLite: "database is locked" / "database table is locked"
    return "is locked" in str(exc)


@contextmanager
def lock_errors_typed() -> Iterator[None]:
    """A lock timeout, deadlock or statement timeout inside becomes ``LockTimeout`` (503,
    retryable); any other database error passes through unchanged."""
    try:
        yield
    except OperationalError as exc:
        if is_lock_error(exc):
            raise LockTimeout(reason=type(exc.__cause__).__name__) from exc
        raise


@contextmanager
def durable() -> Iterator[None]:
    """The outermost transaction of a service; lock failures surface as ``LockTimeout``."""
    with lock_errors_typed(), transaction.atomic(durable=True):
        yield


def require_atomic() -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("This building block must run inside a transaction.")


def lock_rows(queryset: QuerySet[M]) -> list[M]:
    """Lock the rows of ``queryset`` in primary-key order and return them."""
    require_atomic()
    with lock_errors_typed():
        return list(queryset.select_for_update().order_by("pk"))


# --- advisory leases ------------------------------------------------------------------------


class AdvisoryNamespace(IntEnum):
    """Every advisory-lock key space of the project (the high bits of the 64-bit key)."""

    GRAINS_RUN_KIND = 5211  # key: the run kind's number (one executing live run per kind)
    EURO_SETTLEMENT = 5212  # key: the campaign id (one executing settlement per campaign)


_KEY_BITS = 40


def advisory_key(namespace: AdvisoryNamespace, key: int) -> int:
    """The 64-bit advisory-lock key of ``key`` (0 <= key < 2**40) in ``namespace``."""
    if not 0 <= key < 1 << _KEY_BITS:
        raise ValueError(f"advisory key {key} out of range")
    return (int(namespace) << _KEY_BITS) | key


@contextmanager
def advisory_lease(
    namespace: AdvisoryNamespace, key: int, *, busy: Callable[[], DomainError]
) -> Iterator[None]:
    """Hold the session advisory lock of ``key`` in ``namespace`` for the block; raise
    ``busy()`` at once when another session holds it. The server releases it when the
    process dies, so a lease is never stranded. SQLite is single-writer: no lease there."""
    if connection.vendor != "postgresql":
        yield
        return
    lock_key = advisory_key(namespace, key)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_key])
        (acquired,) = cursor.fetchone()
    if not acquired:
        raise busy()
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_key])
