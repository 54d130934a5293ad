"""Posting: the one way value moves, in either currency.

:func:`entry_post` writes a balanced entry and its postings and applies each account's delta
with atomic SQL (``balance = balance + delta``); it never reads a balance to write it back.
The same engine serves a member's two-line transfer and a settlement batch of hundreds of
escrows:

- ``postings`` are ``(account_id, amount)`` or ``(account_id, amount, tag)``; the tag fills
  the book's ``posting_tag`` column (the run of a SAKA posting, the pledge whose escrow a EUR
  posting debits), which the book's partial unique indexes use to refuse a second
  application;
- ``account_updates`` changes other columns of an account (``F()`` expressions) in the same
  statement as its balance, so each account is written once;
- ``lock_accounts``: for entries whose accounts the caller has not locked (batches, deposits
  to many pockets), every account whose balance changes is locked first, in primary-key
  order, with one statement; the deltas are then applied with one set-based statement
  (``UPDATE ... FROM unnest(...)`` on PostgreSQL), whatever their number. Without it, the
  caller holds the locks that matter and the accounts are updated one by one in primary-key
  order (so two entries never wait on each other in opposite orders).

A CHECK constraint refusing a balance becomes :class:`InsufficientBalance`; postings that do
not sum to zero, a zero posting or a missing account are :class:`UnbalancedEntry`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, connection
from django.db.models import F, Model

from saka.core.db import lock_rows, require_atomic
from saka.ledger.books import Book
from saka.ledger.constraints import balance_check_error
from saka.ledger.errors import UnbalancedEntry

# (account id, signed amount) or (account id, signed amount, tag)
Posting = tuple[int, int] | tuple[int, int, int | None]


def entry_post(
    *,
    book: Book,
    entry: Model,
    postings: Sequence[Posting],
    external_account_ids: frozenset[int] = frozenset(),
    account_updates: Mapping[int, Mapping[str, Any]] | None = None,
    lock_accounts: bool = False,
) -> Model:
    """Book ``entry`` (unsaved) with ``postings``; see the module docstring.

    ``external_account_ids`` names the postings' accounts that keep no cached balance.
    """
    require_atomic()
    if not postings or sum(p[1] for p in postings) != 0:
        raise UnbalancedEntry(postings=[list(p) for p in postings[:20]])
    if any(p[1] == 0 for p in postings):
        raise UnbalancedEntry("A posting cannot be zero.")
    deltas: dict[int, int] = defaultdict(int)
    for posting in postings:
        if posting[0] not in external_account_ids:
            deltas[posting[0]] += posting[1]
    changed = {account_id: delta for account_id, delta in deltas.items() if delta}
    updates = dict(account_updates or {})
    if lock_accounts:
        locked = lock_rows(book.account_model.objects.filter(pk__in=sorted(changed)))  # type: ignore[attr-defined]
        if len(locked) != len(changed):
            raise UnbalancedEntry("A posting references a missing account.")
    entry.save(force_insert=True)
    _insert_postings(book, entry.pk, postings)
    try:
        # any error here rolls back with the caller's atomic block
        for account_id in sorted(set(updates) | (set() if lock_accounts else set(changed))):
            fields: dict[str, Any] = dict(updates.get(account_id, {}))
            if changed.get(account_id):
                fields["balance"] = F("balance") + changed[account_id]
            if fields:
                book.account_model.objects.filter(pk=account_id).update(**fields)  # type: ignore[attr-defined]
        if lock_accounts:
            _apply_deltas(book, {a: d for a, d in changed.items() if a not in updates})
    except IntegrityError as exc:  # a balance CHECK: below zero, or above MAX_BALANCE
        raise balance_check_error(exc) from exc
    return entry


def _insert_postings(book: Book, entry_id: int, postings: Sequence[Posting]) -> None:
    model: Any = book.posting_model
    rows = []
    for posting in postings:
        row = model(entry_id=entry_id, account_id=posting[0], amount=posting[1])
        if len(posting) > 2 and posting[2] is not None:
            if book.posting_tag is None:
                raise UnbalancedEntry(f"The {book.name} book's postings carry no tag.")
            setattr(row, book.posting_tag, posting[2])
        rows.append(row)
    model.objects.bulk_create(rows, batch_size=2000)


def _apply_deltas(book: Book, deltas: dict[int, int]) -> None:
    """Add each delta to its account's balance: one statement on PostgreSQL."""
    if not deltas:
        return
    ids = sorted(deltas)
    table = connection.ops.quote_name(book.account_model._meta.db_table)
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
