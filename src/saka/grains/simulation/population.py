"""The wallets a simulation starts from, as columns (one list per field, index = wallet).

From the database: ``wallets_snapshot`` reads every wallet and the silo and pool balances in
one streamed query, ordered by id. Synthetic: ``synthetic(n, as_of)``, the population of spec
§7 (wallet i in 1..N has balance ``50 + (i * 7919 mod 5000)``, lifetime harvest = balance,
last activity ``as_of - (i mod 200) days``); ``saka.demo.seed`` books the same population.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from saka.core.clock import ensure_aware
from saka.grains.models import AccountKind, SakaAccount

SNAPSHOT_CHUNK = 10_000


def seed_balance(i: int) -> int:
    """Wallet i's balance (and lifetime harvest) in the synthetic population."""
    return 50 + (i * 7919) % 5000


def seed_idle_days(i: int) -> int:
    """Whole days between wallet i's last activity and the population's ``as_of``."""
    return i % 200


@dataclass
class SimWallets:
    """Wallet j's figures are ``balance[j]``, ``last_activity[j]`` ... (aware datetimes, None:
    never); ``ids`` are the account ids (synthetic: 1..N); ``cohort`` indexes the activity
    model's cohorts (``ActivityModel.assign`` fills it)."""

    ids: list[int]
    balance: list[int]
    last_activity: list[datetime | None]
    last_composted: list[datetime | None]
    lifetime_harvested: list[int]
    cohort: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.balance)

    def copy(self) -> SimWallets:
        return SimWallets(
            ids=list(self.ids),
            balance=list(self.balance),
            last_activity=list(self.last_activity),
            last_composted=list(self.last_composted),
            lifetime_harvested=list(self.lifetime_harvested),
            cohort=list(self.cohort),
        )


@dataclass(frozen=True)
class Snapshot:
    """The wallets and the system balances a simulation starts from."""

    wallets: SimWallets
    silo: int
    pool: int
    source: str  # "database" or "synthetic"


def synthetic(n: int, as_of: datetime) -> Snapshot:
    """The synthetic population of spec §7 at ``as_of``, with an empty silo and pool."""
    at = ensure_aware(as_of)
    instants = [at - timedelta(days=d) for d in range(200)]  # shared: 200 distinct instants
    balances = [seed_balance(i) for i in range(1, n + 1)]
    return Snapshot(
        wallets=SimWallets(
            ids=list(range(1, n + 1)),
            balance=balances,
            last_activity=[instants[seed_idle_days(i)] for i in range(1, n + 1)],
            last_composted=[None] * n,
            lifetime_harvested=list(balances),
        ),
        silo=0,
        pool=0,
        source="synthetic",
    )


def wallet_count() -> int:
    """How many wallets a database snapshot would hold (the API's size check)."""
    return SakaAccount.objects.filter(kind=AccountKind.WALLET).count()


def wallets_snapshot() -> Snapshot:
    """Every wallet (ordered by id) and the silo and pool balances, in one streamed read."""
    ids: list[int] = []
    balance: list[int] = []
    activity: list[datetime | None] = []
    composted: list[datetime | None] = []
    harvested: list[int] = []
    system = {AccountKind.SILO.value: 0, AccountKind.POOL.value: 0}
    rows = (
        SakaAccount.objects.filter(
            kind__in=[AccountKind.WALLET, AccountKind.SILO, AccountKind.POOL]
        )
        .order_by("id")
        .values_list(
            "id", "kind", "balance", "last_activity_at", "last_composted_at", "lifetime_harvested"
        )
        .iterator(chunk_size=SNAPSHOT_CHUNK)
    )
    for pk, kind, bal, last, comp, life in rows:
        if kind != AccountKind.WALLET:
            system[kind] = int(bal)
            continue
        ids.append(pk)
        balance.append(int(bal))
        activity.append(last)
        composted.append(comp)
        harvested.append(int(life))
    return Snapshot(
        wallets=SimWallets(
            ids=ids,
            balance=balance,
            last_activity=activity,
            last_composted=composted,
            lifetime_harvested=harvested,
        ),
        silo=system[AccountKind.SILO.value],
        pool=system[AccountKind.POOL.value],
        source="database",
    )
