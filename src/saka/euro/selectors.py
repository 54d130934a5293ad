"""EUR reads: a member's wallet, pockets, history and pledges, their assets overview;
campaigns; settlements; the public EUR settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Coalesce

from saka.core.errors import ValidationError
from saka.core.money import format_cents
from saka.euro.accounts import EURO_BOOK, project_account_id, system_account_id
from saka.euro.conf import get_settings
from saka.euro.errors import CampaignNotFound, PocketNotFound, SettlementNotFound
from saka.euro.models import (
    AccountKind,
    Campaign,
    CampaignStatus,
    EuroAccount,
    EuroPosting,
    Pledge,
    PledgeKind,
    PledgeStatus,
    Pocket,
    SettlementRun,
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
    """The member's postings on their main balance and pockets (closed ones too), newest
    first, with their entry. Escrow lines are not listed: a pledge shows as the wallet's debit,
    its refund or cancellation as the wallet's credit."""
    account_ids = list(
        EuroAccount.objects.filter(kind=AccountKind.WALLET, member_id=member_id).values_list(
            "id", flat=True
        )
    ) + list(Pocket.objects.filter(member_id=member_id).values_list("account_id", flat=True))
    return (
        EuroPosting.objects.filter(account_id__in=account_ids)
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


@dataclass(frozen=True)
class CampaignSummary:
    id: int
    project_id: int
    goal: int
    deadline: datetime
    status: str
    created_at: datetime
    closed_at: datetime | None
    totals: dict[str, int]  # "<status>_count" and "<status>_cents" for each pledge status
    settlement_status: str | None


def campaign_get(*, campaign_id: Any) -> Campaign:
    if isinstance(campaign_id, bool) or not isinstance(campaign_id, int):
        raise CampaignNotFound(campaign_id=campaign_id)
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise CampaignNotFound(campaign_id=campaign_id)
    return campaign


def campaign_totals(*, campaign_id: int) -> dict[str, int]:
    """Count and cents of a campaign's pledges by status (one grouped query)."""
    out = {f"{s}_count": 0 for s in PledgeStatus.values}
    out |= {f"{s}_cents": 0 for s in PledgeStatus.values}
    rows = (
        Pledge.objects.filter(campaign_id=campaign_id)
        .values("status")
        .annotate(n=Count("id"), cents=Coalesce(Sum("amount_cents"), 0))
        .order_by()
    )
    for row in rows:
        out[f"{row['status']}_count"] = int(row["n"])
        out[f"{row['status']}_cents"] = int(row["cents"])
    return out


def campaign_summary(*, campaign_id: Any) -> CampaignSummary:
    campaign = campaign_get(campaign_id=campaign_id)
    run_status = (
        SettlementRun.objects.filter(campaign=campaign).values_list("status", flat=True).first()
    )
    return CampaignSummary(
        id=campaign.pk,
        project_id=campaign.project_id,
        goal=campaign.goal_cents,
        deadline=campaign.deadline,
        status=campaign.status,
        created_at=campaign.created_at,
        closed_at=campaign.closed_at,
        totals=campaign_totals(campaign_id=campaign.pk),
        settlement_status=run_status,
    )


RAISING = (PledgeStatus.HELD, PledgeStatus.RELEASED)  # what a campaign counts as raised


def _raised(campaign_ref: str) -> Any:
    """Σ held and released pledges of the campaign ``campaign_ref`` names (a subquery)."""
    total = (
        Pledge.objects.filter(campaign_id=OuterRef(campaign_ref), status__in=RAISING)
        .order_by()
        .values("campaign_id")
        .annotate(total=Sum("amount_cents"))
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=BigIntegerField()), 0)


