"""Periods and parameters of the runs: the period an instant falls in, the instant a live run
may be started at on request, and the parameters a run records from the policy in force."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from saka.core.clock import ensure_aware, now
from saka.core.errors import ValidationError
from saka.grains.conf import get_settings
from saka.grains.errors import SakaDisabled
from saka.grains.models import RunKind
from saka.grains.policy import Policy


def period_of(kind: str, as_of: datetime) -> str:
    """Compost: ISO week (``2026-W48``); redistribution: month (``2026-11``), in UTC."""
    utc = ensure_aware(as_of).astimezone(UTC)
    if kind == RunKind.COMPOST:
        year, week, _ = utc.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{utc.year}-{utc.month:02d}"


def live_run_as_of(*, kind: str, as_of: datetime | None) -> datetime:
    """The instant of a live run started on request: now when ``as_of`` is ``None``, else
    ``as_of`` if it is in the current period and not in the future (spec §3)."""
    if not get_settings().enabled:
        raise SakaDisabled()
    current = now()
    if as_of is None:
        return current
    if as_of > current or period_of(kind, as_of) != period_of(kind, current):
        raise ValidationError(
            "A live run can only be started for the current period, at an instant that is not "
            "in the future.",
            field="as_of",
            period=period_of(kind, current),
        )
    return as_of


def run_parameters(kind: str, policy: Policy) -> dict[str, Any]:
    """The parameters a run of ``kind`` records (and applies, even if the policy changes)."""
    if kind == RunKind.COMPOST:
        c = policy.compost
        return {
            "inactivity_days": c.inactivity_days,
            "rate": str(c.rate),
            "min_balance": c.min_balance,
            "min_amount": c.min_amount,
        }
    r = policy.redistribution
    return {
        "rate": str(r.rate),
        "min_harvested": r.min_harvested,
        "active_days": r.active_days,
    }
