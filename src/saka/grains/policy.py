"""The rules' parameters in force: the compost and redistribution rules a run, the what-if and
the season simulator start from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from saka.grains.conf import get_settings
from saka.grains.rules import CompostRule, RedistributionRule


@dataclass(frozen=True)
class Policy:
    """The compost and redistribution rules in force at an instant."""

    compost: CompostRule
    redistribution: RedistributionRule
    version_id: int | None = None  # None: the settings' defaults


def policy_current(*, at: datetime | None = None) -> Policy:
    """The rules in force at ``at`` (now when ``None``)."""
    cfg = get_settings()
    return Policy(
        compost=CompostRule.of_settings(cfg), redistribution=RedistributionRule.of_settings(cfg)
    )
