"""The compost and redistribution rules in Python: the one reference that the runs' SQL
(``sql/``, pinned to it by tests), the runs' portable paths, the member's preview, the what-if
and the season simulator all follow.

A wallet composts at ``as_of`` when its balance is at least ``min_balance``, it has had neither
activity nor a compost since ``cutoff = as_of - inactivity_days`` (an instant exactly at the
cutoff counts as idle; NULL means never), and ``floor(balance x rate) >= min_amount``; it then
gives that amount to the silo.

A redistribution at ``as_of`` takes ``pot = floor(silo x rate)`` and gives ``pot // count`` to
each of the ``count`` wallets with a lifetime harvest of at least ``min_harvested`` and (when
``active_days > 0``) real activity in ``(as_of - active_days, as_of]``.
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


@dataclass(frozen=True)
class RedistributionPlan:
    """What a redistribution does with ``silo_before`` for ``eligible`` wallets."""

    silo_before: int
    pot: int
    eligible: int
    per_wallet: int
    reason: str  # "" when there is something to redistribute

    @property
    def total(self) -> int:
        return self.per_wallet * self.eligible


def redistribution_refusal(*, pot: int, eligible: int, per_wallet: int) -> str:
    """Why a redistribution does nothing ("" when it does something)."""
    if pot <= 0:
        return "nothing_to_redistribute"
    if eligible == 0:
        return "no_eligible_wallets"
    if per_wallet == 0:
        return "share_rounds_to_zero"
    return ""


@dataclass(frozen=True)
class RedistributionRule:
    """The redistribution rule's parameters: a run's (as it recorded them) or the settings'."""

    rate: Decimal
    min_harvested: int
    active_days: int

    @classmethod
    def of_run(cls, parameters: Mapping[str, Any]) -> RedistributionRule:
        """The rule a redistribution run recorded in its ``parameters``."""
        return cls(
            rate=Decimal(parameters["rate"]),
            min_harvested=int(parameters["min_harvested"]),
            active_days=int(parameters["active_days"]),
        )

    @classmethod
    def of_settings(cls, cfg: SakaSettings) -> RedistributionRule:
        """The rule the next redistribution run will apply."""
        return cls(
            rate=cfg.redistribution_rate,
            min_harvested=cfg.redistribution_min_harvested,
            active_days=cfg.redistribution_active_days,
        )

    def active_cutoff(self, as_of: datetime) -> datetime:
        """Activity after this instant (and not after ``as_of``) counts as recent."""
        return as_of - timedelta(days=self.active_days)

    def eligible(
        self, *, lifetime_harvested: int, last_activity_at: datetime | None, as_of: datetime
    ) -> bool:
        """A wallet whose row was last touched at or before ``as_of`` receives a share."""
        if lifetime_harvested < self.min_harvested:
            return False
        if self.active_days == 0:
            return True
        return last_activity_at is not None and self.active_cutoff(as_of) < last_activity_at

    def plan(self, *, silo: int, eligible: int) -> RedistributionPlan:
        """pot = floor(silo x rate) and the share of each of ``eligible`` wallets."""
        pot = floor_share(silo, self.rate)
        per = pot // eligible if eligible else 0
        return RedistributionPlan(
            silo_before=silo,
            pot=pot,
            eligible=eligible,
            per_wallet=per,
            reason=redistribution_refusal(pot=pot, eligible=eligible, per_wallet=per),
        )
