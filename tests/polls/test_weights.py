"""A vote's cost and weight: the table at every intensity, the cap, and properties (exact
decimals with 6 places, never a float; monotone; capped)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saka.polls.weights import vote_cost, vote_weight

# sqrt(i) * (1 + 5i/200), floored to 6 places (computed independently at 50 digits)
WITH_SAKA = {1: "1.025000", 2: "1.484924", 3: "1.861954", 4: "2.200000", 5: "2.515576"}
WITHOUT_SAKA = {1: "1.000000", 2: "1.414213", 3: "1.732050", 4: "2.000000", 5: "2.236067"}

intensities = st.integers(min_value=1, max_value=5)
spends = st.integers(min_value=0, max_value=10**12)
multipliers = st.decimals(min_value=1, max_value=10, places=6, allow_nan=False)
scales = st.integers(min_value=1, max_value=10**9)


@pytest.mark.parametrize("intensity", [1, 2, 3, 4, 5])
def test_cost_and_weight_at_every_intensity(intensity):
    # given the defaults (5 grains per intensity, multiplier cap 2.0, scale 200)
    # when
    cost = vote_cost(intensity)
    boosted = vote_weight(intensity, cost)
    plain = vote_weight(intensity, 0)
    # then
    assert cost == 5 * intensity
    assert boosted == Decimal(WITH_SAKA[intensity])
    assert plain == Decimal(WITHOUT_SAKA[intensity])
    assert str(boosted) == WITH_SAKA[intensity]


def test_the_multiplier_is_capped_at_max_multiplier():
    # given spends at, beyond and far beyond SCALE * (MAX_MULTIPLIER - 1) = 200
    # when / then the weight stops at sqrt(intensity) * 2
    assert vote_weight(4, 200) == Decimal("4.000000")
    assert vote_weight(4, 201) == Decimal("4.000000")
    assert vote_weight(4, 10**12) == Decimal("4.000000")
    assert vote_weight(4, 199) == Decimal("3.990000")


def test_settings_drive_cost_and_weight(settings):
    # given other settings
    settings.SAKA_VOTE_COST_PER_INTENSITY = 7
    settings.SAKA_VOTE_MAX_MULTIPLIER = "3"
    settings.SAKA_VOTE_SCALE = 10
    # when / then
    assert vote_cost(2) == 14
    assert vote_weight(1, 14) == Decimal("2.400000")
    assert vote_weight(1, 100) == Decimal("3.000000")


@pytest.mark.parametrize("bad", [0, 6, -1, True, 2.0, "3", None])
def test_intensity_out_of_range_is_refused(bad):
    with pytest.raises(ValueError, match="intensity"):
        vote_cost(bad)
    with pytest.raises(ValueError, match="intensity"):
        vote_weight(bad, 0)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "10", None])
def test_spent_must_be_a_non_negative_integer(bad):
    with pytest.raises(ValueError, match="spent"):
        vote_weight(1, bad)


@given(intensities, spends, multipliers, scales)
def test_weight_is_an_exact_decimal_with_six_places(intensity, spent, cap, scale):
    weight = vote_weight(intensity, spent, max_multiplier=cap, scale=scale)
    assert type(weight) is Decimal
    assert not isinstance(weight, float)
    assert weight.as_tuple().exponent == -6
    # fits Vote.weight (max_digits 12, 6 places) and is never above the exact value
    assert weight < Decimal(10**6)
    assert weight > 0
    exact = Decimal(intensity).sqrt() * (1 + min(cap - 1, Decimal(spent) / scale))
    assert weight <= exact + Decimal("1e-20")
    assert exact - weight < Decimal("0.000001") + Decimal("1e-20")


@given(intensities, st.integers(min_value=1, max_value=1000))
def test_cost_is_an_int(intensity, per):
    cost = vote_cost(intensity, per_intensity=per)
    assert type(cost) is int
    assert cost == intensity * per


@given(intensities, intensities, spends, spends, multipliers, scales)
def test_weight_is_monotone_in_intensity_and_spent(i1, i2, s1, s2, cap, scale):
    (lo_i, hi_i), (lo_s, hi_s) = sorted((i1, i2)), sorted((s1, s2))
    low = vote_weight(lo_i, lo_s, max_multiplier=cap, scale=scale)
    assert low <= vote_weight(hi_i, lo_s, max_multiplier=cap, scale=scale)
    assert low <= vote_weight(lo_i, hi_s, max_multiplier=cap, scale=scale)
    assert low <= vote_weight(hi_i, hi_s, max_multiplier=cap, scale=scale)


@given(intensities, spends, multipliers, scales)
def test_the_multiplier_never_exceeds_its_cap(intensity, spent, cap, scale):
    weight = vote_weight(intensity, spent, max_multiplier=cap, scale=scale)
    plain = vote_weight(intensity, 0, max_multiplier=cap, scale=scale)
    assert plain <= weight <= (Decimal(intensity).sqrt() * cap)
