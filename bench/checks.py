"""Is a contender's result the expected one? Per wallet, from the seed formula.

The expected sets are computed by SQL from the population's formula (spec §7: wallet of
member ``seed-<i>`` has balance ``50 + (i*7919 mod 5000)``, lifetime harvest = balance, last
activity ``as_of - (i mod 200)`` days), never from the columns a contender writes, and
compared with what the contender booked: ``(wallet, amount)`` pairs from its ledger rows
(our schema) or from its narrow table (the floor). Also every wallet's final balance.

- compost: ``floor(balance x rate)`` for wallets with balance >= min balance, idle days >=
  inactivity days, amount >= min amount;
- redistribution (run on the population after the project's compost at the same ``as_of``):
  ``per = floor(floor(Σ compost x rate) / count)`` for wallets with lifetime harvest >= min and
  idle days < active days (0: everyone).

The formula-based count and total are cross-checked against ``saka.demo.seed.expected_compost``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from functools import cache
from typing import Any

import psycopg

from saka.core.money import floor_share
from saka.demo.seed import expected_compost, seed_balance, seed_idle_days
from saka.grains.conf import SakaSettings


@dataclass(frozen=True)
class Expected:
    kind: str
    wallets: int
    amount: int
    per_wallet: int = 0


@dataclass(frozen=True)
class Diff:
    wallets: int  # wallets the contender booked
    amount: int
    missing: int  # expected, not booked
    extra: int  # booked, not expected
    wrong_amount: int
    duplicates: int  # wallets booked more than once
    balance_mismatch: int  # final balance differs from the formula's

    @property
    def ok(self) -> bool:
        return not (
            self.missing
            or self.extra
            or self.wrong_amount
            or self.duplicates
            or self.balance_mismatch
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


@cache
def expected(kind: str, *, wallets: int, cfg: SakaSettings) -> Expected:
    composted, total = expected_compost(wallets=wallets)
    if kind == "compost":
        return Expected(kind=kind, wallets=composted, amount=total)
    pot = floor_share(total, cfg.redistribution_rate)
    count = sum(
        1
        for i in range(1, wallets + 1)
        if seed_balance(i) >= cfg.redistribution_min_harvested
        and (
            cfg.redistribution_active_days == 0
            or seed_idle_days(i) < cfg.redistribution_active_days
        )
    )
    per = pot // count if count else 0
    if per <= 0:
        return Expected(kind=kind, wallets=0, amount=0)
    return Expected(kind=kind, wallets=count, amount=per * count, per_wallet=per)


_SEED = """
seed AS (
    SELECT a.id AS wallet_id, substr(u.username, 6)::bigint AS i
    FROM grains_account a JOIN auth_user u ON u.id = a.member_id
    WHERE a.kind = 'wallet' AND u.username LIKE 'seed-%%'
), formula AS (
    SELECT wallet_id, i, (50 + (i * 7919) %% 5000)::bigint AS balance, (i %% 200) AS idle_days
    FROM seed
), compost_expected AS (
    SELECT wallet_id, floor(balance * %(compost_rate)s)::bigint AS amount FROM formula
    WHERE balance >= %(min_balance)s AND idle_days >= %(inactivity_days)s
      AND floor(balance * %(compost_rate)s) >= %(min_amount)s
), redistribution_expected AS (
    SELECT wallet_id, %(per)s::bigint AS amount FROM formula
    WHERE %(per)s > 0 AND balance >= %(min_harvested)s
      AND (%(active_days)s = 0 OR idle_days < %(active_days)s)
)"""

# What each contender booked: (wallet_id, amount) rows (several rows for one wallet = duplicate).
_ACTUAL_LEDGER = """
actual_rows AS (
    SELECT p.account_id AS wallet_id, {sign}p.amount AS amount
    FROM grains_posting p
    JOIN grains_entry e ON e.id = p.entry_id
    JOIN grains_account a ON a.id = p.account_id
    WHERE e.kind = %(entry_kind)s AND a.kind = 'wallet'
)"""
_ACTUAL_FLOOR = """
actual_rows AS (SELECT wallet_id, amount FROM {table})"""

# Final balances: grains_account for our schema, floor_wallet for the floor.
_BALANCES = """
balance_mismatch AS (
    SELECT count(*) AS n FROM formula f
    JOIN {table} w ON w.id = f.wallet_id
    LEFT JOIN compost_expected c ON c.wallet_id = f.wallet_id
    LEFT JOIN redistribution_expected r ON r.wallet_id = f.wallet_id
    WHERE w.balance <> f.balance - COALESCE(c.amount, 0) + {redistributed}
)"""

_COMPARE = """
actual AS (
    SELECT wallet_id, sum(amount)::bigint AS amount, count(*) AS n FROM actual_rows
    GROUP BY wallet_id
), cmp AS (
    SELECT e.wallet_id AS e_id, e.amount AS e_amount, a.wallet_id AS a_id, a.amount AS a_amount,
           a.n
    FROM {expected} e FULL JOIN actual a ON a.wallet_id = e.wallet_id
)
SELECT
    count(a_id),
    COALESCE(sum(a_amount), 0)::bigint,
    count(*) FILTER (WHERE a_id IS NULL),
    count(*) FILTER (WHERE e_id IS NULL),
    count(*) FILTER (WHERE a_id IS NOT NULL AND e_id IS NOT NULL AND a_amount <> e_amount),
    count(*) FILTER (WHERE n > 1),
    (SELECT n FROM balance_mismatch),
    count(e_id),
    COALESCE(sum(e_amount), 0)::bigint
