"""Periods and parameters of the runs: the period an instant falls in and the parameters a
run records from the settings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from saka.core.clock import ensure_aware
from saka.grains.conf import SakaSettings
from saka.grains.models import RunKind


def period_of(kind: str, as_of: datetime) -> str:
    """Compost: ISO week (``2026-W48``); redistribution: month (``2026-11``), in UTC."""
    utc = ensure_aware(as_of).astimezone(UTC)
    if kind == RunKind.COMPOST:
        year, week, _ = utc.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{utc.year}-{utc.month:02d}"


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
