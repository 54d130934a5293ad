"""The compost rule in Python: the one reference that the run's SQL (``sql/compost.py``, pinned
to it by a test), the run's portable path and the member's preview all follow.

A wallet composts at ``as_of`` when its balance is at least ``min_balance``, it has had neither
activity nor a compost since ``cutoff = as_of - inactivity_days`` (an instant exactly at the
cutoff counts as idle; NULL means never), and ``floor(balance x rate) >= min_amount``; it then
gives that amount to the silo.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from saka.core.money import floor_share
from saka.grains.conf import SakaSettings

DAY = timedelta(days=1)


@dataclass(frozen=True)
class CompostRule:
    """The compost rule's parameters: a run's (as it recorded them) or the settings'."""

    rate: Decimal
    min_balance: int
    min_amount: int
    inactivity_days: int

    @classmethod
    def of_run(cls, parameters: Mapping[str, Any]) -> CompostRule:
        """The rule a compost run recorded in its ``parameters``."""
        return cls(
            rate=Decimal(parameters["rate"]),
            min_balance=int(parameters["min_balance"]),
            min_amount=int(parameters["min_amount"]),
            inactivity_days=int(parameters["inactivity_days"]),
        )

    @classmethod
    def of_settings(cls, cfg: SakaSettings) -> CompostRule:
        """The rule the next compost run will apply."""
        return cls(
            rate=cfg.compost_rate,
            min_balance=cfg.compost_min_balance,
            min_amount=cfg.compost_min_amount,
            inactivity_days=cfg.compost_inactivity_days,
        )

    def cutoff(self, as_of: datetime) -> datetime:
        """Activity or a compost after this instant keeps a wallet from composting at ``as_of``."""
        return as_of - timedelta(days=self.inactivity_days)

    def amount(self, balance: int) -> int:
        """floor(balance x rate), in grains."""
        return floor_share(balance, self.rate)

    def amount_kept(self, amount: int) -> bool:
        """An amount this small is not worth composting."""
        return amount >= self.min_amount

    def days_until_idle(
        self,
        *,
        last_activity_at: datetime | None,
        last_composted_at: datetime | None,
        as_of: datetime,
    ) -> int:
        """Whole days from ``as_of`` until the wallet is idle long enough (0: it is now)."""
        idle_from = self.idle_from(
            last_activity_at=last_activity_at, last_composted_at=last_composted_at
        )
        if idle_from is None or idle_from <= as_of:
            return 0
        return math.ceil((idle_from - as_of) / DAY)

    def idle_from(
        self, *, last_activity_at: datetime | None, last_composted_at: datetime | None
    ) -> datetime | None:
        """The instant from which the wallet counts as idle (None: it always did)."""
        last = max((t for t in (last_activity_at, last_composted_at) if t), default=None)
        return None if last is None else last + timedelta(days=self.inactivity_days)

    def refusal(
        self,
        *,
        balance: int,
        last_activity_at: datetime | None,
        last_composted_at: datetime | None,
        as_of: datetime,
    ) -> str:
        """Why a compost at ``as_of`` takes nothing from the wallet ("" when it takes)."""
        if balance < self.min_balance:
            return "balance_below_minimum"
        if not self.amount_kept(self.amount(balance)):
            return "amount_below_minimum"
        idle = self.days_until_idle(
            last_activity_at=last_activity_at, last_composted_at=last_composted_at, as_of=as_of
        )
        return "recently_active" if idle else ""

    def takes(
        self,
        *,
        balance: int,
        last_activity_at: datetime | None,
        last_composted_at: datetime | None,
        as_of: datetime,
    ) -> int:
        """The grains a compost at ``as_of`` takes from the wallet (0: none)."""
        refused = self.refusal(
            balance=balance,
            last_activity_at=last_activity_at,
            last_composted_at=last_composted_at,
            as_of=as_of,
        )
        return 0 if refused else self.amount(balance)
