"""Poll settings, validated at start-up (out-of-range values refuse to start).

``SAKA_POLLS_SAKA_VOTING`` (bool, True): votes may spend grains for weight.
``SAKA_VOTE_COST_PER_INTENSITY`` (int 1..1000, 5): grains a vote spends per intensity point.
``SAKA_VOTE_MAX_MULTIPLIER`` (decimal string 1..10, "2.0"): the weight multiplier's cap.
``SAKA_VOTE_SCALE`` (int 1..10^9, 200): grains spent for +1 on the multiplier.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

MAX_MULTIPLIER_CAP = Decimal(10)


@dataclass(frozen=True)
class PollSettings:
    saka_voting: bool
    vote_cost_per_intensity: int
    max_multiplier: Decimal
    scale: int


def _int(name: str, default: int, low: int, high: int) -> int:
    value: Any = getattr(settings, name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ImproperlyConfigured(f"{name} must be an integer in {low}..{high}, got {value!r}.")
    return value


def _multiplier(name: str, default: str) -> Decimal:
    value: Any = getattr(settings, name, default)
    # a string or an int: a float would carry binary noise into the weights
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ImproperlyConfigured(f"{name} must be a decimal string like '2.0', got {value!r}.")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ImproperlyConfigured(f"{name} must be a decimal string, got {value!r}.") from exc
    if not number.is_finite() or not Decimal(1) <= number <= MAX_MULTIPLIER_CAP:
        raise ImproperlyConfigured(f"{name} must be in 1..10, got {value!r}.")
    if number.as_tuple().exponent < -6:  # type: ignore[operator]
        raise ImproperlyConfigured(f"{name} has at most 6 decimal places, got {value!r}.")
    return number


def load_settings() -> PollSettings:
    """Read and validate the poll settings; raise ImproperlyConfigured when off."""
    saka_voting = getattr(settings, "SAKA_POLLS_SAKA_VOTING", True)
    if not isinstance(saka_voting, bool):
        raise ImproperlyConfigured(
            f"SAKA_POLLS_SAKA_VOTING must be True or False, got {saka_voting!r}."
        )
    return PollSettings(
        saka_voting=saka_voting,
        vote_cost_per_intensity=_int("SAKA_VOTE_COST_PER_INTENSITY", 5, 1, 1000),
        max_multiplier=_multiplier("SAKA_VOTE_MAX_MULTIPLIER", "2.0"),
        scale=_int("SAKA_VOTE_SCALE", 200, 1, 10**9),
    )


@cache
def get_settings() -> PollSettings:
    return load_settings()


def _reset(**kwargs: Any) -> None:
    if str(kwargs.get("setting", "")).startswith("SAKA_"):
        get_settings.cache_clear()


setting_changed.connect(_reset)
