"""Pockets: create, rename, percentages (Σ <= 100, at most 100 pockets), transfers, close,
and the split of every deposit across them."""

from __future__ import annotations

from typing import Any

import pytest

from saka.core.errors import InvalidAmount, ValidationError
from saka.euro import selectors
from saka.euro.errors import AllocationExceeded, PocketLimitReached, PocketNotFound
from saka.euro.models import AccountKind, EuroAccount, Pocket
from saka.euro.services.pockets import pocket_close, pocket_create, pocket_transfer, pocket_update
from saka.ledger.errors import IdempotencyConflict, InsufficientBalance
from tests.support.euro import deposit, euro_balance, snapshot

pytestmark = pytest.mark.django_db


def pocket_balance(pocket_id: int) -> int:
    return Pocket.objects.select_related("account").get(pk=pocket_id).account.balance


def test_create_rename_and_set_percentages(member: Any) -> None:
    # given a member
    # when they open two pockets and change one
    holidays = pocket_create(member_id=member.pk, name="  Holidays ", percentage="12.5")
    rent = pocket_create(member_id=member.pk, name="Rent", percentage="40")
    updated = pocket_update(
        member_id=member.pk, pocket_id=holidays.pocket_id, name="Trips", percentage="20.25"
    )
    # then the wallet shows them with their percentages and the total allocated
    assert holidays.name == "Holidays"
    assert (updated.name, updated.percentage_bp, updated.allocated_bp) == ("Trips", 2025, 6025)
    view = selectors.wallet_summary(member_id=member.pk)
    assert [(p.name, p.percentage_bp) for p in view.pockets] == [("Trips", 2025), ("Rent", 4000)]
    assert view.allocated_bp == 6025
    assert rent.allocated_bp == 5250


def test_percentages_of_a_wallet_never_exceed_100(member: Any) -> None:
    # given pockets at 60 % and 40 %
    a = pocket_create(member_id=member.pk, name="A", percentage="60")
    pocket_create(member_id=member.pk, name="B", percentage="40")
    before = snapshot()
    # when a third pocket or a raise asks for more
    with pytest.raises(AllocationExceeded) as too_much:
        pocket_create(member_id=member.pk, name="C", percentage="0.01")
    with pytest.raises(AllocationExceeded):
        pocket_update(member_id=member.pk, pocket_id=a.pocket_id, percentage="60.01")
    # then it is refused and nothing changes; a pocket at 0 % is still fine
    assert too_much.value.data == {"allocated": "100.00", "requested": "0.01", "available": "0.00"}
    assert snapshot() == before
    assert pocket_create(member_id=member.pk, name="C").percentage_bp == 0
    # lowering one frees room for another
    pocket_update(member_id=member.pk, pocket_id=a.pocket_id, percentage="50")
    pocket_create(member_id=member.pk, name="D", percentage="10")


def test_at_most_100_open_pockets(member: Any) -> None:
    # given 100 pockets
    ids = [pocket_create(member_id=member.pk, name=f"p{i}").pocket_id for i in range(100)]
    # when a 101st is opened, then it is refused
    with pytest.raises(PocketLimitReached):
        pocket_create(member_id=member.pk, name="one too many")
    # a closed pocket frees its place
    pocket_close(member_id=member.pk, pocket_id=ids[0])
    pocket_create(member_id=member.pk, name="again")


@pytest.mark.parametrize("name", ["", "   ", "x" * 61, "tab\there", 42, None])
def test_bad_pocket_names_are_refused(member: Any, name: Any) -> None:
    with pytest.raises(ValidationError):
        pocket_create(member_id=member.pk, name=name)


def test_creating_a_pocket_with_a_key_is_done_once(member: Any) -> None:
    first = pocket_create(member_id=member.pk, name="A", percentage="10", idempotency_key="pk-1")
    again = pocket_create(member_id=member.pk, name="A", percentage="10", idempotency_key="pk-1")
    assert again == first
    assert Pocket.objects.filter(member=member).count() == 1
    with pytest.raises(IdempotencyConflict):
        pocket_create(member_id=member.pk, name="B", idempotency_key="pk-1")


def test_transfers_between_wallet_and_pocket(funded: Any) -> None:
    # given 100.00 in the main balance and an empty pocket
    member = funded(10_000)
    pocket = pocket_create(member_id=member.pk, name="Savings")
    # when 30.00 goes to the pocket and 10.00 comes back
    to_pocket = pocket_transfer(
        member_id=member.pk, pocket_id=pocket.pocket_id, direction="to_pocket", amount=3_000
    )
    back = pocket_transfer(
        member_id=member.pk, pocket_id=pocket.pocket_id, direction="to_wallet", amount=1_000
    )
    # then both balances follow, exactly
    assert (to_pocket.wallet_balance, to_pocket.pocket_balance) == (7_000, 3_000)
    assert (back.wallet_balance, back.pocket_balance) == (8_000, 2_000)
    assert euro_balance(member) == 8_000
    assert pocket_balance(pocket.pocket_id) == 2_000


