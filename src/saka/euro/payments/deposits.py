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
from saka.euro.statements import deposit_calculation, entry_sentence
from saka.ledger.posting import Posting, entry_post
from saka.projects.models import Project


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
    provider: str,
    payment_id: str,
) -> DepositResult:
    """Book a payment (building block: runs in the webhook's transaction).

    The provider is debited the gross amount; the fee goes to the processor; the wallet's
    net part is split across the member's pockets by percentage (largest remainder, exact),
    the rest to the main balance; the donation's net part to the project's account and the
    tip's net part to the platform. Locks the member's wallet (created on first deposit).

    The payment's rules are checked once, where it is parsed (``webhooks``): at most
    ``MAX_DEPOSIT_CENTS``, and a donation names its project (``project_id``).

    The entry stores its statement (``saka.euro.statements``): the provider and payment id,
    the fee and its split, the donation (with the project's name as it is now), the tip and
    each pocket's name, percentage and share, so that the member's history never depends on
    what the pockets, the project or the settings become.
    """
    require_atomic()
    wallet = wallet_lock_or_create(member_id=member_id)
    pockets = list(
        Pocket.objects.filter(member_id=member_id, closed_at__isnull=True, percentage_bp__gt=0)
        .order_by("id")
        .values_list("id", "account_id", "percentage_bp", "name")
    )
    parts, main = pocket_split(split.wallet_net, [bp for _, _, bp, _ in pockets])
    provider_id = system_account_id(AccountKind.PROVIDER)
    fees_id = system_account_id(AccountKind.FEES)
    lines: list[Posting] = [(provider_id, -split.amount, None)]
    if split.fee:
        lines.append((fees_id, split.fee, None))
    if main:
        lines.append((wallet.pk, main, None))
    shares = [
        (pid, acc, name, bp, part)
        for (pid, acc, bp, name), part in zip(pockets, parts, strict=True)
        if part
    ]
    lines += [(acc, part, None) for _, acc, _, _, part in shares]
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
    project_name = None
    if split.donation_gross and project_id is not None:
        project_name = Project.objects.values_list("title", flat=True).get(pk=project_id)
    calculation = deposit_calculation(
        provider=provider,
        payment_id=payment_id,
        split=split,
        project_id=project_id,
        project_name=project_name,
        pockets=shares,
        main=main,
    )
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
            calculation=calculation,
            explanation=entry_sentence(kind=EntryKind.DEPOSIT, calculation=calculation),
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
        pockets=[(pid, part) for pid, _, _, _, part in shares],
        project_id=project_id,
        donation_net=split.donation_net,
        tip_net=split.tip_net,
        fee_parts=(split.wallet_fee, split.donation_fee, split.tip_fee),
    )
    transaction.on_commit(lambda: notify("deposit_booked", result=result))
    return result
