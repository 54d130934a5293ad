"""Periods and parameters of the runs: the period an instant falls in, the instant a live run
may be started at on request, and the parameters a run records from the settings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from saka.core.clock import ensure_aware, now
from saka.core.errors import ValidationError
from saka.grains.conf import SakaSettings, get_settings
from saka.grains.errors import SakaDisabled
from saka.grains.models import RunKind


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


def run_parameters(kind: str, cfg: SakaSettings) -> dict[str, Any]:
    """The parameters a run of ``kind`` records (and applies, even if the settings change)."""
    if kind == RunKind.COMPOST:
        return {
            "inactivity_days": cfg.compost_inactivity_days,
            "rate": str(cfg.compost_rate),
            "min_balance": cfg.compost_min_balance,
            "min_amount": cfg.compost_min_amount,
        }
    return {
        "rate": str(cfg.redistribution_rate),
        "min_harvested": cfg.redistribution_min_harvested,
        "active_days": cfg.redistribution_active_days,
    }
