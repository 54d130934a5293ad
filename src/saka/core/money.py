"""Money and rate types.

Units: SAKA in integer grains, EUR in integer cents. Rates are ``Decimal`` (never floats in
arithmetic). Shares of a balance are floored (SAKA); splits use the largest remainder so the
parts always sum to the whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from saka.core.errors import InvalidAmount, ValidationError

# The largest accepted values (docs/security.md, "Largest accepted values"), the same for both
# currencies (grains, cents):
# - MAX_AMOUNT: one operation's amount (a plant, a transfer, a payment); parsers refuse more.
# - MAX_BALANCE: any account's cached balance (a wallet, a pocket, the silo, a project's EUR
#   account). A CHECK constraint on every account table backs it; a posting that would push a
#   balance above it is refused with ``BalanceLimitExceeded`` and nothing is booked. It is
#   above 2**53 (so a float could not even hold every balance: all arithmetic is integer or
#   ``numeric``) and 922 times below 2**63, so a sum of balances in a chunk or a report never
#   comes near a bigint's range before the silo's own ceiling stops it.
MAX_AMOUNT = 10**12
MAX_BALANCE = 10**16


def parse_amount(value: Any, *, field: str = "amount", maximum: int = MAX_AMOUNT) -> int:
    """Return ``value`` as a strictly positive integer no larger than ``maximum``.

    Accepts ints and strings of digits; refuses bools, floats, decimals with a fraction,
    zero, negatives and anything above ``maximum`` with :class:`InvalidAmount`.
    """
    if isinstance(value, bool) or value is None:
        raise InvalidAmount(f"{field} must be a positive integer.", field=field)
    if isinstance(value, int):
        amount = value
    elif isinstance(value, str) and value.isascii() and value.strip().isdigit():
        digits = value.strip().lstrip("0") or "0"
        if len(digits) > len(str(maximum)):  # never hand int() an unbounded string
            raise InvalidAmount(f"{field} must be at most {maximum}.", field=field, maximum=maximum)
        amount = int(digits)
    else:
        raise InvalidAmount(f"{field} must be a positive integer.", field=field)
    if amount <= 0:
        raise InvalidAmount(f"{field} must be greater than zero.", field=field)
    if amount > maximum:
        raise InvalidAmount(f"{field} must be at most {maximum}.", field=field, maximum=maximum)
    return amount


def parse_rate(value: Any, *, name: str) -> Decimal:
    """Parse a rate in (0, 1] exactly. Floats are read through ``str`` (0.1 -> Decimal('0.1'))."""
    if isinstance(value, bool):
        raise ValidationError(f"{name} must be a decimal number, not {value!r}.", setting=name)
    try:
        rate = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValidationError(f"{name} must be a decimal number.", setting=name) from exc
    if not rate.is_finite() or not (Decimal(0) < rate <= Decimal(1)):
        raise ValidationError(f"{name} must be in (0, 1], got {value!r}.", setting=name)
    return rate


def sql_rate(rate: Decimal) -> str:
    """A rate as the SQL statements take it: a fixed-point string, always cast with
    ``%(rate)s::numeric`` in the statement. Never an int or a float: a Decimal of integral value
    (``Decimal(1)``) reaches PostgreSQL as the literal ``1``, an integer, and ``floor(bigint *
    integer)`` is computed in double precision (exact only below 2**53)."""
    if not isinstance(rate, Decimal) or not rate.is_finite():
        raise TypeError(f"a rate is a finite Decimal, got {rate!r}")
    return format(rate, "f")


def floor_share(amount: int, rate: Decimal) -> int:
    """floor(amount x rate), exact: ``floor_share(100, Decimal('0.29')) == 29``."""
    numerator, denominator = rate.as_integer_ratio()  # exact at any precision
    return amount * numerator // denominator


def split_largest_remainder(total: int, weights: Sequence[int | Decimal]) -> list[int]:
    """Split ``total`` in proportion to ``weights``; parts are integers summing to ``total``.

    Each part gets floor(total x w / Σw); the cents left over go, one each, to the largest
    fractional remainders (ties: earlier weight first).
    """
    if total < 0:
        raise ValueError("total must be >= 0")
    weight_sum = sum(Decimal(w) for w in weights)
    if not weights or weight_sum <= 0:
        raise ValueError("weights must be non-empty with a positive sum")
    exact = [Decimal(total) * Decimal(w) / weight_sum for w in weights]
    parts = [int(x.to_integral_value(rounding=ROUND_FLOOR)) for x in exact]
    left = total - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return parts


class Cents(int):
    """EUR integer cents carried in an error's ``data``: shown as the API writes money
    (``Cents(500)`` -> ``"5.00"``, see ``saka.core.errors``). Only a marker: arithmetic gives
    plain ints."""

    def as_error_data(self) -> str:
        return format_cents(int(self))


def format_cents(cents: int) -> str:
    """Integer cents as a decimal string with exactly two places: 1234 -> '12.34'."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"


