"""The contenders, each run by ``saka_bench_contender`` in a fresh process on a fresh copy of
the population. A contender prepares (untimed), then does its work under the clock; the
process reports the work's wall time, queries and its own peak RSS as one JSON line.
"""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.db.backends.signals import connection_created
from django.db.models import F

from bench import floor, seeds_algorithm
from bench.machine import machine_cpu_s
from saka.core.money import floor_share
from saka.grains.accounts import system_account_id
from saka.grains.conf import get_settings
from saka.grains.models import AccountKind, EntryKind, SakaAccount, SakaEntry, SakaPosting
from saka.grains.runs.chunks import DEFAULT_CHUNK_SIZE
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start

COMPOST = "compost"
REDISTRIBUTION = "redistribution"


@dataclass
class Outcome:
    wallets: int
    amount: int
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Contender:
    name: str
    kind: str  # compost | redistribution
    family: str  # project | seeds | naive | floor
    prepare: Callable[[datetime, dict[str, Any]], dict[str, Any]]
    work: Callable[[datetime, dict[str, Any]], Outcome]
    warm_table: str = "grains_account"


# --- helpers ------------------------------------------------------------------------------------


class QueryCounter:
    """Counts the statements sent (``executemany`` counts one per parameter set), on every
    connection of the process: the calling thread's and those the runs' worker threads open."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        n = 1
        if many:
            with suppress(TypeError):
                n = len(params)
        with self._lock:
            self.count += n
        return execute(sql, params, many, context)

    def watch_new_connections(self, sender: Any, connection: Any, **kwargs: Any) -> None:
        """``connection_created`` receiver: count the statements of a worker's connection."""
        if self not in connection.execute_wrappers:
            connection.execute_wrappers.append(self)


