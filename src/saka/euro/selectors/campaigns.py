"""EUR reads of campaigns (goal, raised, lists) and their settlements (progress, stalls)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
from saka.euro.errors import CampaignNotFound, SettlementNotFound
from saka.euro.models import (
    Campaign,
    CampaignStatus,
    Pledge,
    PledgeStatus,
    SettlementRun,
)


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
