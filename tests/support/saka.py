"""SAKA helpers: a harvest at the fixed instant ``T0``, a manual adjustment, a member's wallet
balance, counts of entries (a member's, or any filter's)."""

from __future__ import annotations

from typing import Any

from saka.grains import selectors, services
from saka.grains.models import SakaEntry
from tests.support.clock import T0


def harvest(member_id: int, reason: str = "content_read", **kwargs: Any) -> Any:
    """``wallet_harvest`` of ``reason`` for ``member_id``, ``as_of=T0`` unless given."""
    kwargs.setdefault("as_of", T0)
    return services.wallet_harvest(member_id=member_id, reason=reason, **kwargs)


def saka_balance(member_id: int) -> int:
    """The member's wallet balance in grains (0 for a member who never used SAKA)."""
    return selectors.wallet_summary(member_id=member_id).balance


def count_entries(**filters):
    return SakaEntry.objects.filter(**filters).count()


def manual(member_id, amount, granted_by_id, as_of=T0):
    return services.wallet_harvest(
        member_id=member_id,
        reason="manual_adjust",
        amount=amount,
        granted_by_id=granted_by_id,
        as_of=as_of,
    )


def entries(member_id):
    return SakaEntry.objects.filter(member_id=member_id).count()
