"""The EUR book and its accounts: ``EURO_BOOK`` (registered with the ledger at start-up) and
the platform's and projects' accounts, created on first use (no lock taken here).

The commission and project accounts are rolled up (``ROLLUP_KINDS``): post to them with
``entry_post(rollup_account_ids=...)``, never lock them; ``euro_rollup`` folds their
pending credits."""

from __future__ import annotations

from saka.euro.invariants import CHECKS
from saka.euro.models import (
    BOOK,
    EXTERNAL_KINDS,
    ROLLUP_KINDS,
    SYSTEM_KINDS,
    AccountKind,
    EuroAccount,
    EuroEntry,
    EuroPendingDelta,
    EuroPosting,
)
from saka.ledger.books import Book, register_book
from saka.ledger.posting import accounts_rollup

EURO_BOOK = Book(
    name=BOOK,
    account_model=EuroAccount,
    entry_model=EuroEntry,
    posting_model=EuroPosting,
    external_kinds=EXTERNAL_KINDS,
    rollup_kinds=ROLLUP_KINDS,
    pending_model=EuroPendingDelta,
    posting_tag="pledge_id",
    extra_checks=CHECKS,
)


def register() -> None:
    register_book(EURO_BOOK)


def system_account_id(kind: AccountKind) -> int:
    """The id of the commission, fees or provider account, created on first use. The
    external ones (fees, provider) are never written, so they are never a hot row."""
    ids = list(EuroAccount.objects.filter(kind=kind).values_list("id", flat=True)[:1])
    if not ids:
        EuroAccount.objects.bulk_create([EuroAccount(kind=kind)], ignore_conflicts=True)
        ids = list(EuroAccount.objects.filter(kind=kind).values_list("id", flat=True)[:1])
    return ids[0]


def project_account_id(*, project_id: int) -> int:
    """The id of the project's account, created on first use."""
    qs = EuroAccount.objects.filter(kind=AccountKind.PROJECT, project_id=project_id)
    ids = list(qs.values_list("id", flat=True)[:1])
    if not ids:
        EuroAccount.objects.bulk_create(
            [EuroAccount(kind=AccountKind.PROJECT, project_id=project_id)], ignore_conflicts=True
        )
        ids = list(qs.values_list("id", flat=True)[:1])
    return ids[0]


def accounts_ensure(*, project_id: int | None = None) -> None:
    """Create the platform's accounts (and the project's) if they do not exist yet, outside
    any member's transaction: a first use inside one would make every concurrent first user
    wait on its uncommitted row until it commits."""
    have = set(EuroAccount.objects.filter(kind__in=SYSTEM_KINDS).values_list("kind", flat=True))
    for kind in SYSTEM_KINDS:
        if kind not in have:
            system_account_id(kind)
    if project_id is not None:
        project_account_id(project_id=project_id)


def euro_rollup(*, account_ids: list[int] | None = None) -> int:
    """Fold the pending credits of the commission and project accounts (all, or
    ``account_ids``) into their cached balances, in its own transaction; the rows folded."""
    return accounts_rollup(book=EURO_BOOK, account_ids=account_ids)