# A EUR amount as clients write it: digits, at most two decimals (the API schema's pattern).
MONEY_PATTERN = r"^(0|[1-9][0-9]{0,14})(\.[0-9]{1,2})?$"
_CENTS_RE = re.compile(MONEY_PATTERN)


def parse_cents(
    value: Any,
    *,
    field: str = "amount",
    maximum: int = MAX_AMOUNT,
    allow_zero: bool = False,
) -> int:
    """Parse a EUR amount written as a decimal string into integer cents, exactly.

    Accepts ``"12"``, ``"12.3"`` and ``"12.34"`` (digits, at most two decimals, no sign, no
    exponent, no spaces); refuses floats, ints, bools, more decimals, and anything outside
    ``1..maximum`` cents (``0..maximum`` with ``allow_zero``) with :class:`InvalidAmount`.
    ``parse_cents("12.34") == 1234``.
    """
    example = 'a decimal string with at most two decimals, e.g. "12.34"'
    if not isinstance(value, str):
        raise InvalidAmount(f"{field} must be {example}.", field=field)
    match = _CENTS_RE.fullmatch(value)
    if match is None:
        raise InvalidAmount(f"{field} must be {example}.", field=field)
    whole, frac = match.group(1), (match.group(2) or ".")[1:].ljust(2, "0")
    cents = int(whole) * 100 + int(frac)
    if cents == 0 and not allow_zero:
        raise InvalidAmount(f"{field} must be greater than zero.", field=field)
    if cents > maximum:
        raise InvalidAmount(
            f"{field} must be at most {format_cents(maximum)}.",
            field=field,
            maximum=Cents(maximum),
        )
    return cents


# --- percentages ------------------------------------------------------------------------------

FULL_BP = 10_000  # 100.00 % in hundredths of a percent ("basis points" of a percent)
# A percentage as clients write it: 0 to 100, at most two decimals (the API schema's pattern).
PERCENT_PATTERN = r"^(0|[1-9][0-9]{0,2})(\.[0-9]{1,2})?$"
_PERCENT_RE = re.compile(PERCENT_PATTERN)


def parse_percentage(value: Any, *, field: str = "percentage") -> int:
    """A percentage in 0..100 with at most two decimals, as hundredths of a percent.

    Accepts ``"12.5"``, ``"12.50"``, ``"100"``, ints and ``Decimal``; refuses floats, bools,
    signs, exponents and more decimals. ``parse_percentage("12.5") == 1250``.
    """
    message = f'{field} must be a decimal from 0 to 100 with at most two decimals, e.g. "12.50".'
    if isinstance(value, bool) or value is None or isinstance(value, float):
        raise ValidationError(message, field=field)
    if isinstance(value, int):
        if not 0 <= value <= 100:
            raise ValidationError(message, field=field)
        return value * 100
    if isinstance(value, Decimal):
        if not value.is_finite() or value != value.quantize(Decimal("0.01")):
            raise ValidationError(message, field=field)
        value = f"{value:.2f}"
    if not isinstance(value, str):
        raise ValidationError(message, field=field)
    match = _PERCENT_RE.fullmatch(value)
    if match is None:
        raise ValidationError(message, field=field)
    bp = int(match.group(1)) * 100 + int((match.group(2) or ".")[1:].ljust(2, "0"))
    if bp > FULL_BP:
        raise ValidationError(message, field=field)
    return bp


def format_percentage(bp: int) -> str:
    """Hundredths of a percent as a decimal string with two places: 1250 -> '12.50'."""
    return f"{bp // 100}.{bp % 100:02d}"
