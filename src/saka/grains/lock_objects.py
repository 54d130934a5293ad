"""Row locks of the SAKA book. Every row lock goes through ``saka.core.db.lock_rows``; the
season and policy writers take a table lock each (:func:`season_table_lock`,
:func:`policy_lock`), the run statements' chain a transaction-scoped advisory lock
(:func:`statement_chain_lock`)."""

from __future__ import annotations

from django.db import connection

from saka.core.db import lock_errors_typed, lock_rows, require_atomic
from saka.grains.models import AccountKind, PolicyVersion, SakaAccount


def wallet_lock(*, member_id: int) -> SakaAccount | None:
    """Lock the member's wallet; ``None`` when the member has none yet."""
    rows = lock_rows(SakaAccount.objects.filter(kind=AccountKind.WALLET, member_id=member_id))
    return rows[0] if rows else None


def wallet_lock_or_create(*, member_id: int) -> SakaAccount:
    """Lock the member's wallet, creating it on first use (safe under concurrency)."""
    wallet = wallet_lock(member_id=member_id)
    if wallet is None:
        require_atomic()
        SakaAccount.objects.bulk_create(
            [SakaAccount(kind=AccountKind.WALLET, member_id=member_id)], ignore_conflicts=True
        )
        wallet = wallet_lock(member_id=member_id)
    assert wallet is not None  # noqa: S101 - created just above or by a concurrent request
    return wallet


def season_table_lock() -> None:
    """Serialise the writers of seasons (create, activate, deactivate) for the transaction:
    an overlap or "one active" check then sees every committed season. On PostgreSQL a
    ``SHARE ROW EXCLUSIVE`` lock of ``grains_season`` (readers and runs linking to a season
    are not blocked; bounded by ``lock_timeout``); SQLite serialises writers already."""
    require_atomic()
    if connection.vendor != "postgresql":
        return
    with lock_errors_typed(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE grains_season IN SHARE ROW EXCLUSIVE MODE")


def policy_lock() -> None:
    """Serialise parameter changes: a table lock on the versions that blocks other changes (and
    nothing else: runs and readers take ACCESS SHARE), held to the end of the transaction and
    bounded by ``lock_timeout``. SQLite serialises writers already."""
    require_atomic()
    if connection.vendor != "postgresql":
        return
    with lock_errors_typed(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {PolicyVersion._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")


# pg_advisory_xact_lock key of the run statements' chain ("SAKA" "STMT" in ASCII)
STATEMENT_CHAIN_KEY = 0x53414B4153544D54


def statement_chain_lock() -> None:
    """Serialise appending to the run statements' chain until this transaction ends (a
    transaction-scoped advisory lock on PostgreSQL, under ``lock_timeout``; SQLite serialises
    writers itself)."""
    require_atomic()
    if connection.vendor != "postgresql":
        return
    with lock_errors_typed(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [STATEMENT_CHAIN_KEY])
