"""EUR reads for the staff dashboard: deposits and fees per day, pockets, campaigns with their
goal progress, the settlements under way (docs/dashboard.md).

Each is an indexed query: the daily series find their range with the BRIN index on
``euro_entry.created_at`` (the fees: the processor account's postings of those entries), the
pockets are the pocket table's open rows, campaigns and settlements their own small tables.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Sum
from django.db.models.functions import Coalesce, TruncDate

from saka.core.clock import day_bounds, ensure_aware, now
from saka.core.money import format_cents
from saka.engine.models import UNFINISHED
from saka.euro.models import (
    AccountKind,
    CampaignStatus,
    EntryKind,
    EuroAccount,
    EuroEntry,
    EuroPosting,
    Pocket,
    SettlementChunk,
    SettlementRun,
)
from saka.euro.selectors.campaigns import campaign_list

UTC_ZONE = ZoneInfo("UTC")  # the EUR book's days are UTC days


def deposits_daily(*, as_of: datetime | None = None, days: int = 30) -> list[dict[str, Any]]:
    """Per day of the last ``days`` days (UTC) that had deposits: how many, their gross cents
    and the processor fees in cents; oldest first. Two grouped queries over the window."""
    at = ensure_aware(as_of or now())
    start = day_bounds(at - timedelta(days=days - 1), _tz())[0]
    window = {"created_at__gte": start, "created_at__lte": at}
    deposits = (
        EuroEntry.objects.filter(kind=EntryKind.DEPOSIT, **window)
        .annotate(day=TruncDate("created_at", tzinfo=_tz()))
        .order_by()
        .values("day")
        .annotate(n=Count("id"), cents=Sum("amount"))
    )
    fees_id = EuroAccount.objects.filter(kind=AccountKind.FEES).values_list("id", flat=True).first()
    fees = {
        row["day"]: int(row["cents"])
        for row in EuroPosting.objects.filter(
            account_id=fees_id or 0,
            entry__kind=EntryKind.DEPOSIT,
            entry__created_at__gte=start,
            entry__created_at__lte=at,
        )
        .annotate(day=TruncDate("entry__created_at", tzinfo=_tz()))
        .order_by()
        .values("day")
        .annotate(cents=Sum("amount"))
    }
    return sorted(
        (
            {
                "day": row["day"].isoformat(),
                "deposits": int(row["n"]),
                "gross_cents": int(row["cents"]),
                "fee_cents": fees.get(row["day"], 0),
            }
            for row in deposits
        ),
        key=lambda r: r["day"],
    )


def pockets_overview() -> dict[str, Any]:
    """The open pockets: how many, of how many members, the cents they hold."""
    totals = Pocket.objects.filter(closed_at__isnull=True).aggregate(
        pockets=Count("id"),
        members=Count("member_id", distinct=True),
        cents=Coalesce(Sum("account__balance"), 0),
    )
    return {
        "pockets": int(totals["pockets"]),
        "members": int(totals["members"]),
        "cents": int(totals["cents"]),
        "amount": format_cents(int(totals["cents"])),
    }


def campaigns_progress(*, limit: int = 10) -> list[dict[str, Any]]:
    """The open campaigns (newest first): goal, raised (held and released pledges) and the
    progress in basis points of the goal (may pass 10,000)."""
    out = []
    for campaign in campaign_list(status=CampaignStatus.OPEN)[:limit]:
        raised = int(getattr(campaign, "raised_cents", 0))  # annotated by campaign_list
        out.append(
            {
                "id": campaign.pk,
                "title": getattr(campaign, "project_title", ""),
                "goal_cents": campaign.goal_cents,
                "raised_cents": raised,
                "progress_bp": raised * 10_000 // campaign.goal_cents,
                "deadline": campaign.deadline.isoformat(),
            }
        )
    return out


def settlements_unfinished() -> list[SettlementRun]:
    """The settlements not done yet, oldest first."""
    return list(SettlementRun.objects.filter(status__in=UNFINISHED).order_by("id"))


def settlement_chunks_by_worker(*, run_id: int) -> dict[str, int]:
    """Chunks done per worker of a settlement (its chunk rows, by primary key)."""
    rows = (
        SettlementChunk.objects.filter(run_id=run_id, done_at__isnull=False)
        .order_by()
        .values("worker")
        .annotate(n=Count("lo"))
    )
    return {row["worker"] or "?": int(row["n"]) for row in rows}


def _tz() -> ZoneInfo:
    return UTC_ZONE
