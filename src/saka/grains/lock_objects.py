"""Row locks of the SAKA book. Every lock goes through ``saka.core.db.lock_rows``."""

from __future__ import annotations

from django.db import connection

from saka.core.db import lock_errors_typed, lock_rows, require_atomic
from saka.grains.models import AccountKind, SakaAccount


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
