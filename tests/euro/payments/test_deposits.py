"""What a deposit books: the fee split between the parts in proportion, an all-donation deposit,
a fee equal to the amount; members are notified only after commit, never for a rollback."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from saka.core.clock import now
from saka.euro import signals
from saka.euro.models import AccountKind, EntryKind, EuroEntry
from saka.euro.payments.deposits import deposit_book
from saka.euro.splits import payment_split
from tests.support.euro import account_balance, deliver, euro_balance, external_total, payment_event

pytestmark = pytest.mark.django_db


# --- what a deposit books -----------------------------------------------------------------------


def test_the_fee_is_split_between_the_parts_in_proportion(member: Any, project: Any) -> None:
    # given 100.00 with 20.00 donated and 5.00 tipped, fee 2.90
    event = payment_event(
        member_id=member.pk, amount=10_000, fee=290, donation=2_000, tip=500, project_id=project.pk
    )
    # when it is booked
    body = deliver(event).body
    # then the fee is split 75 : 20 : 5 by largest remainder (217.5, 58, 14.5 -> 218, 58, 14)
    assert body["wallet"] == {
        "gross": "75.00",
        "fee": "2.18",
        "net": "72.82",
        "main": "72.82",
        "pockets": [],
    }
    assert body["donation"] == {
        "project_id": project.pk,
        "gross": "20.00",
        "fee": "0.58",
        "net": "19.42",
    }
    assert body["tip"] == {"gross": "5.00", "fee": "0.14", "net": "4.86"}
    assert euro_balance(member) == 7_282
    assert account_balance(AccountKind.PROJECT, project=project) == 1_942
    assert account_balance(AccountKind.COMMISSION) == 486
    assert external_total(AccountKind.FEES) == 290


def test_a_deposit_that_is_all_donation_leaves_the_wallet_alone(member: Any, project: Any) -> None:
    body = deliver(
        payment_event(
            member_id=member.pk, amount=1_000, fee=30, donation=1_000, project_id=project.pk
        )
    ).body
    assert body["wallet"]["net"] == "0.00"
    assert euro_balance(member) == 0
    assert account_balance(AccountKind.PROJECT, project=project) == 970


def test_a_fee_equal_to_the_amount_books_only_the_fee(member: Any) -> None:
    deliver(payment_event(member_id=member.pk, amount=30, fee=30))
    assert euro_balance(member) == 0
    assert external_total(AccountKind.FEES) == 30


def test_a_deposit_notifies_only_after_commit(
    member: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given a receiver of deposit_booked
    seen: list[Any] = []

    def receiver(**kwargs: Any) -> None:
        seen.append(kwargs["result"])

    signals.deposit_booked.connect(receiver)
    try:
        # when a deposit is booked
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            deliver(payment_event(member_id=member.pk, amount=1_000))
        # then nothing was sent inside the transaction, and the commit hook sends it
        assert seen == []
        assert len(callbacks) == 1
        callbacks[0]()
        assert [r.amount for r in seen] == [1_000]
    finally:
        signals.deposit_booked.disconnect(receiver)


def _book_then_fail(member: Any) -> None:
    try:
        with transaction.atomic():
            deposit_book(
                member_id=member.pk,
                split=payment_split(amount=100, fee=0),
                project_id=None,
                reference="pi_x",
                at=now(),
                provider="stripe",
                payment_id="pi_x",
            )
            raise RuntimeError("the caller fails after booking")
    except RuntimeError:
        pass


def test_a_rolled_back_deposit_notifies_nobody(
    member: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given a receiver of deposit_booked
    seen: list[Any] = []
    signals.deposit_booked.connect(lambda **kw: seen.append(kw), weak=False, dispatch_uid="t")
    try:
        # when a deposit is booked inside a transaction that then fails
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            _book_then_fail(member)
        # then no commit hook remains and nobody heard of it
        assert callbacks == []
        assert seen == []
        assert not EuroEntry.objects.filter(kind=EntryKind.DEPOSIT).exists()
    finally:
        signals.deposit_booked.disconnect(dispatch_uid="t")
