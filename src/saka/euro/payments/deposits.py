"""Deposits: ``deposit_book`` books one parsed payment (provider, fee, wallet and pockets,
donation, tip) inside the webhook's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from saka.core.db import require_atomic
from saka.euro.accounts import EURO_BOOK, project_account_id, system_account_id
from saka.euro.lock_objects import wallet_lock_or_create
from saka.euro.models import AccountKind, EntryKind, EuroEntry, Pocket
from saka.euro.services.notifications import notify
from saka.euro.splits import PaymentSplit, pocket_split
from saka.ledger.posting import Posting, entry_post


@dataclass(frozen=True)
class DepositResult:
    entry_id: int
    member_id: int
    amount: int
    fee: int
    wallet_net: int
    main: int
    pockets: list[tuple[int, int]]  # (pocket id, cents)
    project_id: int | None
    donation_net: int
    tip_net: int
    fee_parts: tuple[int, int, int]  # wallet, donation, tip


def deposit_book(
    *,
    member_id: int,
    split: PaymentSplit,
    project_id: int | None,
    reference: str,
    at: datetime,
) -> DepositResult:
    """Book a payment (building block: runs in the webhook's transaction).

    The provider is debited the gross amount; the fee goes to the processor; the wallet's
    net part is split across the member's pockets by percentage (largest remainder, exact),
    the rest to the main balance; the donation's net part to the project's account and the
    tip's net part to the platform. Locks the member's wallet (created on first deposit).

    The payment's rules are checked once, where it is parsed (``webhooks``): at most
    ``MAX_DEPOSIT_CENTS``, and a donation names its project (``project_id``).
    """
    require_atomic()
    wallet = wallet_lock_or_create(member_id=member_id)
    pockets = list(
        Pocket.objects.filter(member_id=member_id, closed_at__isnull=True, percentage_bp__gt=0)
        .order_by("id")
        .values_list("id", "account_id", "percentage_bp")
    )
    parts, main = pocket_split(split.wallet_net, [bp for _, _, bp in pockets])
    provider_id = system_account_id(AccountKind.PROVIDER)
    fees_id = system_account_id(AccountKind.FEES)
    lines: list[Posting] = [(provider_id, -split.amount, None)]
    if split.fee:
        lines.append((fees_id, split.fee, None))
    if main:
        lines.append((wallet.pk, main, None))
    lines += [(acc, part, None) for (_, acc, _), part in zip(pockets, parts, strict=True) if part]
    rollup: set[int] = set()  # project and commission: pending credits, never locked
    if split.donation_net:
        assert project_id is not None  # noqa: S101 - the parser refuses a donation without one
        project_account = project_account_id(project_id=project_id)
        rollup.add(project_account)
        lines.append((project_account, split.donation_net, None))
    if split.tip_net:
        commission = system_account_id(AccountKind.COMMISSION)
        rollup.add(commission)
        lines.append((commission, split.tip_net, None))
    # one set-based balance update whatever the number of pockets (up to 100)
    entry = entry_post(
        book=EURO_BOOK,
        entry=EuroEntry(
            kind=EntryKind.DEPOSIT,
            amount=split.amount,
            member_id=member_id,
            project_id=project_id,
            reference=reference[:255],
            created_at=at,
        ),
        postings=lines,
        external_account_ids=frozenset({provider_id, fees_id}),
        rollup_account_ids=frozenset(rollup),
        lock_accounts=True,
    )
    result = DepositResult(
        entry_id=entry.pk,
        member_id=member_id,
        amount=split.amount,
        fee=split.fee,
        wallet_net=split.wallet_net,
        main=main,
        pockets=[(pid, part) for (pid, _, _), part in zip(pockets, parts, strict=True) if part],
        project_id=project_id,
        donation_net=split.donation_net,
        tip_net=split.tip_net,
        fee_parts=(split.wallet_fee, split.donation_fee, split.tip_fee),
    )
    transaction.on_commit(lambda: notify("deposit_booked", result=result))
    return result
