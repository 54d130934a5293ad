"""The staff dashboard's benchmark: every panel's selector and the run export, timed on a
seeded population (docs/dashboard.md; ``make bench-dashboard``).

On the database Django is connected to (PostgreSQL, empty of SAKA wallets): seed ``wallets``
wallets (``saka.demo.seed``), add ``postings`` synthetic postings (harvest entries of three
reasons spread over the last ``days`` days, two postings each, inserted in time order as the
service appends them; the wallets' balances and counters follow, so the books reconcile), run
one compost, take the economy snapshot (timed: the background pass), then time each panel's
selector (median of ``repeat``) and the export of the compost's CSV (rows, seconds, peak of
Python allocations by tracemalloc, the process's peak RSS).
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection

from bench.dbs import BenchError
from saka.dashboard import panels
from saka.dashboard.views import run_wallets_csv_lines
from saka.demo.seed import seed_population
from saka.euro.selectors import economy as eur
from saka.grains import economy
from saka.grains.runs.compost import compost_run_start

AS_OF = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # a Monday 03:00 UTC, as saka_bench's
REASONS = ("content_read", "event_attended", "referral")

# The synthetic harvests: entry g (1..entries) of wallet (g mod N) at a minute spread over
# the window, in time order; 1..5 grains.
SYNTHETIC_ENTRIES = """
INSERT INTO grains_entry (kind, reason, amount, memo, created_at, member_id)
SELECT 'harvest', (ARRAY['content_read', 'event_attended', 'referral'])[1 + g %% 3], 1 + g %% 5,
       '', %(start)s + (%(span)s::bigint * g / %(n)s) * interval '1 second',
       w.member_id
FROM generate_series(1::bigint, %(n)s::bigint) AS g
JOIN (SELECT member_id, row_number() OVER (ORDER BY id) - 1 AS k
      FROM grains_account WHERE kind = 'wallet') w ON w.k = g %% %(wallets)s
ORDER BY g
"""
SYNTHETIC_POSTINGS = """
INSERT INTO grains_posting (entry_id, account_id, amount)
SELECT e.id, a.id, e.amount FROM grains_entry e
JOIN grains_account a ON a.member_id = e.member_id AND a.kind = 'wallet'
WHERE e.id > %(after)s
UNION ALL
SELECT e.id, %(issuance)s, -e.amount FROM grains_entry e WHERE e.id > %(after)s
"""
SYNTHETIC_BALANCES = """
UPDATE grains_account a SET balance = a.balance + s.total,
    lifetime_harvested = a.lifetime_harvested + s.total
FROM (SELECT member_id, sum(amount) AS total FROM grains_entry WHERE id > %(after)s
      GROUP BY member_id) s
