"""The balance CHECK constraints of every book and how a violation becomes a typed error.

Each account table carries two: ``<table>_balance_gte_0`` (no overdraft) and
``<table>_balance_lte_max`` (``balance <= MAX_BALANCE``, docs/security.md). A statement that
violates one raises ``IntegrityError``; :func:`balance_check_error` names which by the
constraint's name (PostgreSQL's diagnostics, SQLite's message), so the posting engine and the
runs' chunk statements raise :class:`BalanceLimitExceeded` or :class:`InsufficientBalance`,
never a bare database error.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError

from saka.core.errors import DomainError
from saka.core.money import MAX_BALANCE
from saka.ledger.errors import BalanceLimitExceeded, InsufficientBalance

BALANCE_MIN_SUFFIX = "_balance_gte_0"
BALANCE_MAX_SUFFIX = "_balance_lte_max"


def constraint_name(exc: BaseException) -> str:
    """The name of the constraint ``exc`` violated ("" when the driver does not say)."""
    cause: Any = getattr(exc, "__cause__", None)
    diag = getattr(cause, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return str(name)
    text = str(exc)  # SQLite: "CHECK constraint failed: <name>"
    marker = "CHECK constraint failed: "
    return text.split(marker, 1)[1].strip() if marker in text else ""


def is_balance_limit(exc: BaseException) -> bool:
    return constraint_name(exc).endswith(BALANCE_MAX_SUFFIX)


def is_balance_check(exc: BaseException) -> bool:
    """A violation of either balance CHECK (not, say, a unique index)."""
    return constraint_name(exc).endswith((BALANCE_MIN_SUFFIX, BALANCE_MAX_SUFFIX))


def balance_check_error(exc: IntegrityError, **data: Any) -> DomainError:
    """The typed error of a balance CHECK violation: above the ceiling, or (any other
    constraint of a balance update) too low."""
    if is_balance_limit(exc):
        return BalanceLimitExceeded(maximum=MAX_BALANCE, **data)
    return InsufficientBalance(**data)
