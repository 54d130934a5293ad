"""The one posting engine (``saka.ledger.posting.entry_post``), on both books."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from saka.euro.models import AccountKind as EuroKind
from saka.euro.models import EntryKind as EuroEntryKind
from saka.euro.models import EuroAccount, EuroEntry, EuroPosting
from saka.grains.models import AccountKind, EntryKind, SakaAccount, SakaEntry, SakaPosting
from saka.ledger.books import get_book
from saka.ledger.errors import InsufficientBalance, UnbalancedEntry
from saka.ledger.posting import entry_post

pytestmark = pytest.mark.django_db


def saka_wallet(member: Any) -> SakaAccount:
    return SakaAccount.objects.create(kind=AccountKind.WALLET, member=member)


def euro_account(member: Any, kind: str = EuroKind.WALLET) -> EuroAccount:
    return EuroAccount.objects.create(kind=kind, member=member)


def saka_entry(amount: int = 5) -> SakaEntry:
    return SakaEntry(kind=EntryKind.HARVEST, reason="content_read", amount=amount)


def euro_entry(amount: int = 5) -> EuroEntry:
    return EuroEntry(kind=EuroEntryKind.TRANSFER, amount=amount)


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_refuses_to_book(member):
    # given a wallet, when a posting is attempted with no transaction open, then it refuses
    wallet = saka_wallet(member)
    with pytest.raises(RuntimeError):
        entry_post(book=get_book("saka"), entry=saka_entry(), postings=[(wallet.pk, 5)])
    assert not SakaEntry.objects.exists()


@pytest.mark.parametrize(
    "postings", [[], [(1, 5)], [(1, 5), (2, -4)], [(1, 0), (2, 0)], [(1, 5), (2, -5), (3, 0)]]
)
def test_an_unbalanced_or_zero_posting_books_nothing(member, postings):
    # given an entry whose postings are empty, do not sum to zero, or hold a zero
    with pytest.raises(UnbalancedEntry), transaction.atomic():
        entry_post(book=get_book("saka"), entry=saka_entry(), postings=postings)
    # then nothing is written
    assert not SakaEntry.objects.exists()
    assert not SakaPosting.objects.exists()


def test_external_accounts_keep_no_balance_and_extra_columns_move_with_the_balance(member):
    # given the issuance (external) account and a member's wallet
    wallet = saka_wallet(member)
    issuance = SakaAccount.objects.create(kind=AccountKind.ISSUANCE)
    # when 10 grains are issued to the wallet with a counter update in the same statement
    with transaction.atomic():
        entry = entry_post(
            book=get_book("saka"),
            entry=saka_entry(10),
            postings=[(issuance.pk, -10), (wallet.pk, 10)],
            external_account_ids=frozenset({issuance.pk}),
            account_updates={wallet.pk: {"lifetime_harvested": F("lifetime_harvested") + 10}},
        )
    # then the wallet holds them, its counter moved, the external account has no balance
    wallet.refresh_from_db()
    issuance.refresh_from_db()
    assert (wallet.balance, wallet.lifetime_harvested, issuance.balance) == (10, 10, 0)
    assert sorted(entry.postings.values_list("account_id", "amount")) == sorted(
        [(issuance.pk, -10), (wallet.pk, 10)]
    )


def test_a_check_constraint_refusal_is_insufficient_balance_and_rolls_back(member, other_member):
    # given two empty EUR wallets
    a, b = euro_account(member), euro_account(other_member)
    # when 5 cents are moved out of the empty one, with and without account locking
    for lock in (False, True):
        with pytest.raises(InsufficientBalance), transaction.atomic():
            entry_post(
                book=get_book("eur"),
                entry=euro_entry(),
                postings=[(a.pk, -5), (b.pk, 5)],
                lock_accounts=lock,
            )
    # then nothing was booked
    assert not EuroEntry.objects.exists()
    assert list(EuroAccount.objects.values_list("balance", flat=True)) == [0, 0]


def test_locked_posting_refuses_a_missing_account(member):
    wallet = euro_account(member)
    with pytest.raises(UnbalancedEntry), transaction.atomic():
        entry_post(
            book=get_book("eur"),
            entry=euro_entry(),
            postings=[(wallet.pk, 5), (wallet.pk + 1000, -5)],
            lock_accounts=True,
        )
    assert not EuroEntry.objects.exists()


def test_tags_fill_the_books_tag_column(member, other_member):
    # given a EUR wallet holding 100 cents and a second account of the member
    provider = EuroAccount.objects.create(kind=EuroKind.PROVIDER)
    wallet, escrow = euro_account(member), euro_account(member, EuroKind.POCKET)
    with transaction.atomic():
        entry_post(
            book=get_book("eur"),
            entry=euro_entry(100),
            postings=[(provider.pk, -100), (wallet.pk, 100)],
            external_account_ids=frozenset({provider.pk}),
        )
    # when 30 move to the escrow with the escrow's posting tagged
    with transaction.atomic():
        entry = entry_post(
            book=get_book("eur"),
            entry=euro_entry(30),
            postings=[(wallet.pk, -30, None), (escrow.pk, 30, 77)],
            lock_accounts=True,
        )
    # then the tag is stored on that posting only, and the balances moved
    assert dict(EuroPosting.objects.filter(entry=entry).values_list("account_id", "pledge_id")) == {
        wallet.pk: None,
        escrow.pk: 77,
    }
    assert dict(EuroAccount.objects.values_list("id", "balance")) == {
        provider.pk: 0,
        wallet.pk: 70,
        escrow.pk: 30,
    }


def test_a_tag_on_a_book_without_a_tag_column_is_refused(member):
    # given a book whose postings carry no tag (a stand-in built from the SAKA book)
    from dataclasses import replace

    untagged = replace(get_book("saka"), posting_tag=None)
    wallet, issuance = saka_wallet(member), SakaAccount.objects.create(kind=AccountKind.ISSUANCE)
    with pytest.raises(UnbalancedEntry), transaction.atomic():
        entry_post(
            book=untagged,
            entry=saka_entry(),
            postings=[(issuance.pk, -5, None), (wallet.pk, 5, 9)],
            external_account_ids=frozenset({issuance.pk}),
        )
    assert not SakaEntry.objects.exists()


def test_locked_posting_applies_any_number_of_deltas_in_one_statement(make_user):
    # given a provider and 40 member wallets
    provider = EuroAccount.objects.create(kind=EuroKind.PROVIDER)
    wallets = [euro_account(make_user()) for _ in range(40)]

    def book(n: int) -> int:
        with CaptureQueriesContext(connection) as ctx, transaction.atomic():
            entry_post(
                book=get_book("eur"),
                entry=euro_entry(n),
                postings=[(provider.pk, -n)] + [(w.pk, 1) for w in wallets[:n]],
                external_account_ids=frozenset({provider.pk}),
                lock_accounts=True,
            )
        return len(ctx.captured_queries)

    # when 2 and then 40 wallets are credited, then both cost the same number of queries
    assert book(2) == book(40)
    assert (
        sorted(EuroAccount.objects.filter(kind=EuroKind.WALLET).values_list("balance", flat=True))
        == [1] * 38 + [2] * 2
    )
