"""The SAKA book: its account, entry and posting models, its invariants, its registration
with the ledger, and the ids of its system accounts."""

from __future__ import annotations

from saka.grains.invariants import (
    compost_statements_match_postings,
    global_identity,
    poll_votes_match_entries,
    project_scores_match_plants,
    run_statements_chain,
    run_statements_match_books,
    silo_matches_flows,
    wallet_counters_match_postings,
)
from saka.grains.models import EXTERNAL_KINDS, AccountKind, SakaAccount, SakaEntry, SakaPosting
from saka.ledger.books import Book, register_book

SAKA_BOOK = Book(
    name="saka",
    account_model=SakaAccount,
    entry_model=SakaEntry,
    posting_model=SakaPosting,
    external_kinds=EXTERNAL_KINDS,
    extra_checks=(
        wallet_counters_match_postings,
        global_identity,
        silo_matches_flows,
        project_scores_match_plants,
        poll_votes_match_entries,
        compost_statements_match_postings,
        run_statements_chain,
        run_statements_match_books,
    ),
)


def register() -> None:
    register_book(SAKA_BOOK)


def system_account_id(kind: AccountKind) -> int:
    """The id of the silo or an external account, created on first use. Never locked."""
    ids = list(SakaAccount.objects.filter(kind=kind).values_list("id", flat=True)[:1])
    if not ids:
        SakaAccount.objects.bulk_create([SakaAccount(kind=kind)], ignore_conflicts=True)
        ids = list(SakaAccount.objects.filter(kind=kind).values_list("id", flat=True)[:1])
    return ids[0]
