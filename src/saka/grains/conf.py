"""SAKA settings, validated at start-up (out-of-range values refuse to start)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from saka.core.errors import ValidationError
from saka.core.money import parse_rate


@dataclass(frozen=True)
class HarvestRule:
    reward: int
    daily_limit: int


# A poll vote's plant (grains spent for weight) and harvest (saka.grains.votes).
POLL_VOTE = "poll_vote"
# Reasons a member can be rewarded for, with base reward and harvests allowed per calendar day.
HARVEST_RULES: dict[str, HarvestRule] = {
    "content_read": HarvestRule(reward=10, daily_limit=3),
    POLL_VOTE: HarvestRule(reward=5, daily_limit=10),
    "invite_accepted": HarvestRule(reward=50, daily_limit=5),
    "invest_bonus": HarvestRule(reward=100, daily_limit=1),
}
MANUAL_ADJUST = "manual_adjust"
MANUAL_ADJUST_MAX_GRANT = 500
MANUAL_ADJUST_MAX_PER_24H = 1000
PROJECT_BOOST = "project_boost"
# A plant's reason: 1 to 32 lowercase letters, digits or _, starting with a letter.
PLANT_REASON_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"


# The rules' integer parameters and their ranges: validated here at start-up, and the bounds
# of the policy lab's versions and candidates (``saka.grains.policy``).
RULE_INT_BOUNDS: dict[str, tuple[int, int]] = {
    "compost_inactivity_days": (1, 365),
    "compost_min_balance": (0, 10**12),
    "compost_min_amount": (1, 10**12),
    "redistribution_min_harvested": (0, 10**12),
    "redistribution_active_days": (0, 3650),
}


def _rule_int(name: str, default: int) -> int:
    return _int(f"SAKA_{name.upper()}", default, *RULE_INT_BOUNDS[name])


@dataclass(frozen=True)
class SakaSettings:
    enabled: bool
    compost_inactivity_days: int
    compost_rate: Decimal
    compost_min_balance: int
    compost_min_amount: int
    redistribution_rate: Decimal
    redistribution_min_harvested: int
    redistribution_active_days: int
    time_zone: ZoneInfo
    boost_cost: int
    run_workers: int


def _int(name: str, default: int, low: int, high: int) -> int:
    value: Any = getattr(settings, name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ImproperlyConfigured(f"{name} must be an integer in {low}..{high}, got {value!r}.")
    return value


def _rate(name: str, default: str) -> Decimal:
    try:
        return parse_rate(getattr(settings, name, default), name=name)
    except ValidationError as exc:
        raise ImproperlyConfigured(exc.message) from exc


def load_settings() -> SakaSettings:
    """Read and validate every ``SAKA_*`` setting; raise ImproperlyConfigured when off."""
    enabled = getattr(settings, "SAKA_ENABLED", True)
    if not isinstance(enabled, bool):
        raise ImproperlyConfigured(f"SAKA_ENABLED must be True or False, got {enabled!r}.")
    tz_name = getattr(settings, "SAKA_TIME_ZONE", "UTC")
    try:
        tz = ZoneInfo(str(tz_name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ImproperlyConfigured(f"SAKA_TIME_ZONE {tz_name!r} is not a known time zone.") from exc
    return SakaSettings(
        enabled=enabled,
        compost_inactivity_days=_rule_int("compost_inactivity_days", 90),
        compost_rate=_rate("SAKA_COMPOST_RATE", "0.10"),
        compost_min_balance=_rule_int("compost_min_balance", 50),
        compost_min_amount=_rule_int("compost_min_amount", 10),
        redistribution_rate=_rate("SAKA_REDISTRIBUTION_RATE", "0.05"),
        redistribution_min_harvested=_rule_int("redistribution_min_harvested", 1),
        redistribution_active_days=_rule_int("redistribution_active_days", 90),
        time_zone=tz,
        boost_cost=_int("SAKA_BOOST_COST", 10, 1, 10**9),
        # threads (one database connection each) doing a run's chunks on PostgreSQL
        run_workers=_int("SAKA_RUN_WORKERS", 2, 1, 32),
    )


@cache
def get_settings() -> SakaSettings:
    return load_settings()


def _reset(**kwargs: Any) -> None:
    if str(kwargs.get("setting", "")).startswith("SAKA_"):
        get_settings.cache_clear()


setting_changed.connect(_reset)