WHERE a.kind = 'wallet' AND a.member_id = s.member_id
"""


@dataclass
class DashboardBench:
    wallets: int
    postings: int
    seed_s: float = 0.0
    compost_s: float = 0.0
    snapshot_ms: float = 0.0
    panels_ms: dict[str, float] = field(default_factory=dict)
    export: dict[str, Any] = field(default_factory=dict)

    def markdown(self) -> str:
        lines = [
            f"## Staff dashboard at {self.wallets:,} wallets, {self.postings:,} synthetic postings",
            "",
            f"Seed {self.seed_s:.1f} s, compost {self.compost_s:.1f} s; the snapshot (beat, "
            f"every 15 min and after runs) took {self.snapshot_ms:.0f} ms.",
            "",
            "| Panel (selector) | median ms |",
            "|---|---:|",
        ]
        lines += [f"| {name} | {ms:.1f} |" for name, ms in self.panels_ms.items()]
        e = self.export
        lines += [
            "",
            "| Export | rows | seconds | peak Python allocations | peak RSS |",
            "|---|---:|---:|---:|---:|",
            f"| run {e['run_id']} wallets.csv | {e['rows']:,} | {e['seconds']:.2f} | "
            f"{e['peak_alloc_mb']:.1f} MB | {e['peak_rss_mb']:.0f} MB |",
        ]
        return "\n".join(lines) + "\n"


def _median_ms(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _peak_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024  # bytes / KiB


def synthetic_postings(*, postings: int, wallets: int, days: int, as_of: datetime) -> int:
    """Add about ``postings`` postings (harvest entries of two postings each) over the
    ``days`` days before ``as_of``; returns the postings added."""
    from saka.grains.accounts import system_account_id
    from saka.grains.models import AccountKind

    entries = max(postings // 2, 1)
    issuance = system_account_id(AccountKind.ISSUANCE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(max(id), 0) FROM grains_entry")
        (after,) = cursor.fetchone()
        start = as_of - timedelta(days=days)
        params = {
            "n": entries,
            "wallets": wallets,
            "start": start,
            "span": days * 86_400,
            "after": after,
            "issuance": issuance,
        }
        cursor.execute(SYNTHETIC_ENTRIES, params)
        cursor.execute(SYNTHETIC_POSTINGS, params)
        added = cursor.rowcount
        cursor.execute(SYNTHETIC_BALANCES, params)
        for table in ("grains_entry", "grains_posting", "grains_account"):
            cursor.execute(f"ANALYZE {table}")
    return int(added)


def dashboard_bench(
    *,
    wallets: int,
    postings: int,
    days: int = 60,
    repeat: int = 5,
    as_of: datetime = AS_OF,
    log: Callable[[str], None] = lambda _: None,
) -> DashboardBench:
    """Seed, post, compost, snapshot; then time every panel and the export (see the module)."""
    if connection.vendor != "postgresql":
        raise BenchError("the dashboard benchmark measures PostgreSQL (DATABASE_URL).")
    result = DashboardBench(wallets=wallets, postings=postings)
    t0 = time.monotonic()
    seed_population(wallets=wallets, as_of=as_of - timedelta(days=days), log=log)
    result.postings = synthetic_postings(postings=postings, wallets=wallets, days=days, as_of=as_of)
    result.seed_s = time.monotonic() - t0
    log(f"seeded {wallets:,} wallets and {result.postings:,} postings in {result.seed_s:.1f} s")
    t0 = time.monotonic()
    run = compost_run_start(as_of=as_of, workers=1)
    result.compost_s = time.monotonic() - t0
    log(f"compost: {run.wallets_done:,} wallets, {run.amount_done:,} grains")
    t0 = time.perf_counter()
    economy.economy_snapshot_refresh(as_of=as_of)
    result.snapshot_ms = (time.perf_counter() - t0) * 1000

    at = as_of + timedelta(hours=1)
    selectors: dict[str, Callable[[], Any]] = {
        "silo and pool over time (system_balance_series)": lambda: economy.system_balance_series(
            as_of=at
        ),
        "weekly compost, monthly redistribution (run_flows)": economy.run_flows,
        "share composted per month (compost_share_by_month)": lambda: (
            economy.compost_share_by_month(as_of=at)
        ),
        "runs timeline (run_timeline)": economy.run_timeline,
        "runs live progress (panels.runs_live)": panels.runs_live,
        "histogram and next compost (economy_snapshot_last)": economy.economy_snapshot_last,
        "daily harvest and plant (saka_daily)": lambda: economy.saka_daily(as_of=at),
        "top projects (top_projects)": economy.top_projects,
        "EUR deposits and fees per day (deposits_daily)": lambda: eur.deposits_daily(as_of=at),
        "EUR pockets (pockets_overview)": eur.pockets_overview,
        "EUR campaigns (campaigns_progress)": eur.campaigns_progress,
        "books: last reconcile and alerts (panels.books)": panels.books,
        "the whole page's data (panels.panels)": panels.panels,
    }
    for name, fn in selectors.items():
        result.panels_ms[name] = _median_ms(fn, repeat)
        log(f"  {name}: {result.panels_ms[name]:.1f} ms")

    tracemalloc.start()
    t0 = time.perf_counter()
    rows = sum(1 for _ in run_wallets_csv_lines(run_id=run.pk)) - 1  # the header
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result.export = {
        "run_id": run.pk,
        "rows": rows,
        "expected_rows": run.wallets_done,
        "seconds": seconds,
        "peak_alloc_mb": peak / (1024 * 1024),
        "peak_rss_mb": _peak_rss_mb(),
    }
    log(f"export: {rows:,} rows in {seconds:.2f} s, peak {peak / 2**20:.1f} MB allocated")
    return result
