"""Shared helpers of the run tests: a plain-Python reference model of the compost and
redistribution rules (spec section 3), and ways to build populations whose books balance.

The model never imports the code it checks: shares are computed with ``Fraction`` (exact),
eligibility with plain datetime comparisons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F

from saka.grains import services
from saka.grains.accounts import SAKA_BOOK, system_account_id
from saka.grains.models import AccountKind, EntryKind, SakaAccount, SakaEntry, SakaPosting
from saka.ledger.posting import entry_post

DAY = timedelta(days=1)
GRANT_MAX = 500  # manual_adjust: at most 500 per grant ...
GRANT_SPACING = timedelta(hours=12)  # ... and 1000 per rolling 24 h: two grants a day
MIGRATED_AT = datetime(2000, 1, 1, tzinfo=UTC)

# --- the reference model ----------------------------------------------------------------------


@dataclass(frozen=True)
class Wallet:
    balance: int
    last_activity_at: datetime | None = None
    last_composted_at: datetime | None = None
    lifetime_harvested: int = 0


@dataclass(frozen=True)
class CompostRules:
    inactivity_days: int = 90
    rate: str = "0.10"
    min_balance: int = 50
    min_amount: int = 10

    @classmethod
    def from_settings(cls, s: dict[str, Any]) -> CompostRules:
        return cls(
            inactivity_days=s.get("SAKA_COMPOST_INACTIVITY_DAYS", 90),
            rate=str(s.get("SAKA_COMPOST_RATE", "0.10")),
            min_balance=s.get("SAKA_COMPOST_MIN_BALANCE", 50),
            min_amount=s.get("SAKA_COMPOST_MIN_AMOUNT", 10),
        )


@dataclass(frozen=True)
class RedistributionRules:
    rate: str = "0.05"
    min_harvested: int = 1
    active_days: int = 90

    @classmethod
    def from_settings(cls, s: dict[str, Any]) -> RedistributionRules:
        return cls(
            rate=str(s.get("SAKA_REDISTRIBUTION_RATE", "0.05")),
            min_harvested=s.get("SAKA_REDISTRIBUTION_MIN_HARVESTED", 1),
            active_days=s.get("SAKA_REDISTRIBUTION_ACTIVE_DAYS", 90),
        )


def share(amount: int, rate: str) -> int:
    """floor(amount x rate), exactly."""
    return math.floor(Fraction(amount) * Fraction(rate))


def compost_amount(w: Wallet, rules: CompostRules, as_of: datetime) -> int:
    """What a compost at ``as_of`` takes from ``w`` (0: nothing)."""
    cutoff = as_of - rules.inactivity_days * DAY
    idle = w.last_activity_at is None or w.last_activity_at <= cutoff
    rested = w.last_composted_at is None or w.last_composted_at <= cutoff
    if w.balance < rules.min_balance or not idle or not rested:
        return 0
    amount = share(w.balance, rules.rate)
    return amount if amount >= rules.min_amount else 0


def compost_plan(wallets: dict[Any, Wallet], rules: CompostRules, as_of: datetime) -> dict:
    """``{key: amount}`` of the wallets a compost at ``as_of`` takes from."""
    plan = {k: compost_amount(w, rules, as_of) for k, w in wallets.items()}
    return {k: a for k, a in plan.items() if a}


def apply_compost(wallets: dict[Any, Wallet], plan: dict, as_of: datetime) -> int:
    for k, amount in plan.items():
        w = wallets[k]
        wallets[k] = replace(w, balance=w.balance - amount, last_composted_at=as_of)
    return sum(plan.values())


def redistribution_eligible(w: Wallet, rules: RedistributionRules, as_of: datetime) -> bool:
    if w.lifetime_harvested < rules.min_harvested:
        return False
    if rules.active_days == 0:
        return True
    cutoff = as_of - rules.active_days * DAY
    return w.last_activity_at is not None and cutoff < w.last_activity_at <= as_of


@dataclass(frozen=True)
class RedistributionPlan:
    silo_before: int
    pot: int
    eligible: frozenset
    per_wallet: int
    reason: str  # "" when something is redistributed

    @property
    def credited(self) -> frozenset:
        return frozenset() if self.reason else self.eligible

    @property
    def total(self) -> int:
        return self.per_wallet * len(self.credited)

    @property
    def silo_after(self) -> int:
        return self.silo_before - self.total

    @property
    def outcome(self) -> str:
        return self.reason or "completed"


def redistribution_plan(
    wallets: dict[Any, Wallet], silo: int, rules: RedistributionRules, as_of: datetime
) -> RedistributionPlan:
    pot = share(silo, rules.rate)
    eligible = frozenset(k for k, w in wallets.items() if redistribution_eligible(w, rules, as_of))
    per = pot // len(eligible) if eligible else 0
    if pot <= 0:
        reason = "nothing_to_redistribute"
    elif not eligible:
        reason = "no_eligible_wallets"
    elif per == 0:
        reason = "share_rounds_to_zero"
    else:
        reason = ""
    return RedistributionPlan(silo, pot, eligible, per, reason)


def apply_redistribution(wallets: dict[Any, Wallet], plan: RedistributionPlan) -> None:
    for k in plan.credited:
        wallets[k] = replace(wallets[k], balance=wallets[k].balance + plan.per_wallet)


# --- reading the database ---------------------------------------------------------------------


def db_wallets() -> dict[int, Wallet]:
    """Every wallet as the model sees it, by account id."""
    return {
        row["id"]: Wallet(
            balance=row["balance"],
            last_activity_at=row["last_activity_at"],
            last_composted_at=row["last_composted_at"],
            lifetime_harvested=row["lifetime_harvested"],
        )
        for row in SakaAccount.objects.filter(kind=AccountKind.WALLET).values(
            "id", "balance", "last_activity_at", "last_composted_at", "lifetime_harvested"
        )
    }


def system_balance(kind: AccountKind) -> int:
    return SakaAccount.objects.filter(kind=kind).values_list("balance", flat=True).first() or 0


def run_postings(run_id: int) -> dict[int, int]:
    """``{account id: signed amount}`` of a run's wallet postings (one per wallet at most)."""
    rows = list(SakaPosting.objects.filter(run_id=run_id).values_list("account_id", "amount"))
    out = dict(rows)
    assert len(out) == len(rows), "a wallet was posted twice by one run"
    return out


