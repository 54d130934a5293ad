"""Row locks of the EUR book. Exclusive locks go through ``saka.core.db.lock_rows``.

Lock order (no cycle, so no deadlock between EUR operations):

    campaign (shared)  ->  pledge  ->  member wallet  ->  pocket accounts
                                   ->  accounts a batch books (escrows, wallets: one
                                       ``lock_rows`` in primary-key order)

The project and commission accounts are never locked by members nor batches: they are rolled
up (pending credits, ``saka.ledger.posting``); only their rollup locks them, in its own short
transaction.

- A member operation locks that member's wallet; pockets are changed only by holders of
  their wallet's lock (deposits, transfers, pocket edits), so the wallet lock protects the
  pockets' percentages and balances.
- Pledging and cancelling take a *shared* lock on the campaign row (``FOR SHARE``): pledges
  to one campaign never queue behind each other, and a status change (``FOR UPDATE``) waits
  for the pledges in flight, then every later pledge sees the campaign closed. So the set of
  held pledges is frozen before a settlement starts.
- Settlement batches lock their pledges (primary-key order), then the accounts they book.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from saka.core.db import lock_errors_typed, lock_rows, require_atomic
from saka.euro.models import (
    AccountKind,
    Campaign,
    CampaignStatus,
    EuroAccount,
    Pledge,
)


def wallet_lock(*, member_id: int) -> EuroAccount | None:
    """Lock the member's wallet; ``None`` when the member has none yet."""
    rows = lock_rows(EuroAccount.objects.filter(kind=AccountKind.WALLET, member_id=member_id))
    return rows[0] if rows else None


def wallet_lock_or_create(*, member_id: int) -> EuroAccount:
    """Lock the member's wallet, creating it on first use (safe under concurrency)."""
    wallet = wallet_lock(member_id=member_id)
    if wallet is None:
        require_atomic()
        EuroAccount.objects.bulk_create(
            [EuroAccount(kind=AccountKind.WALLET, member_id=member_id)], ignore_conflicts=True
        )
        wallet = wallet_lock(member_id=member_id)
    assert wallet is not None  # noqa: S101 - created just above or by a concurrent request
    return wallet


def account_lock(*, account_id: int) -> EuroAccount:
    """Lock one account (a pocket's, under its wallet's lock)."""
    (account,) = lock_rows(EuroAccount.objects.filter(pk=account_id))
    return account


def accounts_lock(*, account_ids: Iterable[int]) -> list[EuroAccount]:
    """Lock accounts in primary-key order (one statement)."""
    return lock_rows(EuroAccount.objects.filter(pk__in=sorted(set(account_ids))))


def _share_locked(sql: str, params: list[object]) -> Campaign | None:
    require_atomic()
    with lock_errors_typed():
        rows = list(Campaign.objects.raw(sql, params))
    return rows[0] if rows else None


def _share_clause() -> str:
    # SQLite has no row locks: its write transaction (BEGIN IMMEDIATE) already excludes
    # every other writer.
    return " FOR SHARE" if connection.vendor == "postgresql" else ""


def open_campaign_share_lock(*, project_id: int) -> Campaign | None:
    """The project's open campaign, locked ``FOR SHARE``; ``None`` when it has none.

    On PostgreSQL a campaign closed while we waited is re-checked and not returned.
    """
    table = connection.ops.quote_name(Campaign._meta.db_table)
    return _share_locked(
        f"SELECT * FROM {table} WHERE project_id = %s AND status = %s{_share_clause()}",
        [project_id, CampaignStatus.OPEN.value],
    )


def campaign_share_lock(*, campaign_id: int) -> Campaign | None:
    """The campaign locked ``FOR SHARE`` (its status cannot change until we commit)."""
    table = connection.ops.quote_name(Campaign._meta.db_table)
    return _share_locked(f"SELECT * FROM {table} WHERE id = %s{_share_clause()}", [campaign_id])


def campaign_lock(*, campaign_id: int) -> Campaign | None:
    """The campaign locked ``FOR UPDATE`` (to change its status); waits for pledges in flight."""
    rows = lock_rows(Campaign.objects.filter(pk=campaign_id))
    return rows[0] if rows else None


def pledges_lock(*, pledge_ids: Iterable[int]) -> list[Pledge]:
    """Lock pledges in primary-key order; the caller re-checks their status under the lock."""
    return lock_rows(Pledge.objects.filter(pk__in=sorted(set(pledge_ids))))
