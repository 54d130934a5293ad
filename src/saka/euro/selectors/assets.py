"""A member's EUR assets overview (available, escrow, pockets, donations, equity) and the
public EUR settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import (
    Sum,
)

from saka.euro.conf import get_settings
from saka.euro.models import (
    AccountKind,
    EuroAccount,
    Pledge,
    PledgeKind,
    PledgeStatus,
)
from saka.euro.selectors.wallets import PocketSummary, pocket_list


@dataclass(frozen=True)
class ProjectPledgeTotals:
    """What one member pledged to one project: held in escrow, and released to it (gross:
    what the member gave, the platform's commission included)."""

    project_id: int
    title: str
    held: int
    released: int


@dataclass(frozen=True)
class PledgeTotals:
    """A member's pledges of one kind: Σ held, Σ released, and per project (by project id)."""

    held: int
    released: int
    projects: list[ProjectPledgeTotals]


@dataclass(frozen=True)
class MemberEuroAssets:
    """The EUR side of a member's assets overview.

    - ``available``: the main balance; ``held``: Σ of the member's held pledges (every kind:
      what the escrow holds); ``pockets``: the open pockets, ``pockets_total`` their Σ;
    - ``donations``: donation pledges, held and released (made: released to the project);
      refunded and cancelled pledges came back and are not counted;
    - ``equity``: equity pledges the same way (a position: released), ``None`` while
      ``SAKA_EQUITY_PLEDGES_ENABLED`` is off.
    """

    member_id: int
    available: int
    held: int
    pockets_total: int
    pockets: list[PocketSummary]
    donations: PledgeTotals
    equity: PledgeTotals | None

    @property
    def total(self) -> int:
        return self.available + self.held + self.pockets_total


def _pledge_totals(rows: Sequence[Mapping[str, Any]], kind: str) -> PledgeTotals:
    """``rows`` (project, kind, status, cents) of one member, summed for pledges of ``kind``."""
    titles: dict[int, str] = {}
    sums: dict[tuple[int, str], int] = {}
    for row in rows:
        if row["kind"] == kind:
            titles[row["project_id"]] = row["project__title"]
            sums[(row["project_id"], row["status"])] = int(row["cents"])
    projects = [
        ProjectPledgeTotals(
            project_id=pid,
            title=titles[pid],
            held=sums.get((pid, PledgeStatus.HELD), 0),
            released=sums.get((pid, PledgeStatus.RELEASED), 0),
        )
        for pid in sorted(titles)
    ]
    return PledgeTotals(
        held=sum(p.held for p in projects),
        released=sum(p.released for p in projects),
        projects=projects,
    )


def member_assets_eur(*, member_id: int) -> MemberEuroAssets:
    """The member's EUR assets (zeros when they never had a wallet; nothing is created):
    three queries whatever the number of pockets and pledges (the wallet, the pockets, the
    held and released pledges grouped by project, kind and status on the member's index)."""
    available = (
        EuroAccount.objects.filter(kind=AccountKind.WALLET, member_id=member_id)
        .values_list("balance", flat=True)
        .first()
    ) or 0
    pockets = pocket_list(member_id=member_id)
    rows = list(
        Pledge.objects.filter(
            member_id=member_id, status__in=(PledgeStatus.HELD, PledgeStatus.RELEASED)
        )
        .values("project_id", "project__title", "kind", "status")
        .annotate(cents=Sum("amount_cents"))
        .order_by()
    )
    return MemberEuroAssets(
        member_id=member_id,
        available=int(available),
        held=sum(int(r["cents"]) for r in rows if r["status"] == PledgeStatus.HELD),
        pockets_total=sum(p.balance for p in pockets),
        pockets=pockets,
        donations=_pledge_totals(rows, PledgeKind.DONATION),
        equity=_pledge_totals(rows, PledgeKind.EQUITY)
        if get_settings().equity_pledges_enabled
        else None,
    )


@dataclass(frozen=True)
class EuroPublicSettings:
    """What a front end may know of the EUR settings: the platform's commission on released
    pledges (``SAKA_PLATFORM_COMMISSION_RATE``) and whether equity pledges are on
    (``SAKA_EQUITY_PLEDGES_ENABLED``; they also need a KYC-verified member)."""

    currency: str
    commission_rate: Decimal
    equity_pledges: bool


EURO_CURRENCY = "EUR"  # the one currency of the EUR book (the webhook takes "eur" payments)


def euro_public_settings() -> EuroPublicSettings:
    cfg = get_settings()
    return EuroPublicSettings(
        currency=EURO_CURRENCY,
        commission_rate=cfg.commission_rate,
        equity_pledges=cfg.equity_pledges_enabled,
    )
