"""The registry of books (one per currency) that the ledger services and reconcile work on."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from saka.ledger.reconcile import Discrepancy

from django.db import models


@dataclass(frozen=True)
class Book:
    """A currency's tables and rules.

    ``external_kinds``: accounts with no cached balance (value enters/leaves the system there;
    never a hot row). ``negative_ok_kinds``: accounts whose balance may go below zero.
    ``extra_checks``: domain invariants reconcile runs after the generic ones.
    ``posting_tag``: the posting column a posting's tag fills (``entry_post``), if any.
    ``rollup_kinds``: shared system accounts that take credits from members' operations and
    from batches (the platform's commission, each project's account): their postings append a
    row to ``pending_model`` instead of updating the account row, and ``accounts_rollup``
    folds those rows into the cached balance off the hot path. Such an account's balance is
    cached + pending; it only takes credits through ``entry_post``.
    """

    name: str
    account_model: type[models.Model]
    entry_model: type[models.Model]
    posting_model: type[models.Model]
    external_kinds: frozenset[str]
    negative_ok_kinds: frozenset[str] = frozenset()
    extra_checks: tuple[Callable[[int], Iterable[Discrepancy]], ...] = field(default=())
    posting_tag: str | None = None
    rollup_kinds: frozenset[str] = frozenset()
    pending_model: type[models.Model] | None = None


_BOOKS: dict[str, Book] = {}


def register_book(book: Book) -> None:
    _BOOKS[book.name] = book


def get_books() -> list[Book]:
    return list(_BOOKS.values())


def get_book(name: str) -> Book:
    return _BOOKS[name]
