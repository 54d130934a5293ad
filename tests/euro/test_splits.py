"""EUR arithmetic: parsing cents and percentages, fee split, pocket split, commission.

Property-tested: every split sums exactly to what it splits, each part within one cent of
its exact share, and nothing depends on floats.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saka.core.errors import InvalidAmount, ValidationError
from saka.core.money import format_cents, parse_cents, parse_percentage
from saka.euro.splits import commission_of, payment_split, pocket_split

# --- parse_cents --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cents"),
    [("12.34", 1234), ("12.3", 1230), ("12", 1200), ("0.01", 1), ("0.5", 50), ("100000.00", 10**7)],
)
def test_parse_cents_reads_decimal_strings_exactly(text: str, cents: int) -> None:
    assert parse_cents(text) == cents


@pytest.mark.parametrize(
    "value",
    [
        "0",
        "0.00",
        "-1.00",
        "+1.00",
        "1.234",
        "1.",
        ".5",
        "01.00",
        "1e3",
        " 1.00",
        "1.00 ",
        "1.00\n",
        "1,00",
        "\u0661.\u0660\u0660",
        "",
        "NaN",
        "inf",
        12.34,
        12,
        True,
        None,
        [],
        Decimal("1.00"),
    ],
)
def test_parse_cents_refuses_anything_else(value: object) -> None:
    with pytest.raises(InvalidAmount):
        parse_cents(value)


def test_parse_cents_limits() -> None:
    assert parse_cents("0", allow_zero=True) == 0
    assert parse_cents("100000.00", maximum=10**7) == 10**7
    with pytest.raises(InvalidAmount) as too_big:
        parse_cents("100000.01", maximum=10**7)
    assert too_big.value.data["maximum"] == "100000.00"


@given(st.integers(min_value=1, max_value=10**12))
def test_parse_cents_reads_back_format_cents(cents: int) -> None:
    assert parse_cents(format_cents(cents)) == cents


# --- percentages --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "bp"),
    [
        ("12.5", 1250),
        ("12.50", 1250),
        ("0", 0),
        ("100", 10_000),
        ("100.00", 10_000),
        ("33.33", 3333),
        (7, 700),
        (Decimal("2.25"), 225),
    ],
)
def test_percentages_are_read_as_hundredths(value: object, bp: int) -> None:
    assert parse_percentage(value) == bp


@pytest.mark.parametrize(
    "value",
    ["100.01", "101", "-1", "1.234", "1e2", "", " 5", 5.5, True, None, 101, Decimal("1.001")],
)
def test_bad_percentages_are_refused(value: object) -> None:
    with pytest.raises(ValidationError):
        parse_percentage(value)


# --- fee split ----------------------------------------------------------------------------------


@st.composite
def payments(draw: st.DrawFn) -> tuple[int, int, int, int]:
    amount = draw(st.integers(min_value=1, max_value=10**10))
    fee = draw(st.integers(min_value=0, max_value=amount))
    donation = draw(st.integers(min_value=0, max_value=amount))
    tip = draw(st.integers(min_value=0, max_value=amount - donation))
    return amount, fee, donation, tip


@given(payments())
def test_fee_parts_always_sum_to_the_fee(payment: tuple[int, int, int, int]) -> None:
    amount, fee, donation, tip = payment
    split = payment_split(amount=amount, fee=fee, donation=donation, tip=tip)
    # the fee parts sum to the fee, the nets to the amount minus the fee
    assert split.wallet_fee + split.donation_fee + split.tip_fee == fee
    assert split.wallet_net + split.donation_net + split.tip_net == amount - fee
    # each fee part is within one cent of its exact proportional share, and never above its part
    for gross, part in (
        (split.wallet_gross, split.wallet_fee),
        (split.donation_gross, split.donation_fee),
        (split.tip_gross, split.tip_fee),
    ):
        exact = Fraction(fee * gross, amount)
        assert abs(part - exact) < 1
        assert 0 <= part <= gross


def test_fee_split_example_and_bad_input() -> None:
    split = payment_split(amount=10_000, fee=290, donation=2_000, tip=500)
    assert (split.wallet_fee, split.donation_fee, split.tip_fee) == (218, 58, 14)
    with pytest.raises(ValueError):
        payment_split(amount=100, fee=101)
    with pytest.raises(ValueError):
        payment_split(amount=100, fee=0, donation=60, tip=41)


# --- pocket split -------------------------------------------------------------------------------


@st.composite
def allocations(draw: st.DrawFn) -> list[int]:
    count = draw(st.integers(min_value=0, max_value=100))
    left = 10_000
    out = []
    for _ in range(count):
        bp = draw(st.integers(min_value=0, max_value=left))
        out.append(bp)
        left -= bp
    return draw(st.permutations(out))


@given(total=st.integers(min_value=0, max_value=10**11), bps=allocations())
def test_pocket_parts_and_main_always_sum_to_the_deposit(total: int, bps: list[int]) -> None:
    parts, main = pocket_split(total, bps)
    assert sum(parts) + main == total
    assert len(parts) == len(bps)
    for bp, part in zip(bps, parts, strict=True):
        assert abs(part - Fraction(total * bp, 10_000)) < 1
        assert part >= 0
        if bp == 0:
            assert part == 0
    assert abs(main - Fraction(total * (10_000 - sum(bps)), 10_000)) < 1


def test_pocket_split_examples() -> None:
    # 1.00 by 33.33 % x 3: exact 33.33 each and 0.01 main; the cent left over goes to the
    # largest remainder (0.33, the first pocket on ties), not to the main balance (0.01)
    assert pocket_split(100, [3333, 3333, 3333]) == ([34, 33, 33], 0)
    assert pocket_split(10_000, [3333, 3333, 3333]) == ([3333, 3333, 3333], 1)
    assert pocket_split(1000, []) == ([], 1000)
    assert pocket_split(0, [5000]) == ([0], 0)
    with pytest.raises(ValueError):
        pocket_split(100, [6000, 5000])


# --- commission ---------------------------------------------------------------------------------


@given(
    amount=st.integers(min_value=1, max_value=10**7),
    rate=st.decimals(min_value=0, max_value=Decimal("0.999999"), places=6),
)
def test_commission_is_the_exact_floor(amount: int, rate: Decimal) -> None:
    cut = commission_of(amount, rate)
    assert cut == int(Fraction(amount) * Fraction(rate))  # floor for non-negatives
    assert 0 <= cut <= amount


def test_commission_examples() -> None:
    assert commission_of(10_000, Decimal("0.05")) == 500
    assert commission_of(1, Decimal("0.05")) == 0
    assert commission_of(29, Decimal("0.05")) == 1  # 1.45 -> 1, the project keeps 28
    assert commission_of(100, Decimal("0.29")) == 29  # never floor(100 * 0.29 as float) = 28
