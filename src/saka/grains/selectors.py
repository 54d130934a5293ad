"""SAKA reads: a member's wallet and history, harvest usage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, QuerySet

from saka.core.clock import day_bounds, ensure_aware, now
from saka.core.errors import ValidationError
from saka.grains.conf import HARVEST_RULES, get_settings
from saka.grains.models import AccountKind, EntryKind, SakaAccount, SakaEntry, SakaPosting


@dataclass(frozen=True)
class WalletView:
    member_id: int
    balance: int
    lifetime_harvested: int
    lifetime_planted: int
    lifetime_composted: int
    lifetime_redistributed: int
    last_activity_at: datetime | None
    last_composted_at: datetime | None


def wallet_view(*, member_id: int) -> WalletView:
    """The member's wallet; an empty one when the member never used SAKA (nothing is created)."""
    wallet = SakaAccount.objects.filter(kind=AccountKind.WALLET, member_id=member_id).first()
    if wallet is None:
        return WalletView(member_id, 0, 0, 0, 0, 0, None, None)
    return WalletView(
        member_id=member_id,
        balance=wallet.balance,
        lifetime_harvested=wallet.lifetime_harvested,
        lifetime_planted=wallet.lifetime_planted,
        lifetime_composted=wallet.lifetime_composted,
        lifetime_redistributed=wallet.lifetime_redistributed,
        last_activity_at=wallet.last_activity_at,
        last_composted_at=wallet.last_composted_at,
    )


def wallet_history(*, member_id: int, kind: str | None = None) -> QuerySet[SakaPosting]:
    """The member's postings, newest first, with their entry; optionally of one entry kind."""
    if kind is not None and kind not in EntryKind.values:
        raise ValidationError(f"kind must be one of {', '.join(EntryKind.values)}.", field="kind")
    account_ids = SakaAccount.objects.filter(kind=AccountKind.WALLET, member_id=member_id).values(
        "id"
    )
    qs = (
        SakaPosting.objects.filter(account_id__in=account_ids)
        .select_related("entry")
        .order_by("-id")
    )
    if kind is not None:
        qs = qs.filter(entry__kind=kind)
    return qs


def harvest_usage(*, member_id: int, as_of: datetime | None = None) -> dict[str, dict[str, int]]:
    """For each reason: harvests used today (in ``SAKA_TIME_ZONE``) and the daily limit."""
    start, end = day_bounds(ensure_aware(as_of or now()), get_settings().time_zone)
    counts = dict(
        SakaEntry.objects.filter(
            member_id=member_id, kind=EntryKind.HARVEST, created_at__gte=start, created_at__lt=end
        )
        .values("reason")
        .annotate(n=Count("id"))
        .values_list("reason", "n")
    )
    return {
        reason: {"used": counts.get(reason, 0), "daily_limit": rule.daily_limit}
        for reason, rule in HARVEST_RULES.items()
    }
