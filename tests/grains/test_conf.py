"""SAKA settings are validated at start-up: out-of-range values refuse with a clear message."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from saka.grains.conf import get_settings, load_settings


def test_defaults_of_the_reference_project():
    # when
    conf = load_settings()
    # then the documented defaults (spec section 3), rates as exact decimals
    assert conf.enabled is True
    assert conf.compost_inactivity_days == 90
    assert conf.compost_rate == Decimal("0.10")
    assert isinstance(conf.compost_rate, Decimal)
    assert conf.compost_min_balance == 50
    assert conf.compost_min_amount == 10
    assert conf.redistribution_rate == Decimal("0.05")
    assert conf.redistribution_min_harvested == 1
    assert conf.redistribution_active_days == 90
    assert conf.time_zone == ZoneInfo("UTC")
    assert conf.boost_cost == 10


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        (
            "SAKA_COMPOST_INACTIVITY_DAYS",
            0,
            "SAKA_COMPOST_INACTIVITY_DAYS must be an integer in 1..365",
        ),
        (
            "SAKA_COMPOST_INACTIVITY_DAYS",
            366,
            "SAKA_COMPOST_INACTIVITY_DAYS must be an integer in 1..365",
        ),
        ("SAKA_COMPOST_INACTIVITY_DAYS", "90", "SAKA_COMPOST_INACTIVITY_DAYS must be an integer"),
        ("SAKA_COMPOST_INACTIVITY_DAYS", 90.0, "SAKA_COMPOST_INACTIVITY_DAYS must be an integer"),
        ("SAKA_COMPOST_INACTIVITY_DAYS", True, "SAKA_COMPOST_INACTIVITY_DAYS must be an integer"),
        ("SAKA_COMPOST_RATE", 0, "SAKA_COMPOST_RATE must be in (0, 1]"),
        ("SAKA_COMPOST_RATE", "0", "SAKA_COMPOST_RATE must be in (0, 1]"),
        ("SAKA_COMPOST_RATE", 1.5, "SAKA_COMPOST_RATE must be in (0, 1]"),
        ("SAKA_COMPOST_RATE", "-0.1", "SAKA_COMPOST_RATE must be in (0, 1]"),
        ("SAKA_COMPOST_RATE", "abc", "SAKA_COMPOST_RATE must be a decimal number"),
        ("SAKA_COMPOST_RATE", "NaN", "SAKA_COMPOST_RATE must be in (0, 1]"),
        ("SAKA_REDISTRIBUTION_RATE", 2, "SAKA_REDISTRIBUTION_RATE must be in (0, 1]"),
        ("SAKA_REDISTRIBUTION_RATE", None, "SAKA_REDISTRIBUTION_RATE must be a decimal number"),
        ("SAKA_COMPOST_MIN_BALANCE", -1, "SAKA_COMPOST_MIN_BALANCE must be an integer"),
        ("SAKA_COMPOST_MIN_AMOUNT", 0, "SAKA_COMPOST_MIN_AMOUNT must be an integer"),
        ("SAKA_REDISTRIBUTION_MIN_HARVESTED", -1, "SAKA_REDISTRIBUTION_MIN_HARVESTED must be"),
        ("SAKA_REDISTRIBUTION_ACTIVE_DAYS", -1, "SAKA_REDISTRIBUTION_ACTIVE_DAYS must be"),
        ("SAKA_BOOST_COST", 0, "SAKA_BOOST_COST must be an integer"),
        (
            "SAKA_TIME_ZONE",
            "Mars/Olympus_Mons",
            "SAKA_TIME_ZONE 'Mars/Olympus_Mons' is not a known",
        ),
        ("SAKA_TIME_ZONE", "", "SAKA_TIME_ZONE '' is not a known time zone"),
        ("SAKA_TIME_ZONE", "../../etc/passwd", "is not a known time zone"),
        ("SAKA_ENABLED", "yes", "SAKA_ENABLED must be True or False, got 'yes'"),
        ("SAKA_ENABLED", 1, "SAKA_ENABLED must be True or False"),
    ],
)
def test_out_of_range_settings_refuse_with_a_clear_message(setting, value, message):
    # given a bad value
    with override_settings(**{setting: value}):
        # when / then
        with pytest.raises(ImproperlyConfigured) as exc:
            load_settings()
        assert message in str(exc.value)
        # the cached accessor refuses too (the override cleared the cache)
        with pytest.raises(ImproperlyConfigured):
            get_settings()


@pytest.mark.parametrize(
    ("setting", "value", "attr", "expected"),
    [
        ("SAKA_COMPOST_INACTIVITY_DAYS", 1, "compost_inactivity_days", 1),
        ("SAKA_COMPOST_INACTIVITY_DAYS", 365, "compost_inactivity_days", 365),
        ("SAKA_COMPOST_RATE", 0.1, "compost_rate", Decimal("0.1")),
        ("SAKA_COMPOST_RATE", 1, "compost_rate", Decimal(1)),
        ("SAKA_COMPOST_RATE", "0.000001", "compost_rate", Decimal("0.000001")),
        ("SAKA_REDISTRIBUTION_RATE", Decimal("0.25"), "redistribution_rate", Decimal("0.25")),
        ("SAKA_REDISTRIBUTION_ACTIVE_DAYS", 0, "redistribution_active_days", 0),
        ("SAKA_COMPOST_MIN_BALANCE", 0, "compost_min_balance", 0),
        ("SAKA_TIME_ZONE", "Europe/Paris", "time_zone", ZoneInfo("Europe/Paris")),
        ("SAKA_ENABLED", False, "enabled", False),
    ],
)
def test_in_range_settings_are_accepted(setting, value, attr, expected):
    # given a value at the edge of its range
    with override_settings(**{setting: value}):
        # when
        conf = load_settings()
        # then
        assert getattr(conf, attr) == expected
        assert getattr(get_settings(), attr) == expected


def test_a_float_rate_is_read_exactly():
    # given 0.1, which is 0.1000000000000000055511151231257827 as a binary float
    with override_settings(SAKA_COMPOST_RATE=0.1):
        # when
        rate = load_settings().compost_rate
    # then it is the decimal the operator wrote, never the float's expansion
    assert rate == Decimal("0.1")
    assert rate != Decimal(0.1)  # noqa: RUF032 - the float expansion, on purpose


def test_the_cache_follows_setting_changes():
    # given the cached settings
    assert get_settings().compost_inactivity_days == 90
    # when a SAKA setting changes
    with override_settings(SAKA_COMPOST_INACTIVITY_DAYS=30):
        # then the cache is reset
        assert get_settings().compost_inactivity_days == 30
    assert get_settings().compost_inactivity_days == 90


def test_a_boolean_rate_refuses_to_start():
    with override_settings(SAKA_COMPOST_RATE=True), pytest.raises(ImproperlyConfigured):
        load_settings()
