"""Pockets: open, rename or re-weight, close, and transfers between a member's main balance
and a pocket. The member's wallet lock protects the pockets' percentages and balances."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Sum
from django.db.models.functions import Coalesce

from saka.core.clock import as_of_or_now
from saka.core.db import durable
from saka.core.errors import ValidationError
from saka.core.members import member_require
from saka.core.money import MAX_AMOUNT, Cents, format_percentage, parse_amount, parse_percentage
from saka.euro.accounts import EURO_BOOK
from saka.euro.conf import MAX_POCKETS
from saka.euro.errors import AllocationExceeded, PocketLimitReached, PocketNotFound
from saka.euro.lock_objects import account_lock, wallet_lock, wallet_lock_or_create
from saka.euro.models import AccountKind, EntryKind, EuroAccount, EuroEntry, Pocket
from saka.euro.services.inputs import parse_id
from saka.euro.statements import entry_sentence, transfer_calculation
from saka.ledger.errors import InsufficientBalance
from saka.ledger.idempotency import idempotent
from saka.ledger.posting import entry_post

POCKET_NAME_MAX = 60
# What a pocket name is, stated once for the service and the OpenAPI schema (a regex both
# Python and JSON Schema read): whitespace around it is dropped (``str.strip``), what is left
# is 1 to 60 characters with no control character (C0, DEL, C1) and no line or paragraph
# separator, and neither starts nor ends with whitespace.
_NAME_CHAR = r"[^\x00-\x1f\x7f-\x9f\u2028\u2029]"
_NAME_EDGE = r"[^\s\x00-\x1f\x7f-\x9f\u2028\u2029]"
POCKET_NAME_PATTERN = (
    rf"^\s*{_NAME_EDGE}(?:{_NAME_CHAR}{{0,{POCKET_NAME_MAX - 2}}}{_NAME_EDGE})?\s*$"
)
_POCKET_NAME = re.compile(POCKET_NAME_PATTERN)


def _pocket_name(name: Any) -> str:
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= POCKET_NAME_MAX:
        raise ValidationError(f"A pocket name has 1 to {POCKET_NAME_MAX} characters.", field="name")
    if not _POCKET_NAME.fullmatch(name):
        raise ValidationError(
            "A pocket name has no control characters or line separators.", field="name"
        )
    return name.strip()


@dataclass(frozen=True)
class PocketResult:
    pocket_id: int
    name: str
    percentage_bp: int
    balance: int
    allocated_bp: int  # Σ percentages of the member's open pockets after the change


def _open_pockets(member_id: int) -> Any:
    return Pocket.objects.filter(member_id=member_id, closed_at__isnull=True)


def _pocket_of(member_id: int, pocket_id: Any) -> Pocket:
    pid = parse_id(pocket_id, PocketNotFound, pocket_id=str(pocket_id)[:64])
    pocket = _open_pockets(member_id).filter(pk=pid).select_related("account").first()
    if pocket is None:
        raise PocketNotFound(pocket_id=pid)
    return pocket


def _allocated(member_id: int, *, exclude: int | None = None) -> tuple[int, int]:
    qs = _open_pockets(member_id)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    agg = qs.aggregate(n=Count("id"), bp=Coalesce(Sum("percentage_bp"), 0))
    return int(agg["n"]), int(agg["bp"])


def _check_allocation(current_bp: int, requested_bp: int) -> None:
    if current_bp + requested_bp > 10_000:
        raise AllocationExceeded(
            allocated=format_percentage(current_bp),
            requested=format_percentage(requested_bp),
            available=format_percentage(10_000 - current_bp),
        )


def pocket_create(
    *, member_id: int, name: str, percentage: Any = 0, idempotency_key: str | None = None
) -> PocketResult:
    """Open a pocket. Raises ``PocketLimitReached`` (100 open pockets), ``AllocationExceeded``
    (Σ percentages > 100), ``ValidationError``, ``MemberNotFound``, ``IdempotencyConflict``."""
    cleaned = _pocket_name(name)
    bp = parse_percentage(percentage)
    member_id = member_require(member_id)
    scope = f"euro.pocket:{member_id}"
    payload = {"name": cleaned, "percentage_bp": bp}

    def book() -> PocketResult:
        wallet_lock_or_create(member_id=member_id)
        count, allocated = _allocated(member_id)
        if count >= MAX_POCKETS:
            raise PocketLimitReached(maximum=MAX_POCKETS)
        _check_allocation(allocated, bp)
        account = EuroAccount.objects.create(kind=AccountKind.POCKET, member_id=member_id)
        pocket = Pocket.objects.create(
            member_id=member_id, account=account, name=cleaned, percentage_bp=bp
        )
        return PocketResult(pocket.pk, cleaned, bp, 0, allocated + bp)

    with durable():
        return idempotent(
            scope=scope, key=idempotency_key, payload=payload, result_type=PocketResult, book=book
        )


def pocket_update(
    *, member_id: int, pocket_id: int, name: str | None = None, percentage: Any = None
) -> PocketResult:
    """Rename a pocket and/or set its percentage (Σ per wallet checked under the wallet lock)."""
    cleaned = None if name is None else _pocket_name(name)
    bp = None if percentage is None else parse_percentage(percentage)
    with durable():
        wallet_lock(member_id=member_id)
        pocket = _pocket_of(member_id, pocket_id)
        _, others = _allocated(member_id, exclude=pocket.pk)
        fields: dict[str, Any] = {}
        if bp is not None:
            _check_allocation(others, bp)
            fields["percentage_bp"] = bp
        if cleaned is not None:
            fields["name"] = cleaned
        if fields:
            Pocket.objects.filter(pk=pocket.pk).update(**fields)
        final_bp = pocket.percentage_bp if bp is None else bp
        return PocketResult(
            pocket.pk,
            cleaned or pocket.name,
            final_bp,
            pocket.account.balance,
            others + final_bp,
        )


@dataclass(frozen=True)
class TransferResult:
    entry_id: int | None
    pocket_id: int
    direction: str
    amount: int
    wallet_balance: int
    pocket_balance: int
    created_at: str


TO_POCKET = "to_pocket"
TO_WALLET = "to_wallet"
DIRECTIONS = (TO_POCKET, TO_WALLET)


def _transfer(
    *,
    member_id: int,
    wallet: EuroAccount,
    pocket: Pocket,
    direction: str,
    cents: int,
    at: datetime,
    closing: bool = False,
) -> TransferResult:
    account = account_lock(account_id=pocket.account_id)
    source = wallet if direction == TO_POCKET else account
    if source.balance < cents:
        raise InsufficientBalance(available=Cents(source.balance), requested=Cents(cents))
    sign = 1 if direction == TO_POCKET else -1
    calculation = transfer_calculation(
        pocket_id=pocket.pk,
        pocket_name=pocket.name,
        direction=direction,
        amount=cents,
        main_after=wallet.balance - sign * cents,
        pocket_after=account.balance + sign * cents,
        closing=closing,
    )
    entry = entry_post(
        book=EURO_BOOK,
        entry=EuroEntry(
            kind=EntryKind.TRANSFER,
            amount=cents,
            member_id=member_id,
            reference=f"pocket:{pocket.pk}",
            created_at=at,
            calculation=calculation,
            explanation=entry_sentence(kind=EntryKind.TRANSFER, calculation=calculation),
        ),
        postings=[(wallet.pk, -sign * cents), (account.pk, sign * cents)],
    )
    return TransferResult(
        entry_id=entry.pk,
        pocket_id=pocket.pk,
        direction=direction,
        amount=cents,
        wallet_balance=wallet.balance - sign * cents,
        pocket_balance=account.balance + sign * cents,
        created_at=at.isoformat(),
    )


def pocket_transfer(
    *,
    member_id: int,
    pocket_id: int,
    direction: str,
    amount: int,
    idempotency_key: str | None = None,
    as_of: datetime | None = None,
) -> TransferResult:
    """Move ``amount`` cents between the member's main balance and one of their pockets.

    Raises ``InvalidAmount``, ``ValidationError`` (direction), ``PocketNotFound``,
    ``InsufficientBalance``, ``IdempotencyConflict``, ``LockTimeout``.
    """
    at = as_of_or_now(as_of)
    cents = parse_amount(amount, maximum=MAX_AMOUNT)
    if direction not in DIRECTIONS:
        raise ValidationError(f"direction is one of {', '.join(DIRECTIONS)}.", field="direction")
    pid = parse_id(pocket_id, PocketNotFound, pocket_id=str(pocket_id)[:64])
    scope = f"euro.transfer:{member_id}"
    payload = {"pocket_id": pid, "direction": str(direction), "amount": cents}

    def book() -> TransferResult:
        wallet = wallet_lock(member_id=member_id)
        if wallet is None:
            raise PocketNotFound(pocket_id=pid)
        pocket = _pocket_of(member_id, pid)
        return _transfer(
            member_id=member_id,
            wallet=wallet,
            pocket=pocket,
            direction=direction,
            cents=cents,
            at=at,
        )

    with durable():
        return idempotent(
            scope=scope, key=idempotency_key, payload=payload, result_type=TransferResult, book=book
        )


def pocket_close(
    *, member_id: int, pocket_id: int, as_of: datetime | None = None
) -> TransferResult:
    """Close a pocket: its balance goes back to the main balance (booked), its percentage to 0."""
    at = as_of_or_now(as_of)
    with durable():
        wallet = wallet_lock(member_id=member_id)
        if wallet is None:
            raise PocketNotFound(pocket_id=pocket_id)
        pocket = _pocket_of(member_id, pocket_id)
        balance = account_lock(account_id=pocket.account_id).balance
        if balance:
            result = _transfer(
                member_id=member_id,
                wallet=wallet,
                pocket=pocket,
                direction=TO_WALLET,
                cents=balance,
                at=at,
                closing=True,
            )
        else:
            result = TransferResult(
                None, pocket.pk, TO_WALLET, 0, wallet.balance, 0, at.isoformat()
            )
        Pocket.objects.filter(pk=pocket.pk).update(closed_at=at, percentage_bp=0)
    return result