def ledger_snapshot() -> dict[str, Any]:
    """Everything a dry run must leave untouched."""
    return {
        "entries": SakaEntry.objects.count(),
        "postings": SakaPosting.objects.count(),
        "accounts": list(
            SakaAccount.objects.order_by("id").values_list(
                "id",
                "balance",
                "last_activity_at",
                "last_composted_at",
                "lifetime_harvested",
                "lifetime_composted",
                "lifetime_redistributed",
                "last_compost_amount",
            )
        ),
    }


# --- building populations ---------------------------------------------------------------------


def grant(*, member_id: int, amount: int, at: datetime, staff_id: int) -> None:
    """Harvest ``amount`` grains ending at ``at`` (manual adjustments of at most 500, two a
    day, the last one at ``at``): the member's last activity is ``at``."""
    parts = [GRANT_MAX] * (amount // GRANT_MAX) + (
        [amount % GRANT_MAX] if amount % GRANT_MAX else []
    )
    for j, part in reversed(list(enumerate(parts))):
        services.wallet_harvest(
            member_id=member_id,
            reason="manual_adjust",
            amount=part,
            granted_by_id=staff_id,
            as_of=at - j * GRANT_SPACING,
        )


def build_wallet(
    *, member_id: int, balance: int, at: datetime, staff_id: int, planted: int = 0
) -> None:
    """A wallet of ``balance`` grains whose last activity is ``at`` and lifetime harvest
    ``balance + planted`` (the extra is planted at ``at``)."""
    grant(member_id=member_id, amount=balance + planted, at=at, staff_id=staff_id)
    if planted:
        services.wallet_plant(member_id=member_id, amount=planted, as_of=at)


def migrate_wallet(*, member_id: int, amount: int) -> int:
    """A wallet carried over from a legacy system: a balance and a lifetime harvest, but no
    recorded member activity (``last_activity_at`` stays NULL). Booked like a harvest."""
    with transaction.atomic():
        wallet = SakaAccount.objects.create(kind=AccountKind.WALLET, member_id=member_id)
        issuance = system_account_id(AccountKind.ISSUANCE)
        entry_post(
            book=SAKA_BOOK,
            entry=SakaEntry(
                kind=EntryKind.HARVEST,
                reason="migration",
                amount=amount,
                member_id=member_id,
                created_at=MIGRATED_AT,
            ),
            postings=[(issuance, -amount), (wallet.pk, amount)],
            external_account_ids=frozenset({issuance}),
            account_updates={wallet.pk: {"lifetime_harvested": F("lifetime_harvested") + amount}},
        )
    return wallet.pk


def new_member(username: str) -> Any:
    return get_user_model().objects.create(username=username, password="!")


def wallet_id(member_id: int) -> int:
    return SakaAccount.objects.get(kind=AccountKind.WALLET, member_id=member_id).pk


def bulk_wallets(specs: list[tuple[int, datetime]], *, prefix: str, as_of: datetime) -> list[int]:
    """Many wallets at once, booked like the seed: ``(balance, last activity)`` each, one
    harvest entry per wallet at its last activity. Returns the account ids in order."""
    user_model = get_user_model()
    users = user_model.objects.bulk_create(
        [
            user_model(username=f"{prefix}-{i}", password="!", date_joined=as_of)
            for i in range(len(specs))
        ]
    )
    if users and users[0].pk is None:  # pragma: no cover - backends without RETURNING
        users = list(user_model.objects.filter(username__startswith=f"{prefix}-").order_by("pk"))
    issuance = system_account_id(AccountKind.ISSUANCE)
    accounts = SakaAccount.objects.bulk_create(
        [
            SakaAccount(
                kind=AccountKind.WALLET,
                member_id=u.pk,
                balance=balance,
                created_at=as_of,
                last_activity_at=at,
                lifetime_harvested=balance,
            )
            for u, (balance, at) in zip(users, specs, strict=True)
        ]
    )
    entries = SakaEntry.objects.bulk_create(
        [
            SakaEntry(
                kind=EntryKind.HARVEST,
                reason="seed",
                amount=a.balance,
                member_id=a.member_id,
                created_at=a.last_activity_at,
            )
            for a in accounts
        ]
    )
    SakaPosting.objects.bulk_create(
        [
            p
            for e, a in zip(entries, accounts, strict=True)
            for p in (
                SakaPosting(entry_id=e.pk, account_id=a.pk, amount=a.balance),
                SakaPosting(entry_id=e.pk, account_id=issuance, amount=-a.balance),
            )
        ]
    )
    return [a.pk for a in accounts]


def is_postgres() -> bool:
    return connection.vendor == "postgresql"
