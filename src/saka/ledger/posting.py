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

- ``rollup_account_ids``: the postings' accounts of the book's ``rollup_kinds`` (shared system
  accounts: the platform's commission, project accounts). Their credits are appended to the
  book's ``pending_model`` (one small row each) instead of updating the account row, so a
  member's deposit with a tip and a settlement chunk crediting the same project never queue
  on one row; those accounts are never locked here. :func:`accounts_rollup` (a beat task, the
  end of each settlement) folds the pending rows into the cached balance with
  ``DELETE ... RETURNING``: each row is folded exactly once, whatever rollups run at the same
  time and whatever postings are still uncommitted (they are invisible to the ``DELETE`` and
  wait for the next rollup; no id watermark, ids commit out of order). Their balance as read
  is cached + pending (:func:`account_balances`); reconcile proves cached + pending = Σ
  postings. They take credits only (a debit would need the account's true balance under its
  lock): a net debit is refused, so cached >= 0 and pending > 0 keep "never negative".

A CHECK constraint refusing a balance becomes :class:`InsufficientBalance`; postings that do
not sum to zero, a zero posting or a missing account are :class:`UnbalancedEntry`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import IntegrityError, connection
from django.db.models import F, Model, Sum

from saka.core.db import durable, lock_errors_typed, lock_rows, require_atomic
from saka.core.money import MAX_BALANCE
from saka.ledger.books import Book
from saka.ledger.constraints import balance_check_error
from saka.ledger.errors import BalanceLimitExceeded, UnbalancedEntry

# (account id, signed amount) or (account id, signed amount, tag)
Posting = tuple[int, int] | tuple[int, int, int | None]


def entry_post(
    *,
    book: Book,
    entry: Model,
    postings: Sequence[Posting],
    external_account_ids: frozenset[int] = frozenset(),
    rollup_account_ids: frozenset[int] = frozenset(),
    account_updates: Mapping[int, Mapping[str, Any]] | None = None,
    lock_accounts: bool = False,
) -> Model:
    """Book ``entry`` (unsaved) with ``postings``; see the module docstring.

    ``external_account_ids`` names the postings' accounts that keep no cached balance;
    ``rollup_account_ids`` those of the book's ``rollup_kinds`` (credited through pending rows).
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
    updates = dict(account_updates or {})
    pending = {a: d for a, d in deltas.items() if d and a in rollup_account_ids}
    if pending and book.pending_model is None:
        raise UnbalancedEntry(f"The {book.name} book rolls up no account.")
    if any(d < 0 for d in pending.values()) or set(updates) & set(pending):
        raise UnbalancedEntry(
            "A rolled-up account only takes credits.", account_ids=sorted(pending)
        )
    changed = {a: d for a, d in deltas.items() if d and a not in rollup_account_ids}
    if lock_accounts:
        locked = lock_rows(book.account_model.objects.filter(pk__in=sorted(changed)))  # type: ignore[attr-defined]
        if len(locked) != len(changed):
            raise UnbalancedEntry("A posting references a missing account.")
    entry.save(force_insert=True)
    _insert_postings(book, entry.pk, postings)
    if pending:
        _insert_pending(book, pending)
        _check_rollup_ceiling(book, pending)
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


def _check_rollup_ceiling(book: Book, pending: Mapping[int, int]) -> None:
    """A rolled-up account's row is not written, so its ``balance <= MAX_BALANCE`` CHECK
    cannot refuse a credit: read cached + pending (this entry's rows included) instead.
    Unlocked, so concurrent credits could pass the ceiling together by at most their own sum
    (each is at most ``MAX_AMOUNT``, 10^4 times below the ceiling); the rollup's CHECK would
    then refuse to fold that account and ``reconcile`` would still balance (docs/ledger.md)."""
    balances = account_balances(book=book, account_ids=pending)
    over = sorted(a for a, balance in balances.items() if balance > MAX_BALANCE)
    if over:
        raise BalanceLimitExceeded(account_ids=over, maximum=MAX_BALANCE)


def _insert_pending(book: Book, pending: Mapping[int, int]) -> None:
    model: Any = book.pending_model
    model.objects.bulk_create(
        [model(account_id=a, amount=pending[a]) for a in sorted(pending)], batch_size=2000
    )


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


# --- rolled-up accounts: the fold and the reads ---------------------------------------------


def pending_fold(
    *,
    pending_model: type[Model],
    target_model: type[Model],
    key: str,
    sums: Mapping[str, str],
    target_ids: Iterable[int] | None = None,
) -> int:
    """Fold the rows of ``pending_model`` into ``target_model`` (building block: inside the
    caller's transaction); returns how many pending rows were folded.

    ``key`` is the pending column naming the target row's id; ``sums`` maps each target
    column to the pending column added to it. The target rows (all those with pending rows,
    or ``target_ids``) are locked first (``FOR NO KEY UPDATE``), in primary-key order (two
    folds never deadlock);
    then one ``DELETE ... RETURNING`` takes the pending rows it can see -- a row is deleted
    by one transaction only, so it is added once, and rows of uncommitted postings are
    invisible to it and left for the next fold.
    """
    require_atomic()
    pend = connection.ops.quote_name(pending_model._meta.db_table)
    tgt = connection.ops.quote_name(target_model._meta.db_table)
    qn = connection.ops.quote_name
    if target_ids is None:
        ids = sorted(
            set(pending_model.objects.values_list(key, flat=True).distinct())  # type: ignore[attr-defined]
        )
    else:
        ids = sorted(set(target_ids))
    if not ids:
        return 0
    # FOR NO KEY UPDATE: what the UPDATE below takes anyway; it does not wait for the key-share
    # locks that inserts referencing the row hold (a boost's entry referencing its project)
    with lock_errors_typed():
        locked = list(
            target_model.objects.filter(pk__in=ids)  # type: ignore[attr-defined]
            .select_for_update(no_key=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    if not locked:
        return 0
    cols = list(sums.items())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH d AS (DELETE FROM {pend} WHERE {qn(key)} = ANY(%s) "
                f"RETURNING {qn(key)} AS k, {', '.join(qn(p) for _, p in cols)}), "
                f"s AS (SELECT k, {', '.join(f'SUM({qn(p)}) AS {qn(p)}' for _, p in cols)} "
                f"FROM d GROUP BY k), "
                f"u AS (UPDATE {tgt} AS t SET "
                f"{', '.join(f'{qn(t)} = t.{qn(t)} + s.{qn(p)}' for t, p in cols)} "
                f"FROM s WHERE t.id = s.k RETURNING t.id) "
                f"SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM u)",
                [locked],
            )
            folded, _ = cursor.fetchone()
            return int(folded)
        # SQLite: one writer at a time (BEGIN IMMEDIATE), DELETE ... RETURNING then the sums
        marks = ", ".join(["%s"] * len(locked))
        cursor.execute(
            f"DELETE FROM {pend} WHERE {qn(key)} IN ({marks}) "
            f"RETURNING {qn(key)}, {', '.join(qn(p) for _, p in cols)}",
            locked,
        )
        rows = cursor.fetchall()
        totals: dict[int, list[int]] = defaultdict(lambda: [0] * len(cols))
        for row in rows:
            for i in range(len(cols)):
                totals[int(row[0])][i] += int(row[1 + i])
        for target_id, values in sorted(totals.items()):
            cursor.execute(
                f"UPDATE {tgt} SET {', '.join(f'{qn(t)} = {qn(t)} + %s' for t, _ in cols)} "
                f"WHERE id = %s",
                [*values, target_id],
            )
        return len(rows)


def accounts_rollup(*, book: Book, account_ids: Iterable[int] | None = None) -> int:
    """Fold the book's pending credits into the cached balances of its rolled-up accounts (all
    of them, or ``account_ids``), in its own short transaction; returns the rows folded.
    Run by the ``ledger_rollup`` beat task and after each settlement; safe at any time, from
    any number of processes. Raises ``LockTimeout`` (another rollup of those accounts holds
    them; retry)."""
    if book.pending_model is None:
        return 0
    with durable():
        return pending_fold(
            pending_model=book.pending_model,
            target_model=book.account_model,
            key="account_id",
            sums={"balance": "amount"},
            target_ids=account_ids,
        )


def account_balances(*, book: Book, account_ids: Iterable[int]) -> dict[int, int]:
    """The balances of accounts as a member or staff should read them: the cached balance
    plus, for rolled-up accounts, the pending credits not folded yet (no lock)."""
    ids = sorted(set(account_ids))
    out = {
        int(pk): int(balance)
        for pk, balance in book.account_model.objects.filter(pk__in=ids).values_list(  # type: ignore[attr-defined]
            "pk", "balance"
        )
    }
    if book.pending_model is not None and out:
        pending = (
            book.pending_model.objects.filter(account_id__in=list(out))  # type: ignore[attr-defined]
            .values("account_id")
            .annotate(total=Sum("amount"))
            .values_list("account_id", "total")
        )
        for pk, total in pending:
            out[int(pk)] += int(total)
    return out
