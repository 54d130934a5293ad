"""Booking: the one way value moves.

:func:`entry_post` writes an entry, its postings, and applies each non-external account's
delta with one atomic ``UPDATE ... SET balance = balance + delta`` (plus any counters the
domain wants changed in the same statement). It never reads a balance to write it back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError
from django.db.models import F, Model

from saka.core.db import require_atomic
from saka.ledger.books import Book
from saka.ledger.errors import InsufficientBalance, UnbalancedEntry


def entry_post(
    *,
    book: Book,
    entry: Model,
    postings: Sequence[tuple[int, int]],
    external_account_ids: frozenset[int] = frozenset(),
    account_updates: Mapping[int, Mapping[str, Any]] | None = None,
) -> Model:
    """Book ``entry`` (unsaved) with ``postings`` as ``(account_id, signed_amount)`` pairs.

    ``external_account_ids`` names the postings' accounts that keep no cached balance.
    ``account_updates`` adds column updates (``F()`` expressions) to an account's balance
    update so each account is written once. Raises :class:`UnbalancedEntry` when postings do
    not sum to zero and :class:`InsufficientBalance` when a CHECK constraint refuses a balance.
    """
    require_atomic()
    if not postings or sum(amount for _, amount in postings) != 0:
        raise UnbalancedEntry(postings=[list(p) for p in postings])
    if any(amount == 0 for _, amount in postings):
        raise UnbalancedEntry("A posting cannot be zero.")
    entry.save(force_insert=True)
    posting_model = book.posting_model
    posting_model.objects.bulk_create(  # type: ignore[attr-defined]
        [posting_model(entry_id=entry.pk, account_id=acc, amount=amt) for acc, amt in postings]
    )
    deltas: dict[int, int] = defaultdict(int)
    for account_id, amount in postings:
        if account_id not in external_account_ids:
            deltas[account_id] += amount
    updates = dict(account_updates or {})
    try:
        # The transaction is rolled back by the caller's atomic block on any error here.
        for account_id in sorted(set(deltas) | set(updates)):
            fields: dict[str, Any] = dict(updates.get(account_id, {}))
            if deltas.get(account_id):
                fields["balance"] = F("balance") + deltas[account_id]
            if fields:
                book.account_model.objects.filter(pk=account_id).update(**fields)  # type: ignore[attr-defined]
    except IntegrityError as exc:
        raise InsufficientBalance() from exc
    return entry