FROM cmp
"""


def compare(
    conn: psycopg.Connection[Any],
    *,
    kind: str,
    family: str,
    cfg: SakaSettings,
    expect: Expected,
    per_wallet_redistributed: int,
) -> tuple[Diff, Expected]:
    """Compare the contender's booked set with the formula's, in the run database.

    ``per_wallet_redistributed``: the expected share in the population the contender ran on
    (0 for compost); balances after a redistribution include the project's compost.
    Returns the diff and the formula's figures as SQL computed them.
    """
    floor = family == "floor"
    if floor:
        actual = _ACTUAL_FLOOR.format(table="floor_" + kind)
    else:
        actual = _ACTUAL_LEDGER.format(sign="-" if kind == "compost" else "")
    expected_table = "compost_expected" if kind == "compost" else "redistribution_expected"
    balances = _BALANCES.format(
        table="floor_wallet" if floor else "grains_account",
        redistributed="COALESCE(r.amount, 0)" if kind == "redistribution" else "0",
    )
    query = (
        "WITH "
        + _SEED.strip()
        + ", "
        + actual.strip()
        + ", "
        + balances.strip()
        + ", "
        + _COMPARE.strip().format(expected=expected_table)
    )
    params = {
        "compost_rate": Decimal(cfg.compost_rate),
        "min_balance": cfg.compost_min_balance,
        "inactivity_days": cfg.compost_inactivity_days,
        "min_amount": cfg.compost_min_amount,
        "per": per_wallet_redistributed,
        "min_harvested": cfg.redistribution_min_harvested,
        "active_days": cfg.redistribution_active_days,
        "entry_kind": kind,
    }
    row = conn.execute(query, params).fetchone()
    if row is None:  # pragma: no cover - an aggregate always returns a row
        raise RuntimeError("comparison returned nothing")
    wallets, amount, missing, extra, wrong, dups, mismatch, e_count, e_total = (int(x) for x in row)
    diff = Diff(
        wallets=wallets,
        amount=amount,
        missing=missing,
        extra=extra,
        wrong_amount=wrong,
        duplicates=dups,
        balance_mismatch=mismatch,
    )
    return diff, Expected(kind=kind, wallets=e_count, amount=e_total, per_wallet=expect.per_wallet)
