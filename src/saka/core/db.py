"""Database plumbing every domain shares: transactions, row locks, typed lock errors.

The outermost service owns the transaction (:func:`durable`). Building blocks that must run
inside one call :func:`require_atomic`. Every row lock goes through :func:`lock_rows`: one
statement, primary-key order, bounded by PostgreSQL's ``lock_timeout`` (set per connection in
settings); a timeout or deadlock becomes :class:`~saka.core.errors.LockTimeout`
(:func:`lock_errors_typed`). Nothing here keeps state in a database session (no session
advisory lock, no plain ``SET``): everything works through PgBouncer in transaction pooling.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import OperationalError, connection, migrations, models, transaction
from django.db.models import Model, QuerySet

from saka.core.errors import LockTimeout

M = TypeVar("M", bound=Model)

# SQLSTATEs: lock_not_available, deadlock_detected, query_canceled (statement timeout)
_LOCK_SQLSTATES = {"55P03", "40P01", "57014"}


# SQLSTATE numeric_value_out_of_range (a bigint overflow)
_OUT_OF_RANGE = "22003"


def is_out_of_range(exc: BaseException) -> bool:
    """A value beyond its column's type (PostgreSQL ``22003``; SQLite: "integer overflow")."""
    cause: Any = getattr(exc, "__cause__", None)
    sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return sqlstate == _OUT_OF_RANGE or "overflow" in str(exc).lower()


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


class PostgresAddIndex(migrations.AddIndex):
    """``AddIndex`` of an index only PostgreSQL has (BRIN): the migration state has it on every
    backend (``makemigrations --check`` stays clean), the database only on PostgreSQL; SQLite
    scans its small tables without it."""

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class IdArrayField(models.Field):
    """A sorted list of ids: ``bigint[]`` on PostgreSQL (read and written by set-based SQL:
    ``array_agg``, ``= ANY``), a JSON list in a ``text`` column elsewhere. Not
    ``django.contrib.postgres``' ``ArrayField``, which exists on PostgreSQL only: the portable
    runs (SQLite) keep the same rows."""

    description = "a list of ids"

    def db_type(self, connection: Any) -> str:
        return "bigint[]" if connection.vendor == "postgresql" else "text"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> list[int] | None:
        return self.to_python(value)

    def to_python(self, value: Any) -> list[int] | None:
        if value is None or isinstance(value, list):
            return value
        return [int(i) for i in json.loads(value)]

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None:
            return None
        ids = [int(i) for i in value]
        return ids if connection.vendor == "postgresql" else json.dumps(ids)
