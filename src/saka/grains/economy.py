"""The SAKA economy as the staff dashboard shows it: reads (selectors) and the one write that
keeps its snapshot (:func:`economy_snapshot_refresh`).

Each panel is an indexed query or a maintained aggregate, so it answers in milliseconds at 1M
wallets and 10M postings (docs/dashboard.md, measured by ``bench/dashboard.py``):

- the silo's and the pool's balance over time: their own postings (a few per run), by the
  (account, id) index, summed per day;
- weekly compost and monthly redistribution flows: the live runs' rows (one per period);
- everything that needs every wallet (balance histogram, supply, what a compost now would
  take) or weeks of entries (closed days' harvests and plants): the latest
  :class:`~saka.grains.models.EconomySnapshot`, one row, refreshed by beat and after runs;
  today's harvests and plants are added live (the BRIN index on ``created_at``: one day's
  block range);
- the share of supply composted per month: each month's compost runs over the supply of the
  month's first snapshot;
- the runs: the latest live runs (the ``(kind, -id)`` index), the running ones' chunks done
  per worker (the chunk table's primary key, one run at a time).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Case, Count, IntegerField, Max, Min, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate, TruncMonth

from saka.core.clock import day_bounds, ensure_aware, now
from saka.grains.conf import get_settings
from saka.grains.models import (
    UNFINISHED,
    AccountKind,
    EconomySnapshot,
    EntryKind,
    Run,
    RunChunk,
    RunKind,
    RunStatus,
    SakaAccount,
    SakaEntry,
    SakaPosting,
)
from saka.projects.selectors import projects_with_totals

# Wallets per balance band: (label, lowest balance of the band); the last band is open.
BALANCE_BANDS: tuple[tuple[str, int], ...] = (
    ("0", 0),
    ("1-9", 1),
    ("10-49", 10),
    ("50-99", 50),
    ("100-499", 100),
    ("500-999", 500),
    ("1k-5k", 1_000),
    ("5k+", 5_000),
)
DAILY_KINDS = (EntryKind.HARVEST, EntryKind.PLANT)
DAILY_DAYS = 30
SNAPSHOT_KEEP_DAYS = 400


# --- the snapshot -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NextCompost:
    """What a compost run at ``as_of`` would take: the dry run's own computation."""

    wallets: int
    grains: int
    as_of: datetime


def next_compost(*, as_of: datetime | None = None) -> NextCompost:
    """The wallets and grains a compost run at ``as_of`` would take, computed by the dry run's
    own code (``runs.compost._compost_dry``: ``COMPOST_DRY_PG`` on PostgreSQL, the rule in
    Python elsewhere) on a run that is never saved: no copy of the rule, no run row written.
    A pass over every wallet: the snapshot keeps it."""
    from saka.grains.policy import policy_current
    from saka.grains.runs.compost import _compost_dry
    from saka.grains.runs.periods import run_parameters

    at = ensure_aware(as_of or now())
    max_id = SakaAccount.objects.filter(kind=AccountKind.WALLET).aggregate(m=Max("id"))["m"]
    run = Run(
        kind=RunKind.COMPOST,
        dry_run=True,
        as_of=at,
        parameters=run_parameters(RunKind.COMPOST, policy_current(at=at)),
        max_id=int(max_id or 0),
    )
    _, fields = _compost_dry(run)
    return NextCompost(wallets=fields["wallets_done"], grains=fields["amount_done"], as_of=at)