def campaign_list(
    *, status: str | None = None, project_id: int | None = None
) -> QuerySet[Campaign]:
    """Campaigns, newest first, of one status (default ``open``), optionally of one project;
    annotated with ``raised_cents`` (Σ held and released pledges) and ``project_title``."""
    status = CampaignStatus.OPEN if status is None else status
    if status not in CampaignStatus.values:
        raise ValidationError(
            f"status must be one of {', '.join(CampaignStatus.values)}.", field="status"
        )
    qs = Campaign.objects.filter(status=status)
    if project_id is not None:
        qs = qs.filter(project_id=project_id)
    return qs.annotate(raised_cents=_raised("pk"), project_title=F("project__title")).order_by(
        "-id"
    )


def projects_with_campaign(projects: QuerySet[Any]) -> QuerySet[Any]:
    """``projects`` annotated with their campaign: the open one, else the latest
    (``campaign_id`` ``None`` when the project never had one), its status, goal, deadline
    and raised cents; one query whatever the number of projects."""
    latest = Campaign.objects.filter(project_id=OuterRef("pk")).order_by(
        Case(When(status=CampaignStatus.OPEN, then=0), default=1), "-id"
    )
    return projects.annotate(
        campaign_id=Subquery(latest.values("id")[:1]),
        campaign_status=Subquery(latest.values("status")[:1]),
        campaign_goal_cents=Subquery(latest.values("goal_cents")[:1]),
        campaign_deadline=Subquery(latest.values("deadline")[:1]),
    ).annotate(campaign_raised_cents=_raised("campaign_id"))


def campaign_for_settlement(*, project_id: int) -> Campaign:
    """The campaign ``saka_settle --project`` works on: the project's latest campaign."""
    campaign = Campaign.objects.filter(project_id=project_id).order_by("-id").first()
    if campaign is None:
        raise CampaignNotFound("The project has no campaign.", project_id=project_id)
    return campaign


def settlement_get(*, campaign_id: Any) -> SettlementRun:
    campaign = campaign_get(campaign_id=campaign_id)
    run = SettlementRun.objects.filter(campaign=campaign).first()
    if run is None:
        raise SettlementNotFound(campaign_id=campaign.pk, campaign_status=campaign.status)
    return run


def _settlement_spec() -> Any:
    # the engine's spec of the settlement (imported here: the settlement imports this module)
    from saka.euro.settlement import SETTLEMENT

    return SETTLEMENT


def settlement_progress(run: SettlementRun) -> dict[str, Any]:
    """The settlement's chunks pending, leased and done, who holds each lease, and whether
    it is stalled (unfinished and nobody works on it)."""
    from saka.engine.lifecycle import chunk_summary, is_stalled

    spec = _settlement_spec()
    return {**chunk_summary(spec, run), "stalled": is_stalled(spec, run)}


def settlement_stalled_ids() -> list[int]:
    """Settlements nobody works on (interrupted, or no lease and no progress for a while)."""
    from saka.engine.lifecycle import stalled

    return list(stalled(_settlement_spec()).values_list("pk", flat=True))


def settlement_summary(run: SettlementRun, *, progress: bool = False) -> dict[str, Any]:
    """A run as a JSON-able dict; money as decimal strings with two places; with
    ``progress``, its chunks and leases too (a few more queries)."""
    summary: dict[str, Any] = {
        "id": run.pk,
        "campaign_id": run.campaign_id,
        "kind": run.kind,
        "status": run.status,
        "outcome": run.outcome,
        "as_of": run.as_of.isoformat(),
        "commission_rate": run.commission_rate,
        "chunk_size": run.chunk_size,
        "pledges_total": run.pledges_total,
        "pledges_done": run.pledges_done,
        "pledges_skipped": run.pledges_skipped,
        "chunks_done": run.chunks_done,
        "phase": run.phase,
        "amount": format_cents(run.amount_done),
        "commission": format_cents(run.commission_done),
        "net_to_project": format_cents(run.net_done),
        "refunded": format_cents(run.refunded_done),
        "attempts": run.attempts,
        "error": run.error,
        "trigger": run.trigger,
        "triggered_by_id": run.triggered_by_id,
        "created_at": run.created_at.isoformat(),
        "updated_at": run.updated_at.isoformat(),
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "duration_ms": run.duration_ms,
    }
    if progress:
        summary["progress"] = settlement_progress(run)
    return summary
