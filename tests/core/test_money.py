"""Money arithmetic (saka.core.money): exact, integer, no floats; property-tested."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from saka.core.errors import InvalidAmount, ValidationError
from saka.core.money import (
    MAX_AMOUNT,
    MAX_BALANCE,
    floor_share,
    format_cents,
    parse_amount,
    parse_rate,
    split_largest_remainder,
    sql_rate,
)

PROPS = settings(max_examples=200, deadline=None, database=None)

amounts = st.integers(min_value=0, max_value=MAX_AMOUNT)
# Balances, whose shares the runs take: up to the largest accepted balance (above 2**53).
balances = st.integers(min_value=0, max_value=MAX_BALANCE)
# Rates as the settings and the API produce them: up to 6 decimal places in (0, 1].
rate_units = st.integers(min_value=1, max_value=10**6)


# --- floor_share -------------------------------------------------------------------------------


def test_floor_share_is_exact_where_floats_are_not():
    # given the seeds' float defect: floor(100 * 0.29) == 28 in binary floating point
    assert int(100 * 0.29) == 28
    # when / then the Decimal share is exact
    assert floor_share(100, Decimal("0.29")) == 29
    assert floor_share(1000, Decimal("0.10")) == 100
    assert floor_share(99, Decimal("0.10")) == 9
    assert floor_share(0, Decimal("0.5")) == 0
    assert floor_share(7, Decimal(1)) == 7


@PROPS
@given(amount=amounts, units=rate_units)
@example(amount=100, units=290_000)
@example(amount=MAX_AMOUNT, units=999_999)
def test_floor_share_equals_integer_arithmetic(amount, units):
    # given a rate of ``units`` millionths
    rate = Decimal(units) / Decimal(10**6)
    # when
    share = floor_share(amount, rate)
    # then it is floor(amount * units / 10**6) computed on integers
    assert share == amount * units // 10**6
    assert 0 <= share <= amount


@PROPS
@given(
    amount=balances,
    numerator=st.integers(min_value=1, max_value=10**15),
    scale=st.integers(min_value=0, max_value=15),
)
@example(amount=2**53 + 1, numerator=1, scale=0)
@example(amount=MAX_BALANCE, numerator=1, scale=0)
@example(amount=MAX_BALANCE - 1, numerator=1, scale=1)
def test_floor_share_is_the_exact_floor(amount, numerator, scale):
    # given any balance up to the ceiling and any decimal rate in (0, 1] with up to 15 places
    rate = Decimal(min(numerator, 10**scale)).scaleb(-scale)
    # when
    share = floor_share(amount, rate)
    # then it is the exact floor: never above the product (no grain created), never 1 below
    exact = Fraction(amount) * Fraction(rate)
    assert share <= exact < share + 1


def test_floor_share_is_exact_for_long_rates():
    # given a rate with 30 significant digits, just below 1
    rate = Decimal("0." + "9" * 30)
    amount = MAX_AMOUNT - 1
    # when
    share = floor_share(amount, rate)
    # then it equals the exact floor computed on integers
    assert share == amount * (10**30 - 1) // 10**30


@PROPS
@given(
    numerator=st.integers(min_value=1, max_value=10**15),
    scale=st.integers(min_value=0, max_value=15),
)
@example(numerator=1, scale=7)  # str(Decimal("1E-7")) is "1E-7"
def test_sql_rate_is_a_fixed_point_string_of_the_same_value(numerator, scale):
    # given any rate, however Decimal writes it
    rate = Decimal(min(numerator, 10**scale)).scaleb(-scale)
    # when it is made an SQL parameter
    text = sql_rate(rate)
    # then it is digits and a point only (never an exponent), of exactly the same value
    assert text.replace(".", "", 1).isdigit()
    assert Decimal(text) == rate


@pytest.mark.parametrize("rate", [1, 0.1, "0.1", Decimal("NaN"), Decimal("Infinity")])
def test_sql_rate_takes_only_finite_decimals(rate):
    # then an int (it would reach SQL as an integer) or a float is a programming error
    with pytest.raises(TypeError):
        sql_rate(rate)


# --- split_largest_remainder -------------------------------------------------------------------

weights_int = st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=30).filter(
    lambda ws: sum(ws) > 0
)
weights_dec = st.lists(
    st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=30,
).filter(lambda ws: sum(ws) > 0)


def _exact_shares(total, weights):
    weight_sum = sum(Fraction(w) for w in weights)
    return [Fraction(total) * Fraction(w) / weight_sum for w in weights]


@settings(max_examples=300, deadline=None, database=None)
@given(total=amounts, weights=st.one_of(weights_int, weights_dec))
@example(total=100, weights=[1, 1, 1])
@example(total=1, weights=[1, 1])
@example(total=0, weights=[5])
def test_split_sums_exactly_and_each_part_is_within_one(total, weights):
    # when
    parts = split_largest_remainder(total, weights)
    # then the parts sum to the whole, to the unit
    assert sum(parts) == total
    assert len(parts) == len(weights)
    exact = _exact_shares(total, weights)
    for part, share in zip(parts, exact, strict=True):
        # each part is its exact share rounded down or up by less than one unit
        assert isinstance(part, int)
        assert part >= 0
        assert abs(Fraction(part) - share) < 1
        assert part in {
            share.numerator // share.denominator,
            -(-share.numerator // share.denominator),
        }
    # a zero weight never receives anything
    assert all(p == 0 for p, w in zip(parts, weights, strict=True) if w == 0)


@settings(max_examples=200, deadline=None, database=None)
@given(total=amounts, weights=weights_int)
def test_split_gives_leftover_units_to_largest_remainders(total, weights):
    # when
    parts = split_largest_remainder(total, weights)
    # then any part rounded up has a remainder at least as large as any part rounded down
    exact = _exact_shares(total, weights)
    rounded_up = [e - int(e) for p, e in zip(parts, exact, strict=True) if p > e]
    rounded_down = [e - int(e) for p, e in zip(parts, exact, strict=True) if p < e]
    if rounded_up and rounded_down:
        assert min(rounded_up) >= max(rounded_down)


def test_split_ties_go_to_the_earlier_weight():
    # given three equal weights and 2 units to spread
    # when
    parts = split_largest_remainder(2, [1, 1, 1])
    # then
    assert parts == [1, 1, 0]
    assert split_largest_remainder(1000, [Decimal("33.33"), Decimal("33.33"), 0]) == [500, 500, 0]


@pytest.mark.parametrize(
    ("total", "weights"),
    [(-1, [1]), (10, []), (10, [0, 0]), (10, [Decimal(0)])],
)
def test_split_refuses_bad_input(total, weights):
    with pytest.raises(ValueError):
        split_largest_remainder(total, weights)


# --- parse_amount ------------------------------------------------------------------------------


@PROPS
@given(value=st.integers(min_value=1, max_value=MAX_AMOUNT))
def test_parse_amount_accepts_positive_ints_and_digit_strings(value):
    assert parse_amount(value) == value
    assert parse_amount(str(value)) == value
    assert parse_amount(f" {value} ") == value


@PROPS
@pytest.mark.slow
@given(
    value=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.none(),
        st.integers(max_value=0),
        st.integers(min_value=MAX_AMOUNT + 1),
        st.decimals(allow_nan=True, allow_infinity=True),
        st.lists(st.integers()),
        st.text().filter(lambda s: not (s.strip().isdigit() and s.isascii())),
        st.integers(max_value=0).map(str),
        st.integers(min_value=MAX_AMOUNT + 1, max_value=10**40).map(str),
    )
)
@example(value=1.0)
@example(value=True)
@example(value=0)
@example(value="0")
@example(value="-5")
@example(value="+5")
@example(value="1.5")
@example(value="1e3")
@example(value="١٢")  # Arabic-Indic digits: isdigit() but not ASCII
@example(value="²")
@example(value="")
@example(value=Decimal("5"))
def test_parse_amount_refuses_everything_else(value):
    with pytest.raises(InvalidAmount):
        parse_amount(value)


def test_parse_amount_respects_a_custom_maximum():
    # given a maximum of 500 (manual adjustments)
    assert parse_amount(500, maximum=500) == 500
    # when / then one more is refused, and the error says why
    with pytest.raises(InvalidAmount) as exc:
        parse_amount(501, maximum=500)
    assert exc.value.data == {"field": "amount", "maximum": 500}


def test_parse_amount_refuses_an_absurdly_long_digit_string():
    # past 4300 digits int() itself raises ValueError: the refusal must come first, typed
    with pytest.raises(InvalidAmount):
        parse_amount("9" * 5000)


def test_parse_amount_with_thousands_of_leading_zeros_is_typed():
    with contextlib.suppress(InvalidAmount):  # refusing is fine too; anything else is not
        assert parse_amount("0" * 5000 + "1") == 1


# --- parse_rate --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.10", Decimal("0.10")),
        (0.1, Decimal("0.1")),
        (1, Decimal(1)),
        ("1", Decimal(1)),
        (Decimal("0.05"), Decimal("0.05")),
        ("0.000001", Decimal("0.000001")),
    ],
)
def test_parse_rate_accepts_rates_in_zero_one(value, expected):
    rate = parse_rate(value, name="R")
    assert rate == expected
    assert isinstance(rate, Decimal)


@pytest.mark.parametrize(
    "value", [0, "0", -0.1, 1.5, "1.0000001", "abc", None, "NaN", "Infinity", float("nan"), [1]]
)
def test_parse_rate_refuses_out_of_range_and_garbage(value):
    with pytest.raises(ValidationError) as exc:
        parse_rate(value, name="SAKA_X")
    assert "SAKA_X" in exc.value.message


def test_parse_rate_refuses_booleans():
    with pytest.raises(ValidationError):
        parse_rate(True, name="SAKA_X")


# --- format_cents ------------------------------------------------------------------------------


@PROPS
@given(cents=st.integers(min_value=-(10**14), max_value=10**14))
def test_format_cents_round_trips_with_two_places(cents):
    text = format_cents(cents)
    whole, _, frac = text.lstrip("-").partition(".")
    assert len(frac) == 2
    assert Decimal(text) * 100 == cents
    assert text.startswith("-") == (cents < 0)
    assert whole.isdigit()


@pytest.mark.parametrize(
    ("cents", "text"), [(0, "0.00"), (5, "0.05"), (1234, "12.34"), (-1, "-0.01"), (100, "1.00")]
)
def test_format_cents_examples(cents, text):
    assert format_cents(cents) == text
