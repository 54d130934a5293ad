"""EUR arithmetic, exact to the cent (integer cents, ``Decimal`` percentages and rates).

- The processor fee is split between a payment's parts (wallet, donation, tip) in proportion
  to their gross amounts, by largest remainder: the fee parts always sum to the fee.
- A deposit's net wallet part is split across the pockets by percentage (kept in
  hundredths of a percent), by largest remainder, with the main balance taking the rest
  (weight ``100 % - Σ percentages``): the parts always sum to the deposit.
- The commission of a released pledge is ``floor(amount x rate)``, per pledge: a pledge's
  split never depends on which batch it was settled in (a resumed run books the same
  figures), and rounding always favours the project (< 1 cent per pledge).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from saka.core.money import FULL_BP, split_largest_remainder


@dataclass(frozen=True)
class PaymentSplit:
    """Gross parts, their fee shares and what is booked (net) for one payment, in cents."""

    amount: int
    fee: int
    wallet_gross: int
    donation_gross: int
    tip_gross: int
    wallet_fee: int
    donation_fee: int
    tip_fee: int

    @property
    def wallet_net(self) -> int:
        return self.wallet_gross - self.wallet_fee

    @property
    def donation_net(self) -> int:
        return self.donation_gross - self.donation_fee

    @property
    def tip_net(self) -> int:
        return self.tip_gross - self.tip_fee


def payment_split(*, amount: int, fee: int, donation: int = 0, tip: int = 0) -> PaymentSplit:
    """Split a payment of ``amount`` cents carrying ``donation`` and ``tip`` parts, net of
    ``fee``. Requires ``0 <= fee <= amount`` and ``donation + tip <= amount``."""
    if amount <= 0 or not 0 <= fee <= amount or donation < 0 or tip < 0:
        raise ValueError("need amount > 0, 0 <= fee <= amount, donation >= 0, tip >= 0")
    wallet = amount - donation - tip
    if wallet < 0:
        raise ValueError("donation + tip cannot exceed the amount")
    wallet_fee, donation_fee, tip_fee = split_largest_remainder(fee, [wallet, donation, tip])
    return PaymentSplit(amount, fee, wallet, donation, tip, wallet_fee, donation_fee, tip_fee)


def pocket_split(total: int, percentages_bp: Sequence[int]) -> tuple[list[int], int]:
    """Split ``total`` cents across pockets by percentages in hundredths of a percent
    (``1250`` is 12.50 %, Σ <= 10000): ``(parts, main)``.

    ``sum(parts) + main == total`` always; each part is within one cent of
    ``total x bp / 10000``.
    """
    if total < 0:
        raise ValueError("total must be >= 0")
    rest = FULL_BP - sum(percentages_bp)
    if rest < 0 or any(bp < 0 for bp in percentages_bp):
        raise ValueError("percentages must be >= 0 and sum to at most 100")
    if not percentages_bp:
        return [], total
    *parts, main = split_largest_remainder(total, [*percentages_bp, rest])
    return parts, main


def rate_ratio(rate: Decimal) -> tuple[int, int]:
    """``rate`` as an exact fraction ``(numerator, denominator)``: ``0.05 -> (1, 20)``."""
    num, den = rate.as_integer_ratio()
    return num, den


def commission_of(amount: int, rate: Decimal) -> int:
    """The platform's commission on a released pledge: ``floor(amount x rate)``, exactly
    (integer arithmetic on the rate's fraction, the same the settlement's SQL does)."""
    num, den = rate_ratio(rate)
    return amount * num // den
