"""EUR reads of a member's money: balances, the wallet summary, pockets, history, pledges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import (
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Coalesce

from saka.core.errors import ValidationError
from saka.euro.accounts import EURO_BOOK, project_account_id, system_account_id
from saka.euro.errors import PocketNotFound
from saka.euro.models import (
    AccountKind,
    EuroAccount,
    EuroPosting,
    Pledge,
    PledgeStatus,
    Pocket,
)
from saka.ledger.posting import account_balances


@dataclass(frozen=True)
class PocketSummary:
    id: int
    name: str
    percentage_bp: int
    balance: int
    created_at: datetime


@dataclass(frozen=True)
class WalletSummary:
    member_id: int
    available: int  # main balance: what can be pledged or moved to a pocket
    held: int  # in escrow for held pledges
    pockets_total: int
    allocated_bp: int  # Σ open pockets' percentages
    pockets: list[PocketSummary]

    @property
    def total(self) -> int:
        return self.available + self.held + self.pockets_total


def account_balance(*, account_id: int) -> int:
    """An account's balance: cached, plus the pending credits of a rolled-up (project or
    commission) account not folded yet. 0 for an unknown account."""
    return account_balances(book=EURO_BOOK, account_ids=[account_id]).get(account_id, 0)


def platform_balance() -> int:
    """The platform's commission account: commissions on released pledges and tips."""
    return account_balance(account_id=system_account_id(AccountKind.COMMISSION))


def project_account_balance(*, project_id: int) -> int:
    """A project's EUR account: donations and released pledges (net of commission)."""
    return account_balance(account_id=project_account_id(project_id=project_id))


def pocket_list(*, member_id: int) -> list[PocketSummary]:
    """The member's open pockets with their balances, oldest first."""
    rows = (
        Pocket.objects.filter(member_id=member_id, closed_at__isnull=True)
        .order_by("id")
        .values_list("id", "name", "percentage_bp", "account__balance", "created_at")
    )
    return [PocketSummary(*row) for row in rows]


def wallet_summary(*, member_id: int) -> WalletSummary:
    """The member's EUR wallet (zeros when they never had one; nothing is created)."""
    available = (
        EuroAccount.objects.filter(kind=AccountKind.WALLET, member_id=member_id)
        .values_list("balance", flat=True)
        .first()
    ) or 0
    held = Pledge.objects.filter(member_id=member_id, status=PledgeStatus.HELD).aggregate(
        s=Coalesce(Sum("amount_cents"), 0)
    )["s"]
    pockets = pocket_list(member_id=member_id)
    return WalletSummary(
        member_id=member_id,
        available=int(available),
        held=int(held),
        pockets_total=sum(p.balance for p in pockets),
        allocated_bp=sum(p.percentage_bp for p in pockets),
        pockets=pockets,
    )


def pocket_get(*, member_id: int, pocket_id: int) -> PocketSummary:
    row = (
        Pocket.objects.filter(member_id=member_id, closed_at__isnull=True, pk=pocket_id)
        .values_list("id", "name", "percentage_bp", "account__balance", "created_at")
        .first()
    )
    if row is None:
        raise PocketNotFound(pocket_id=pocket_id)
    return PocketSummary(*row)


def wallet_history(*, member_id: int) -> QuerySet[EuroPosting]:
    """The member's postings on their main balance and pockets (closed ones too) and the
    releases of their pledges, newest first, with their entry and account.

    A pledge shows as the wallet's debit, its refund or cancellation as the wallet's credit;
    its release moves nothing in the wallet, so it shows as the debit of the pledge's escrow
    (``account`` "escrow" in the API). Every branch is ``account_id = ANY(...)`` on the
    ``(account, id)`` index; the escrows are those of the member's released pledges (the
    ``(member, -id)`` index of pledges), their credits (the pledges themselves) left out."""
    account_ids = list(
        EuroAccount.objects.filter(kind=AccountKind.WALLET, member_id=member_id).values_list(
            "id", flat=True
        )
    ) + list(Pocket.objects.filter(member_id=member_id).values_list("account_id", flat=True))
    escrow_ids = list(
        Pledge.objects.filter(member_id=member_id, status=PledgeStatus.RELEASED).values_list(
            "escrow_id", flat=True
        )
    )
    lines = Q(account_id__in=account_ids)
    if escrow_ids:
        lines |= Q(account_id__in=escrow_ids, amount__lt=0)
    return (
        EuroPosting.objects.filter(lines)
        .select_related("entry", "account", "account__pocket")
        .order_by("-id")
    )


def pledge_list(*, member_id: int, status: str | None = None) -> QuerySet[Pledge]:
    """The member's pledges, newest first; optionally of one status."""
    if status is not None and status not in PledgeStatus.values:
        raise ValidationError(
            f"status must be one of {', '.join(PledgeStatus.values)}.", field="status"
        )
    qs = Pledge.objects.filter(member_id=member_id).order_by("-id")
    if status is not None:
        qs = qs.filter(status=status)
    return qs