def balance_histogram() -> list[dict[str, Any]]:
    """Member wallets and their grains per balance band (:data:`BALANCE_BANDS`): one grouped
    pass over the wallets (the snapshot keeps it)."""
    whens = [
        When(balance__gte=low, then=Value(i))
        for i, (_, low) in reversed(list(enumerate(BALANCE_BANDS)))
    ]
    rows = (
        SakaAccount.objects.filter(kind=AccountKind.WALLET)
        .annotate(band=Case(*whens, default=Value(0), output_field=IntegerField()))
        .order_by()
        .values("band")
        .annotate(n=Count("id"), grains=Coalesce(Sum("balance"), 0))
    )
    found: dict[int, tuple[int, int]] = {
        int(row["band"]): (int(row["n"]), int(row["grains"])) for row in rows
    }
    return [
        {
            "band": label,
            "wallets": found.get(i, (0, 0))[0],
            "grains": found.get(i, (0, 0))[1],
        }
        for i, (label, _) in enumerate(BALANCE_BANDS)
    ]


def daily_flows(*, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Harvests and plants of ``[start, end)`` per day (``SAKA_TIME_ZONE``), kind and reason:
    ``{"day", "kind", "reason", "entries", "grains"}``, by day then kind then reason. The
    range is found by the BRIN index on ``created_at``."""
    tz = get_settings().time_zone
    rows = (
        SakaEntry.objects.filter(created_at__gte=start, created_at__lt=end, kind__in=DAILY_KINDS)
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .order_by()
        .values("day", "kind", "reason")
        .annotate(entries=Count("id"), grains=Sum("amount"))
    )
    out = [
        {
            "day": row["day"].isoformat(),
            "kind": row["kind"],
            "reason": row["reason"] or row["kind"],
            "entries": int(row["entries"]),
            "grains": int(row["grains"]),
        }
        for row in rows
    ]
    return sorted(out, key=lambda r: (r["day"], r["kind"], r["reason"]))


# The entries' BRIN indexes on created_at (the daily panels' one-day ranges). A block range
# appended since the index last summarized it is unsummarized, and an unsummarized range
# matches every query: a day's range then reads the whole table (measured at 10M postings:
# 1,045 ms before, 6 ms after). Autovacuum summarizes them too, late on an append-only table.
ENTRY_BRIN_INDEXES = ("grains_entry_created_brin", "euro_entry_created_brin")


def entries_brin_summarize() -> int:
    """Summarize the block ranges appended to the entry tables since the last pass (PostgreSQL
    only; a few ms, no lock a member waits on); returns the ranges summarized."""
    if connection.vendor != "postgresql":
        return 0
    total = 0
    with connection.cursor() as cursor:
        for name in ENTRY_BRIN_INDEXES:
            cursor.execute("SELECT brin_summarize_new_values(%s::regclass)", [name])
            total += int(cursor.fetchone()[0])
    return total


def economy_snapshot_refresh(*, as_of: datetime | None = None) -> EconomySnapshot:
    """Take the dashboard's snapshot at ``as_of`` (default now): the balance histogram and
    supply, what a compost now would take, the closed days' harvests and plants (the last
    :data:`DAILY_DAYS` days before ``as_of``'s day); prune rows older than
    :data:`SNAPSHOT_KEEP_DAYS`. Reads only (and first summarizes the entries' new BRIN ranges),
    then one insert: no lock, nothing a member waits on. Called by the beat task
    ``economy_snapshot`` and after every run."""
    started = time.monotonic()
    at = ensure_aware(as_of or now())
    entries_brin_summarize()
    histogram = balance_histogram()
    compost = next_compost(as_of=at)
    today = day_bounds(at, get_settings().time_zone)[0]
    daily = daily_flows(start=today - timedelta(days=DAILY_DAYS - 1), end=today)
    snapshot = EconomySnapshot.objects.create(
        at=at,
        wallets=sum(b["wallets"] for b in histogram),
        supply=sum(b["grains"] for b in histogram),
        next_compost_wallets=compost.wallets,
        next_compost_grains=compost.grains,
        histogram=histogram,
        daily=daily,
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    EconomySnapshot.objects.filter(at__lt=at - timedelta(days=SNAPSHOT_KEEP_DAYS)).delete()
    return snapshot


def economy_snapshot_last() -> EconomySnapshot | None:
    """The latest snapshot (one probe of the ``at`` index), ``None`` before the first."""
    return EconomySnapshot.objects.order_by("-at", "-id").first()


# --- the panels ---------------------------------------------------------------------------------


def system_balance_series(*, as_of: datetime | None = None, days: int = 90) -> dict[str, Any]:
    """The silo's and the pool's balance at the end of each day of the last ``days`` days
    that moved them: ``{"silo": [{"day", "balance"}], "pool": [...]}``. From their own
    postings (the (account, id) index; a handful per run), summed per day and run backwards
    from today's balance."""
    at = ensure_aware(as_of or now())
    tz = get_settings().time_zone
    start = day_bounds(at - timedelta(days=days - 1), tz)[0]
    out: dict[str, Any] = {}
    accounts = {
        kind: (pk, int(balance))
        for kind, pk, balance in SakaAccount.objects.filter(
            kind__in=[AccountKind.SILO, AccountKind.POOL]
        ).values_list("kind", "id", "balance")
    }
    for kind in (AccountKind.SILO, AccountKind.POOL):
        account_id, balance = accounts.get(kind.value, (0, 0))
        # a system account's postings are never run-keyed: the partial (account, id) index
        rows = list(
            SakaPosting.objects.filter(
                account_id=account_id,
                run_id__isnull=True,
                entry__created_at__gte=start,
            )
            .annotate(day=TruncDate("entry__created_at", tzinfo=tz))
            .order_by()
            .values("day")
            .annotate(moved=Sum("amount"))
            .order_by("-day")
        )
        series = []
        for row in rows:  # newest first: the balance at the end of each day, going back
            series.append({"day": row["day"].isoformat(), "balance": balance})
            balance -= int(row["moved"])
        series.append({"day": start.date().isoformat(), "balance": balance})
        out[kind.value] = sorted(series, key=lambda r: r["day"])
    return out


def run_flows(*, limit: int = 12) -> dict[str, list[dict[str, Any]]]:
    """The last ``limit`` finished live runs of each kind: compost (weekly) and
    redistribution (monthly), ``{"period", "wallets", "grains"}`` oldest first."""
    out: dict[str, list[dict[str, Any]]] = {}
    for kind in RunKind.values:
        rows = (
            Run.objects.filter(kind=kind, dry_run=False, status=RunStatus.DONE)
            .order_by("-id")
            .values("period", "wallets_done", "amount_done")[:limit]
        )
        out[kind] = [
            {"period": r["period"], "wallets": r["wallets_done"], "grains": r["amount_done"]}
            for r in reversed(rows)
        ]
    return out


def compost_share_by_month(*, months: int = 12, as_of: datetime | None = None) -> list[dict]:
    """Per month (UTC) of the last ``months``: the grains the compost runs took and the share
    of the wallets' supply they were (basis points: the supply of the month's first
    snapshot, taken before or while the month's runs went; ``None`` without a snapshot)."""
    at = ensure_aware(as_of or now())
    since = (at - timedelta(days=31 * months)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    composted = {
        row["month"].date().isoformat()[:7]: int(row["grains"])
        for row in Run.objects.filter(
            kind=RunKind.COMPOST, dry_run=False, status=RunStatus.DONE, as_of__gte=since
        )
        .annotate(month=TruncMonth("as_of"))
        .order_by()
        .values("month")
        .annotate(grains=Sum("amount_done"))
    }
    firsts = (
        EconomySnapshot.objects.filter(at__gte=since)
        .annotate(month=TruncMonth("at"))
        .order_by()
        .values("month")
        .annotate(first=Min("id"))
        .values_list("first", flat=True)
    )
    supply = {
        s.at.date().isoformat()[:7]: s.supply
        for s in EconomySnapshot.objects.filter(pk__in=list(firsts)).only("at", "supply")
    }
    out = []
    for month in sorted(set(composted) | set(supply)):
        grains = composted.get(month, 0)
        base = supply.get(month)
        share = (grains * 10_000) // base if base else None
        out.append({"month": month, "grains": grains, "supply": base, "share_bp": share})
    return out


def top_projects(*, top: int = 10) -> list[dict[str, Any]]:
    """The projects with the most SAKA planted (cached + pending score)."""
    return [
        {"id": p["id"], "title": p["title"], "score": p["score_total"]}
        for p in projects_with_totals()
        .filter(score_total__gt=0)
        .order_by("-score_total", "id")
        .values("id", "title", "score_total")[:top]
    ]


def saka_daily(
    *, as_of: datetime | None = None, snapshot: EconomySnapshot | None = None
) -> list[dict[str, Any]]:
    """Harvests and plants per day and reason over the last :data:`DAILY_DAYS` days: the
    closed days from the snapshot (``snapshot``, default the latest), today live (one day's
    BRIN range)."""
    at = ensure_aware(as_of or now())
    today = day_bounds(at, get_settings().time_zone)[0]
    snapshot = snapshot or economy_snapshot_last()
    first_day = (today - timedelta(days=DAILY_DAYS - 1)).date().isoformat()
    closed = [r for r in (snapshot.daily if snapshot else []) if r["day"] >= first_day]
    return closed + daily_flows(start=today, end=at + timedelta(microseconds=1))


# --- the runs -----------------------------------------------------------------------------------


def run_timeline(*, limit: int = 20) -> list[dict[str, Any]]:
    """The latest live runs of both kinds, newest first: status, outcome, timings, counts."""
    rows = Run.objects.filter(dry_run=False).order_by("-id")[:limit]
    return [
        {
            "id": r.pk,
            "kind": r.kind,
            "period": r.period,
            "status": r.status,
            "outcome": r.outcome,
            "created_at": r.created_at.isoformat(),
            "finished_at": r.finished_at.isoformat() if r.finished_at else None,
            "duration_ms": r.duration_ms,
            "wallets": r.wallets_done,
            "grains": r.amount_done,
        }
        for r in rows
    ]


def runs_unfinished() -> list[Run]:
    """The live runs not done yet (at most one per kind)."""
    return list(Run.objects.filter(dry_run=False, status__in=UNFINISHED).order_by("id"))


def run_chunks_by_worker(*, run_id: int) -> dict[str, int]:
    """Chunks done per worker of a run (its rows of the chunk table, by primary key)."""
    rows = (
        RunChunk.objects.filter(run_id=run_id, done_at__isnull=False)
        .order_by()
        .values("worker")
        .annotate(n=Count("lo"))
    )
    return {row["worker"] or "?": int(row["n"]) for row in rows}


# --- the export ---------------------------------------------------------------------------------

# A run's wallet postings, by wallet, ``EXPORT_CHUNK`` rows at a time (keyset on the account:
# the (run, account) unique index gives them in order; no server-side cursor, so it works
# through PgBouncer in transaction mode).
EXPORT_CHUNK = 10_000
# The columns of a row, in order. The compost's ``basis`` and ``idle_days`` (grains_posting
# columns another change adds) go here and in :func:`run_wallet_rows`'s ``values``.
# basis, idle_days: a compost posting's statement figures (docs/statements.md); empty otherwise
EXPORT_COLUMNS = ("wallet_id", "member_id", "amount", "basis", "idle_days")


def run_wallet_rows(*, run_id: int, chunk: int = EXPORT_CHUNK) -> Any:
    """Every wallet the run composted or credited: tuples of :data:`EXPORT_COLUMNS` in wallet
    id order (amount signed: negative for a compost), read ``chunk`` rows per query (flat
    memory at any size)."""
    after = 0
    while True:
        rows = list(
            SakaPosting.objects.filter(run_id=run_id, account_id__gt=after)
            .order_by("account_id")
            .values_list("account_id", "account__member_id", "amount", "basis", "idle_days")[:chunk]
        )
        yield from rows
        if len(rows) < chunk:
            return
        after = rows[-1][0]
