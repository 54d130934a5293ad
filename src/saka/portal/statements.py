"""A member's statement in each book: lines newest first, read page by page with a keyset on
the posting id (``before``: the lines older than that posting), and the CSV export's rows.

The histories are the books' selectors (``wallet_history``), the sentences and calculations
their ``postings_explained``: a page costs the history's own queries, one for the page's
postings and the explanation's (constant in the page size). The CSV export reads the same
keyset in chunks, so its memory stays flat however long the history.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from saka.core.money import format_cents
from saka.euro import selectors as euro_selectors
from saka.euro import statements as euro_statements
from saka.grains import selectors as grains_selectors
from saka.grains import statements as grains_statements
from saka.ledger.statements import Explained

PAGE_SIZE = 50
CSV_CHUNK = 500
ID_MAX = 2**63 - 1


@dataclass(frozen=True)
class StatementLine:
    """One posting as the member reads it: ``detail`` is the SAKA entry's reason or the EUR
    account (``main`` or the pocket's name); ``amount`` signed, in grains or cents."""

    posting_id: int
    created_at: datetime
    kind: str
    detail: str
    amount: int
    amount_text: str
    explanation: str
    calculation: dict[str, Any] | None


@dataclass(frozen=True)
class Book:
    """What differs between the two statements: where the lines come from, how they are
    explained, and how an amount and a line's detail read."""

    code: str  # "saka" or "eur": the URLs and the file names
    title: str
    unit: str
    detail_header: str
    amount_header: str
    history: Callable[..., QuerySet[Any]]
    explain: Callable[..., list[Explained]]
    detail: Callable[[Any], str]
    amount_text: Callable[[int], str]


def _eur_account(posting: Any) -> str:
    account = posting.account
    pocket = getattr(account, "pocket", None) if account.kind == "pocket" else None
    return "main" if pocket is None else str(pocket.name)


SAKA = Book(
    code="saka",
    title="SAKA statement",
    unit="grains",
    detail_header="reason",
    amount_header="amount_grains",
    history=grains_selectors.wallet_history,
    explain=grains_statements.postings_explained,
    detail=lambda posting: str(posting.entry.reason),
    amount_text=lambda amount: f"{amount:+d}",
)
EUR = Book(
    code="eur",
    title="EUR statement",
    unit="EUR",
    detail_header="account",
    amount_header="amount_eur",
    history=euro_selectors.wallet_history,
    explain=euro_statements.postings_explained,
    detail=_eur_account,
    amount_text=lambda cents: ("+" if cents > 0 else "") + format_cents(cents),
)
BOOKS = {book.code: book for book in (SAKA, EUR)}


def _lines(book: Book, postings: Sequence[Any]) -> list[StatementLine]:
    explained = book.explain(postings=postings)
    return [
        StatementLine(
            posting_id=int(posting.pk),
            created_at=posting.entry.created_at,
            kind=str(posting.entry.kind),
            detail=book.detail(posting),
            amount=int(posting.amount),
            amount_text=book.amount_text(int(posting.amount)),
            explanation=line.explanation,
            calculation=line.calculation,
        )
        for posting, line in zip(postings, explained, strict=True)
    ]


@dataclass(frozen=True)
class StatementPage:
    """``next_before``: the ``before`` of the next (older) page, None on the last one."""

    lines: list[StatementLine]
    next_before: int | None


def statement_page(
    *, book: Book, member_id: int, before: int | None = None, size: int = PAGE_SIZE
) -> StatementPage:
    """The member's lines older than posting ``before`` (all when None), newest first."""
    history = book.history(member_id=member_id)
    if before is not None:
        history = history.filter(id__lt=before)
    postings = list(history[: size + 1])  # one more: is there an older page?
    more = len(postings) > size
    lines = _lines(book, postings[:size])
    return StatementPage(lines, next_before=lines[-1].posting_id if more else None)


def statement_chunks(
    *, book: Book, member_id: int, size: int | None = None
) -> Iterator[list[StatementLine]]:
    """Every line of the member's statement, newest first, ``size`` postings at a time
    (default ``CSV_CHUNK``)."""
    size = size or CSV_CHUNK
    history = book.history(member_id=member_id)
    before: int | None = None
    while True:
        chunk = history if before is None else history.filter(id__lt=before)
        postings = list(chunk[:size])
        if not postings:
            return
        yield _lines(book, postings)
        if len(postings) < size:
            return
        before = int(postings[-1].pk)


def parse_before(value: str | None) -> int | None:
    """``?before=``: None when absent or empty; a posting id; ``ValueError`` otherwise."""
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 19 and 0 < int(value) <= ID_MAX):
        raise ValueError("before must be a posting id")
    return int(value)


# --- CSV -----------------------------------------------------------------------------------------

# A cell starting with one of these is a formula to a spreadsheet (CSV injection, OWASP): the
# text columns get a leading apostrophe, which the spreadsheet shows as plain text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str) -> str:
    """A text cell a spreadsheet will not run: ``'`` before a leading formula character."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def csv_header(book: Book) -> list[str]:
    return [
        "posting_id",
        "date",
        "kind",
        book.detail_header,
        book.amount_header,
        "sign",
        "explanation",
        "calculation",
    ]


def csv_row(book: Book, line: StatementLine) -> list[str]:
    """One line as CSV cells: amounts as numbers (grains; EUR ``12.34``), the sign 1 for a
    credit and -1 for a debit, the calculation as JSON; text cells neutralised."""
    calculation = "" if line.calculation is None else json.dumps(line.calculation, sort_keys=True)
    return [
        str(line.posting_id),
        line.created_at.isoformat(),
        csv_text(line.kind),
        csv_text(line.detail),
        str(line.amount) if book is SAKA else format_cents(line.amount),
        "1" if line.amount > 0 else "-1",
        csv_text(line.explanation),
        csv_text(calculation),
    ]
