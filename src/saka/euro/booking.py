"""Booking entries that touch many accounts at once: deposits (up to 100 pockets) and pledge
exits (settlement batches, cancellations, refunds).

Same contract as :func:`saka.ledger.posting.entry_post` (balanced, no zero posting,
balances changed only by atomic SQL, a CHECK violation becomes ``InsufficientBalance``),
plus:

- each posting may carry the pledge whose escrow it debits (``EuroPosting.pledge_id``; a
  partial unique index makes a second debit of one pledge's escrow impossible);
- every account whose balance changes is locked first, in primary-key order, with one
  ``lock_rows`` statement (so a batch never deadlocks with a member operation);
- the balances change in one set-based ``UPDATE ... FROM unnest(...)`` on PostgreSQL (one
  statement per batch instead of one per escrow); SQLite runs the same updates one by one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from django.db import IntegrityError, connection

from saka.core.db import require_atomic
from saka.euro.lock_objects import accounts_lock
from saka.euro.models import EuroAccount, EuroEntry, EuroPosting
from saka.ledger.errors import InsufficientBalance, UnbalancedEntry

Line = tuple[int, int, int | None]  # (account_id, signed amount, pledge_id)


def entry_post_lines(
    *,
    entry: EuroEntry,
    lines: Sequence[Line],
    external_account_ids: frozenset[int] = frozenset(),
) -> EuroEntry:
    """Book ``entry`` (unsaved) with ``lines``; see the module docstring."""
    require_atomic()
    if not lines or sum(amount for _, amount, _ in lines) != 0:
        raise UnbalancedEntry(postings=[list(line) for line in lines[:20]])
    if any(amount == 0 for _, amount, _ in lines):
        raise UnbalancedEntry("A posting cannot be zero.")
    deltas: dict[int, int] = defaultdict(int)
    for account_id, amount, _ in lines:
        if account_id not in external_account_ids:
            deltas[account_id] += amount
    changed = {acc: delta for acc, delta in deltas.items() if delta}
    if len(accounts_lock(account_ids=changed)) != len(changed):
        raise UnbalancedEntry("A posting references a missing account.")
    entry.save(force_insert=True)
    EuroPosting.objects.bulk_create(
        [
            EuroPosting(entry_id=entry.pk, account_id=acc, amount=amount, pledge_id=pledge)
            for acc, amount, pledge in lines
        ],
        batch_size=2000,
    )
    try:
        _apply(changed)
    except IntegrityError as exc:
        raise InsufficientBalance() from exc
    return entry


def _apply(deltas: dict[int, int]) -> None:
    if not deltas:
        return
    ids = sorted(deltas)
    table = connection.ops.quote_name(EuroAccount._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} AS a SET balance = a.balance + d.delta "
                f"FROM unnest(%s::bigint[], %s::bigint[]) AS d(id, delta) WHERE a.id = d.id",
                [ids, [deltas[i] for i in ids]],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET balance = balance + %s WHERE id = %s",
                [(deltas[i], i) for i in ids],
            )