def rss_mb() -> float:
    """Peak resident set size of this process so far, in MB.

    ``VmHWM`` of ``/proc/self/status``: the high-water mark of this process's own memory.
    ``getrusage(RUSAGE_SELF).ru_maxrss`` is not used on Linux because the kernel carries the
    parent's high-water mark across fork/exec into it (every contender would report at least
    the harness's RSS); it is the fallback elsewhere.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _compost_params(as_of: datetime) -> dict[str, Any]:
    cfg = get_settings()
    return {
        "rate": cfg.compost_rate,
        "min_balance": cfg.compost_min_balance,
        "min_amount": cfg.compost_min_amount,
        "cutoff": as_of - timedelta(days=cfg.compost_inactivity_days),
        "as_of": as_of,
    }


def _nothing(as_of: datetime, options: dict[str, Any]) -> dict[str, Any]:
    return {}


@contextmanager
def measured() -> Iterator[QueryCounter]:
    counter = QueryCounter()
    connection_created.connect(counter.watch_new_connections)
    try:
        with connection.execute_wrapper(counter):
            yield counter
    finally:
        connection_created.disconnect(counter.watch_new_connections)


# --- project --------------------------------------------------------------------------------------


def _project_compost(as_of: datetime, options: dict[str, Any]) -> Outcome:
    run = compost_run_start(as_of=as_of, chunk_size=options.get("chunk_size", DEFAULT_CHUNK_SIZE))
    return Outcome(
        wallets=run.wallets_done,
        amount=run.amount_done,
        info={
            "run_id": run.pk,
            "chunks": run.chunks_done,
            "outcome": run.outcome,
            "workers": get_settings().run_workers,
        },
    )


def _project_redistribution(as_of: datetime, options: dict[str, Any]) -> Outcome:
    run = redistribution_run_start(
        as_of=as_of, chunk_size=options.get("chunk_size", DEFAULT_CHUNK_SIZE)
    )
    return Outcome(
        wallets=run.wallets_done,
        amount=run.amount_done,
        info={
            "run_id": run.pk,
            "chunks": run.chunks_done,
            "outcome": run.outcome,
            "eligible": run.eligible_wallets,
            "per_wallet": run.per_wallet,
            "pot": run.pot,
            "workers": get_settings().run_workers,
        },
    )


# --- the seeds' algorithm -------------------------------------------------------------------------


def _seeds_compost(as_of: datetime, options: dict[str, Any]) -> Outcome:
    result = seeds_algorithm.run_saka_compost_cycle(as_of=as_of)
    return Outcome(wallets=result.wallets, amount=result.amount, info={"chunks": result.chunks})


def _seeds_redistribution(as_of: datetime, options: dict[str, Any]) -> Outcome:
    result = seeds_algorithm.redistribute_saka_silo(as_of=as_of)
    return Outcome(
        wallets=result.wallets,
        amount=result.amount,
        info={"chunks": result.chunks, "counted": result.counted, "per_wallet": result.per_wallet},
    )


# --- naive per-row loop ---------------------------------------------------------------------------


def _naive_compost(as_of: datetime, options: dict[str, Any]) -> Outcome:
    """The per-row loop the seeds started from (``for wallet in qs: save(); create()``), with
    our exact rules: lock all eligible wallets, then per wallet one ``save()``, one entry and
    its two postings; the silo once at the end. Small N only."""
    p = _compost_params(as_of)
    silo_id = system_account_id(AccountKind.SILO)
    composted = total = 0
    with transaction.atomic():
        qs = (
            SakaAccount.objects.select_for_update()
            .filter(kind=AccountKind.WALLET, balance__gte=p["min_balance"])
            .exclude(last_activity_at__gt=p["cutoff"])
            .exclude(last_composted_at__gt=p["cutoff"])
            .order_by("id")
        )
        for wallet in qs:
            amount = floor_share(wallet.balance, p["rate"])
            if amount < p["min_amount"]:
                continue
            wallet.balance -= amount
            wallet.lifetime_composted += amount
            wallet.last_compost_amount = amount
            wallet.last_composted_at = as_of
            wallet.save(
                update_fields=[
                    "balance",
                    "lifetime_composted",
                    "last_compost_amount",
                    "last_composted_at",
                ]
            )
            entry = SakaEntry.objects.create(
                kind=EntryKind.COMPOST, reason="naive", amount=amount, created_at=as_of
            )
            SakaPosting.objects.bulk_create(
                [
                    SakaPosting(entry_id=entry.pk, account_id=wallet.pk, amount=-amount),
                    SakaPosting(entry_id=entry.pk, account_id=silo_id, amount=amount),
                ]
            )
            composted += 1
            total += amount
        if total:
            SakaAccount.objects.filter(pk=silo_id).update(balance=F("balance") + total)
    return Outcome(wallets=composted, amount=total)


# --- the SQL floor --------------------------------------------------------------------------------


def _floor_prepare_compost(as_of: datetime, options: dict[str, Any]) -> dict[str, Any]:
    return floor.prepare(
        redistribution=False, variant=options.get("floor_variant", floor.DEFAULT_VARIANT)
    )


def _floor_prepare_redistribution(as_of: datetime, options: dict[str, Any]) -> dict[str, Any]:
    return floor.prepare(redistribution=True)


def _floor_compost(as_of: datetime, options: dict[str, Any]) -> Outcome:
    variant = options.get("floor_variant", floor.DEFAULT_VARIANT)
    floor.compost(_compost_params(as_of), variant=variant)
    wallets, amount = floor.totals("floor_compost")
    return Outcome(wallets=wallets, amount=amount, info={"variant": variant})


def _floor_redistribution(as_of: datetime, options: dict[str, Any]) -> Outcome:
    cfg = get_settings()
    params = {
        "silo": options["prepared"]["silo"],
        "rate": cfg.redistribution_rate,
        "min_harvested": cfg.redistribution_min_harvested,
        "active_cutoff": as_of - timedelta(days=cfg.redistribution_active_days),
    }
    floor.redistribution(params, activity_condition=cfg.redistribution_active_days > 0)
    wallets, amount = floor.totals("floor_redistribution")
    return Outcome(wallets=wallets, amount=amount)


CONTENDERS: dict[str, Contender] = {
    c.name: c
    for c in (
        Contender(
            "floor_compost",
            COMPOST,
            "floor",
            _floor_prepare_compost,
            _floor_compost,
            warm_table="floor_wallet",
        ),
        Contender("project_compost", COMPOST, "project", _nothing, _project_compost),
        Contender("seeds_compost", COMPOST, "seeds", _nothing, _seeds_compost),
        Contender("naive_compost", COMPOST, "naive", _nothing, _naive_compost),
        Contender(
            "floor_redistribution",
            REDISTRIBUTION,
            "floor",
            _floor_prepare_redistribution,
            _floor_redistribution,
            warm_table="floor_wallet",
        ),
        Contender(
            "project_redistribution", REDISTRIBUTION, "project", _nothing, _project_redistribution
        ),
        Contender("seeds_redistribution", REDISTRIBUTION, "seeds", _nothing, _seeds_redistribution),
    )
}


def reconcile_report() -> dict[str, Any]:
    from saka.ledger.reconcile import reconcile

    report = reconcile(limit_per_check=5)
    failed = sorted({d.check for d in report.discrepancies})
    return {"ok": report.ok, "checks_failed": failed, "elapsed_ms": report.elapsed_ms}


def run_contender(
    name: str,
    *,
    as_of: datetime,
    options: dict[str, Any],
    reconcile: bool = False,
    checkpoint: bool = True,
) -> dict[str, Any]:
    """Prepare (untimed), checkpoint and warm the main table, then the timed work; then,
    untimed and after the peak RSS is read, ``reconcile`` the books if asked."""
    contender = CONTENDERS[name]
    t_prepare = time.perf_counter()
    prepared = contender.prepare(as_of, options)
    prepare_s = time.perf_counter() - t_prepare
    with connection.cursor() as cursor:
        if checkpoint:  # no dirty pages of the copy or the fill left to write
            cursor.execute("CHECKPOINT")
        cursor.execute(f"SELECT count(*) FROM {contender.warm_table}")  # same cache footing
    settle_s = time.perf_counter() - t_prepare - prepare_s
    rss_before = rss_mb()
    wal_before = _wal_lsn()
    cpu_before = _cpu_s()
    machine_before = machine_cpu_s()
    with measured() as counter:
        started_wall = time.time()
        t0 = time.perf_counter()
        outcome = contender.work(as_of, {**options, "prepared": prepared})
        elapsed = time.perf_counter() - t0
        ended_wall = time.time()
    cpu = _cpu_s() - cpu_before
    machine_after = machine_cpu_s()
    machine = None
    if machine_before is not None and machine_after is not None:
        machine = round(machine_after - machine_before, 2)
    wal = _wal_bytes_since(wal_before)
    peak = rss_mb()
    return {
        "contender": name,
        "kind": contender.kind,
        "family": contender.family,
        "wall_s": round(elapsed, 4),
        "work_started_at": started_wall,
        "work_ended_at": ended_wall,
        "wallets": outcome.wallets,
        "amount": outcome.amount,
        "queries": counter.count,
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak,
        "prepared": {**prepared, "prepare_s": round(prepare_s, 3), "settle_s": round(settle_s, 3)},
        # where the time went besides the server: this process's CPU (all its threads: the
        # Python side of the run), the whole machine's (the run's cost in core-seconds,
        # whatever the cores: the server's backends too) and the WAL the server wrote meanwhile
        "info": {
            **outcome.info,
            "cpu_s": round(cpu, 3),
            "machine_cpu_s": machine,
            "wal_mb": round(wal / 2**20, 1),
        },
        "reconcile": reconcile_report() if reconcile else None,
    }


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _wal_lsn() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return str(cursor.fetchone()[0])


def _wal_bytes_since(lsn: str) -> int:
    """The WAL written by the whole server since ``lsn`` (only this contender runs)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)::bigint", [lsn])
        return int(cursor.fetchone()[0])
