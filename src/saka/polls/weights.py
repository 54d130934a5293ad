"""A vote's cost in grains and its weight, in exact decimals (never a float).

- ``vote_cost(intensity)`` = ``intensity * SAKA_VOTE_COST_PER_INTENSITY`` (integer grains).
- ``vote_weight(intensity, spent)`` =
  ``sqrt(intensity) * (1 + min(MAX_MULTIPLIER - 1, spent / SCALE))``.

Computed in one local decimal context (28 significant digits, traps on), then quantized to 6
decimal places with **one** rounding, ``ROUND_FLOOR`` (a weight is never rounded up). The
square root is correctly rounded at 28 digits (the ``decimal`` module's own rule), far below
the 6 places kept. The result always has exponent -6 and fits ``Vote.weight`` (12 digits).
"""

from __future__ import annotations

from decimal import (
    ROUND_FLOOR,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)

from saka.polls.conf import get_settings

MIN_INTENSITY = 1
MAX_INTENSITY = 5
WEIGHT_PLACES = Decimal("0.000001")
_CONTEXT = Context(
    prec=28, rounding=ROUND_FLOOR, traps=[InvalidOperation, DivisionByZero, Overflow]
)


def _check_intensity(intensity: int) -> None:
    if (
        isinstance(intensity, bool)
        or not isinstance(intensity, int)
        or not MIN_INTENSITY <= intensity <= MAX_INTENSITY
    ):
        raise ValueError(f"intensity must be an integer in 1..5, got {intensity!r}")


def vote_cost(intensity: int, *, per_intensity: int | None = None) -> int:
    """Grains a vote of ``intensity`` spends (``SAKA_VOTE_COST_PER_INTENSITY`` by default)."""
    _check_intensity(intensity)
    per = get_settings().vote_cost_per_intensity if per_intensity is None else per_intensity
    return intensity * per


def vote_weight(
    intensity: int,
    spent: int,
    *,
    max_multiplier: Decimal | None = None,
    scale: int | None = None,
) -> Decimal:
    """A vote's weight: ``sqrt(intensity)`` times the multiplier its ``spent`` grains buy."""
    _check_intensity(intensity)
    if isinstance(spent, bool) or not isinstance(spent, int) or spent < 0:
        raise ValueError(f"spent must be a non-negative integer, got {spent!r}")
    if max_multiplier is None or scale is None:
        conf = get_settings()
        max_multiplier, scale = conf.max_multiplier, conf.scale
    ctx = _CONTEXT
    cap: Decimal = ctx.subtract(max_multiplier, Decimal(1))
    bonus: Decimal = min(cap, ctx.divide(Decimal(spent), Decimal(scale)))
    multiplier = ctx.add(Decimal(1), bonus)
    weight = ctx.multiply(ctx.sqrt(Decimal(intensity)), multiplier)
    return weight.quantize(WEIGHT_PLACES, rounding=ROUND_FLOOR, context=ctx)
