from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from saka.polls.conf import get_settings, load_settings


def test_defaults():
    conf = load_settings()
    assert conf.saka_voting is True
    assert conf.vote_cost_per_intensity == 5
    assert conf.max_multiplier == Decimal("2.0")
    assert conf.scale == 200


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SAKA_POLLS_SAKA_VOTING", "yes"),
        ("SAKA_POLLS_SAKA_VOTING", 1),
        ("SAKA_VOTE_COST_PER_INTENSITY", 0),
        ("SAKA_VOTE_COST_PER_INTENSITY", 1001),
        ("SAKA_VOTE_COST_PER_INTENSITY", 5.0),
        ("SAKA_VOTE_COST_PER_INTENSITY", True),
        ("SAKA_VOTE_MAX_MULTIPLIER", 2.0),
        ("SAKA_VOTE_MAX_MULTIPLIER", "0.5"),
        ("SAKA_VOTE_MAX_MULTIPLIER", "10.5"),
        ("SAKA_VOTE_MAX_MULTIPLIER", "two"),
        ("SAKA_VOTE_MAX_MULTIPLIER", "NaN"),
        ("SAKA_VOTE_MAX_MULTIPLIER", "1.0000001"),
        ("SAKA_VOTE_SCALE", 0),
        ("SAKA_VOTE_SCALE", 10**9 + 1),
    ],
)
def test_bad_values_refuse_to_start(settings, name, value):
    # given a bad setting
    setattr(settings, name, value)
    # when / then
    with pytest.raises(ImproperlyConfigured, match=name):
        load_settings()


def test_the_cache_follows_setting_changes(settings):
    assert get_settings().scale == 200
    settings.SAKA_VOTE_SCALE = 50
    assert get_settings().scale == 50
