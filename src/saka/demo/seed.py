"""The synthetic population of spec §7, identical for every measurement.

Wallet i (1..N): balance ``50 + (i * 7919 mod 5000)``, lifetime harvest = balance, last
activity ``as_of - (i mod 200) days``, backed by one harvest entry per wallet at that instant
(so the books reconcile and the activity history is real). Members are ``seed-<i>`` users
with unusable passwords.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction

from saka.core.clock import ensure_aware
from saka.core.errors import ValidationError
from saka.core.money import floor_share
from saka.grains.accounts import system_account_id
from saka.grains.conf import get_settings
from saka.grains.models import AccountKind, EntryKind, SakaAccount, SakaEntry, SakaPosting
from saka.grains.simulation.population import seed_balance, seed_idle_days

__all__ = ["expected_compost", "seed_balance", "seed_idle_days", "seed_population"]

SEED_REASON = "seed"
UNUSABLE = "!"  # Django's marker of an unusable password


@dataclass(frozen=True)
class SeedResult:
    wallets: int
    total_balance: int
    elapsed_s: float


_PG_STEPS = [
    (
        "members",
        """INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                                  is_staff, is_active, date_joined)
           SELECT '!', false, 'seed-' || i, '', '', '', false, true, %(as_of)s
           FROM generate_series(1, %(n)s) AS i""",
    ),
    (
        "wallets",
        """INSERT INTO grains_account (kind, member_id, balance, created_at, last_activity_at,
               last_composted_at, lifetime_harvested, lifetime_planted, lifetime_composted,
               lifetime_redistributed, last_compost_amount)
           SELECT 'wallet', u.id, 50 + (s.i * 7919) %% 5000, %(as_of)s,
                  %(as_of)s - make_interval(days => (s.i %% 200)::int), NULL,
                  50 + (s.i * 7919) %% 5000, 0, 0, 0, 0
           FROM generate_series(1::bigint, %(n)s::bigint) AS s(i)
           JOIN auth_user u ON u.username = 'seed-' || s.i
           ORDER BY s.i""",
    ),
    (
        "entries",
        """INSERT INTO grains_entry (kind, reason, amount, memo, created_at, member_id)
           SELECT 'harvest', 'seed', a.balance, '', a.last_activity_at, a.member_id
           FROM grains_account a WHERE a.kind = 'wallet' ORDER BY a.id""",
    ),
    (
        "postings",
        """INSERT INTO grains_posting (entry_id, account_id, amount)
           SELECT e.id, a.id, e.amount FROM grains_entry e
           JOIN grains_account a ON a.member_id = e.member_id AND a.kind = 'wallet'
           WHERE e.reason = 'seed'
           UNION ALL
           SELECT e.id, %(issuance)s, -e.amount FROM grains_entry e WHERE e.reason = 'seed'""",
    ),
]


def seed_population(*, wallets: int, as_of: datetime, log: object = None) -> SeedResult:
    """Create the population on a database that has no SAKA wallet yet."""
    at = ensure_aware(as_of)
    if not 1 <= wallets <= 100_000_000:
        raise ValidationError("wallets must be in 1..100000000.", field="wallets")
    if SakaAccount.objects.filter(kind=AccountKind.WALLET).exists():
        raise ValidationError("saka_seed needs a database without SAKA wallets.")
    started = time.monotonic()
    issuance = system_account_id(AccountKind.ISSUANCE)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            params: dict[str, Any] = {"n": wallets, "as_of": at, "issuance": issuance}
            with connection.cursor() as cursor:
                for name, statement in _PG_STEPS:
                    t0 = time.monotonic()
                    cursor.execute(statement, params)
                    if callable(log):
                        log(f"  {name}: {cursor.rowcount} rows in {time.monotonic() - t0:.1f} s")
                cursor.execute("ANALYZE auth_user")
                cursor.execute("ANALYZE grains_account")
                cursor.execute("ANALYZE grains_entry")
                cursor.execute("ANALYZE grains_posting")
        else:
            _seed_portable(wallets, at, issuance)
    total = sum(seed_balance(i) for i in range(1, wallets + 1))
    return SeedResult(wallets=wallets, total_balance=total, elapsed_s=time.monotonic() - started)


def _seed_portable(wallets: int, at: datetime, issuance: int) -> None:
    user_model = get_user_model()
    batch = 5_000
    for start in range(1, wallets + 1, batch):
        idx = range(start, min(start + batch, wallets + 1))
        users = user_model.objects.bulk_create(
            [user_model(username=f"seed-{i}", password=UNUSABLE, date_joined=at) for i in idx]
        )
        if users[0].pk is None:  # pragma: no cover - backends without RETURNING
            by_name = dict(
                user_model.objects.filter(username__in=[f"seed-{i}" for i in idx]).values_list(
                    "username", "pk"
                )
            )
            member_ids = [by_name[f"seed-{i}"] for i in idx]
        else:
            member_ids = [u.pk for u in users]
        accounts = SakaAccount.objects.bulk_create(
            [
                SakaAccount(
                    kind=AccountKind.WALLET,
                    member_id=m,
                    balance=seed_balance(i),
                    created_at=at,
                    last_activity_at=at - timedelta(days=seed_idle_days(i)),
                    lifetime_harvested=seed_balance(i),
                )
                for i, m in zip(idx, member_ids, strict=True)
            ]
        )
        entries = SakaEntry.objects.bulk_create(
            [
                SakaEntry(
                    kind=EntryKind.HARVEST,
                    reason=SEED_REASON,
                    amount=a.balance,
                    member_id=a.member_id,
                    created_at=a.last_activity_at or at,
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


def expected_compost(*, wallets: int, rate: object = None) -> tuple[int, int]:
    """(wallets composted, grains composted) by the default rules on the seeded population at
    its ``as_of``: the reference figures every contender is checked against."""
    cfg = get_settings()
    count = total = 0
    for i in range(1, wallets + 1):
        balance = seed_balance(i)
        if balance < cfg.compost_min_balance or seed_idle_days(i) < cfg.compost_inactivity_days:
            continue
        amount = floor_share(balance, cfg.compost_rate)
        if amount >= cfg.compost_min_amount:
            count += 1
            total += amount
    return count, total
