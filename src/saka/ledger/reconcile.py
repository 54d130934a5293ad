"""Reconciliation: prove the books.

Generic checks for every registered book, set-based SQL (one pass per check, any size):

- every cached balance (plus, for a rolled-up account, its pending credits not folded yet)
  equals the sum of its postings;
- pending credits exist only on accounts of the book's ``rollup_kinds``, and are credits;
- external accounts keep no cached balance (always 0);
- no negative balance where overdraft is not allowed;
- every entry has postings and sums to zero;
- no posting references a missing entry or account.

Each book adds its own invariants (counters, global identities) through ``extra_checks``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import connection

from saka.ledger.books import Book, get_books


@dataclass(frozen=True)
class Discrepancy:
    book: str
    check: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReconcileReport:
    ok: bool
    discrepancies: list[Discrepancy]
    checks: list[str]
    elapsed_ms: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "discrepancies": [asdict(d) for d in self.discrepancies],
            "checks": self.checks,
            "elapsed_ms": self.elapsed_ms,
        }


def fetch(sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def fetch_first(
    select_sql: str, params: list[Any] | tuple[Any, ...], *, order_by: str, limit: int
) -> list[tuple[Any, ...]]:
    """The first ``limit`` rows of a whole-table check, ordered by ``order_by`` (an output
    column). The check is computed whole first (a materialized CTE, planned for all its rows):
    given ``ORDER BY id LIMIT 5`` over a join to a grouped sub-select, PostgreSQL may choose a
    nested loop that re-reads the grouped rows for every account (quadratic: minutes at 100k
    accounts right after a bulk insert), instead of one hash join."""
    return fetch(
        f"WITH found AS MATERIALIZED ({select_sql}) "
        f"SELECT * FROM found ORDER BY {order_by} LIMIT %s",
        [*params, limit],
    )


def table(model: Any) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))


def _in_list(values: frozenset[str]) -> tuple[str, list[str]]:
    items = sorted(values) or [""]
    return ", ".join(["%s"] * len(items)), items


def _generic_checks(book: Book, limit: int) -> list[Discrepancy]:
    acc, ent, pst = table(book.account_model), table(book.entry_model), table(book.posting_model)
    ext_sql, ext = _in_list(book.external_kinds)
    neg_sql, neg = _in_list(book.negative_ok_kinds)
    out: list[Discrepancy] = []

    # cached + pending = postings. A rollup commits the DELETE of pending rows and the balance
    # update together, so one snapshot (PostgreSQL evaluates the statement on one) sees both
    # or neither.
    pending_join, pending = "", "0"
    if book.pending_model is not None:
        pending_join = (
            f"LEFT JOIN (SELECT account_id, SUM(amount) AS total "
            f"FROM {table(book.pending_model)} GROUP BY account_id) d ON d.account_id = a.id "
        )
        pending = "COALESCE(d.total, 0)"
    rows = fetch_first(
        f"SELECT a.id, a.kind, a.balance, COALESCE(p.total, 0) AS total, "
        f"{pending} AS pending FROM {acc} a "
        f"LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM {pst} GROUP BY account_id) p "
        f"ON p.account_id = a.id {pending_join}WHERE a.kind NOT IN ({ext_sql}) "
        f"AND a.balance + {pending} <> COALESCE(p.total, 0)",
        ext,
        order_by="id",
        limit=limit,
    )
    out += [
        Discrepancy(
            book.name,
            "balance_matches_postings",
            f"account {r[0]} ({r[1]}): cached balance {r[2]} + pending {r[4]} != postings {r[3]}",
            {
                "account_id": r[0],
                "kind": r[1],
                "balance": int(r[2]),
                **({"pending": int(r[4])} if book.pending_model is not None else {}),
                "postings": int(r[3]),
            },
        )
        for r in rows
    ]
    if book.pending_model is not None:
        roll_sql, roll = _in_list(book.rollup_kinds)
        rows = fetch(
            f"SELECT d.id, d.account_id, a.kind, d.amount FROM {table(book.pending_model)} d "
            f"LEFT JOIN {acc} a ON a.id = d.account_id "
            f"WHERE a.id IS NULL OR a.kind NOT IN ({roll_sql}) OR d.amount <= 0 "
            f"ORDER BY d.id LIMIT %s",
            [*roll, limit],
        )
        out += [
            Discrepancy(
                book.name,
                "pending_on_rollup_accounts",
                f"pending row {r[0]} ({r[3]}) on account {r[1]} ({r[2]}): only credits to "
                f"rolled-up accounts are pending",
                {"pending_id": r[0], "account_id": r[1], "kind": r[2], "amount": int(r[3])},
            )
            for r in rows
        ]
    rows = fetch(
        f"SELECT id, kind, balance FROM {acc} WHERE kind IN ({ext_sql}) AND balance <> 0 "
        f"ORDER BY id LIMIT %s",
        [*ext, limit],
    )
    out += [
        Discrepancy(
            book.name,
            "external_has_no_balance",
            f"external account {r[0]} ({r[1]}) has a cached balance {r[2]}",
            {"account_id": r[0], "kind": r[1], "balance": int(r[2])},
        )
        for r in rows
    ]
    rows = fetch(
        f"SELECT id, kind, balance FROM {acc} WHERE balance < 0 "
        f"AND kind NOT IN ({neg_sql}) AND kind NOT IN ({ext_sql}) ORDER BY id LIMIT %s",
        [*neg, *ext, limit],
    )
    out += [
        Discrepancy(
            book.name,
            "no_negative_balance",
            f"account {r[0]} ({r[1]}) is negative: {r[2]}",
            {"account_id": r[0], "kind": r[1], "balance": int(r[2])},
        )
        for r in rows
    ]
    rows = fetch(
        f"SELECT entry_id, SUM(amount) FROM {pst} GROUP BY entry_id HAVING SUM(amount) <> 0 "
        f"ORDER BY entry_id LIMIT %s",
        [limit],
    )
    out += [
        Discrepancy(
            book.name,
            "entry_sums_to_zero",
            f"entry {r[0]} sums to {r[1]}",
            {"entry_id": r[0], "sum": int(r[1])},
        )
        for r in rows
    ]
    rows = fetch(
        f"SELECT e.id FROM {ent} e WHERE NOT EXISTS "
        f"(SELECT 1 FROM {pst} p WHERE p.entry_id = e.id) ORDER BY e.id LIMIT %s",
        [limit],
    )
    out += [
        Discrepancy(
            book.name, "entry_has_postings", f"entry {r[0]} has no postings", {"entry_id": r[0]}
        )
        for r in rows
    ]
    rows = fetch(
        f"SELECT p.id, p.entry_id, p.account_id FROM {pst} p "
        f"LEFT JOIN {ent} e ON e.id = p.entry_id LEFT JOIN {acc} a ON a.id = p.account_id "
        f"WHERE e.id IS NULL OR a.id IS NULL ORDER BY p.id LIMIT %s",
        [limit],
    )
    out += [
        Discrepancy(
            book.name,
            "posting_references_exist",
            f"posting {r[0]} references a missing entry {r[1]} or account {r[2]}",
            {"posting_id": r[0], "entry_id": r[1], "account_id": r[2]},
        )
        for r in rows
    ]
    return out


GENERIC_CHECKS = [
    "balance_matches_postings",
    "pending_on_rollup_accounts",
    "external_has_no_balance",
    "no_negative_balance",
    "entry_sums_to_zero",
    "entry_has_postings",
    "posting_references_exist",
]


def reconcile(*, limit_per_check: int = 100) -> ReconcileReport:
    """Run every check of every registered book; ``ok`` is true when nothing is off."""
    started = time.monotonic()
    discrepancies: list[Discrepancy] = []
    checks: list[str] = []
    for book in get_books():
        discrepancies += _generic_checks(book, limit_per_check)
        checks += [f"{book.name}.{c}" for c in GENERIC_CHECKS]
        for check in book.extra_checks:
            discrepancies += list(check(limit_per_check))
            checks.append(f"{book.name}.{check.__name__}")
    return ReconcileReport(
        ok=not discrepancies,
        discrepancies=discrepancies,
        checks=checks,
        elapsed_ms=int((time.monotonic() - started) * 1000),
    )