def test_a_transfer_never_overdraws(funded: Any) -> None:
    member = funded(1_000)
    pocket = pocket_create(member_id=member.pk, name="Savings")
    before = snapshot()
    with pytest.raises(InsufficientBalance):
        pocket_transfer(
            member_id=member.pk, pocket_id=pocket.pocket_id, direction="to_pocket", amount=1_001
        )
    with pytest.raises(InsufficientBalance):
        pocket_transfer(
            member_id=member.pk, pocket_id=pocket.pocket_id, direction="to_wallet", amount=1
        )
    assert snapshot() == before


def test_transfer_bad_input(funded: Any, other_member: Any) -> None:
    member = funded(1_000)
    pocket = pocket_create(member_id=member.pk, name="Savings")
    theirs = pocket_create(member_id=other_member.pk, name="Theirs")
    before = snapshot()
    for amount in (0, -1, 1.5, "1.00", True, None):
        with pytest.raises(InvalidAmount):
            pocket_transfer(
                member_id=member.pk,
                pocket_id=pocket.pocket_id,
                direction="to_pocket",
                amount=amount,
            )
    with pytest.raises(ValidationError):
        pocket_transfer(
            member_id=member.pk, pocket_id=pocket.pocket_id, direction="sideways", amount=1
        )
    for pocket_id in (theirs.pocket_id, 10**9, 2**64, -1, "1", None):
        with pytest.raises(PocketNotFound):
            pocket_transfer(
                member_id=member.pk, pocket_id=pocket_id, direction="to_pocket", amount=1
            )
    assert snapshot() == before


def test_a_transfer_with_a_key_is_booked_once(funded: Any) -> None:
    member = funded(5_000)
    pocket = pocket_create(member_id=member.pk, name="Savings")
    args = {"member_id": member.pk, "pocket_id": pocket.pocket_id, "direction": "to_pocket"}
    first = pocket_transfer(**args, amount=1_000, idempotency_key="t-1")
    again = pocket_transfer(**args, amount=1_000, idempotency_key="t-1")
    assert again == first
    assert euro_balance(member) == 4_000
    with pytest.raises(IdempotencyConflict):
        pocket_transfer(**args, amount=2_000, idempotency_key="t-1")


def test_closing_a_pocket_returns_its_money(funded: Any) -> None:
    # given a pocket holding 12.34
    member = funded(5_000)
    pocket = pocket_create(member_id=member.pk, name="Savings", percentage="50")
    pocket_transfer(
        member_id=member.pk, pocket_id=pocket.pocket_id, direction="to_pocket", amount=1_234
    )
    # when it is closed
    result = pocket_close(member_id=member.pk, pocket_id=pocket.pocket_id)
    # then the money is back in the main balance, the pocket is gone from the wallet
    assert (result.amount, result.wallet_balance, result.pocket_balance) == (1_234, 5_000, 0)
    assert euro_balance(member) == 5_000
    assert selectors.wallet_summary(member_id=member.pk).pockets == []
    closed = Pocket.objects.get(pk=pocket.pocket_id)
    assert closed.closed_at is not None
    assert closed.percentage_bp == 0
    # and it cannot be used any more
    with pytest.raises(PocketNotFound):
        pocket_close(member_id=member.pk, pocket_id=pocket.pocket_id)


def test_a_deposit_is_split_across_pockets_exactly(member: Any) -> None:
    # given pockets at 33.33 %, 33.33 % and 10 %, and one closed pocket
    a = pocket_create(member_id=member.pk, name="A", percentage="33.33")
    b = pocket_create(member_id=member.pk, name="B", percentage="33.33")
    c = pocket_create(member_id=member.pk, name="C", percentage="10")
    gone = pocket_create(member_id=member.pk, name="Gone", percentage="5")
    pocket_close(member_id=member.pk, pocket_id=gone.pocket_id)
    # when 10.01 arrives net of fees (10.31 - 0.30)
    body = deposit(member, 1_031, fee=30).body
    # then 33.33 % of 10.01 = 3.336333 -> 3.34 (largest remainder), 3.33, 1.00, rest 2.34
    pockets = {p["pocket_id"]: p["amount"] for p in body["wallet"]["pockets"]}
    assert pockets == {a.pocket_id: "3.34", b.pocket_id: "3.33", c.pocket_id: "1.00"}
    assert body["wallet"]["main"] == "2.34"
    assert [pocket_balance(p.pocket_id) for p in (a, b, c, gone)] == [334, 333, 100, 0]
    assert euro_balance(member) == 234


def test_a_deposit_books_in_the_same_queries_whatever_the_pockets(
    make_user: Any, django_assert_num_queries: Any
) -> None:
    # given one member without pockets and one with 100 pockets at 1 % each
    plain, rich = make_user(), make_user()
    deposit(plain, 100)
    deposit(rich, 100)
    for i in range(100):
        pocket_create(member_id=rich.pk, name=f"p{i}", percentage="1")
    # when each receives a deposit, then both cost the same number of queries
    counts = []
    for user in (plain, rich):
        with django_assert_num_queries(20) as ctx:
            deposit(user, 10_000, fee=100)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
    assert (
        sum(
            EuroAccount.objects.filter(kind=AccountKind.POCKET, member=rich).values_list(
                "balance", flat=True
            )
        )
        == 99 * 100
    )
