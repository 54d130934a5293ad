"""The contender processes' sides of the second report's measurements (``saka_bench_contender
--contender second_* --params JSON``), each in a fresh process on its own bench database:

- ``second_settlement_seed``: pledgers funded by webhook deposits, one project, its campaign
  with P held pledges, closed as succeeded (``bench.settlement_latency.seed``);
- ``second_settlement_run``: the project's ``settlement_start`` or the seeds' release, timed;
- ``second_pockets_seed``: one member per (contender, K) with 100.00 EUR on the main balance
  and K pockets of equal percentages;
- ``second_pockets_run``: several deposits to one of them (the project's signed webhook, or the
  seeds' deposit and allocation), each timed and counted;
- ``second_deposits_seed`` and ``second_deposit_worker``: members with three pockets each, and
  a worker depositing once to each of its members, as fast as it goes (closed loop).

A measured side reports wall time, statements (``bench.contenders.measured``: every
connection of the process) and peak RSS (``VmHWM``), then runs ``reconcile`` after the clock.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection

from bench import settlement_latency
from bench.contenders import QueryCounter, measured, reconcile_report, rss_mb
from bench.processes import READY_TIMEOUT_S
from bench.second_report import seeds_code
from saka.core.clock import now

INITIAL_MAIN = 100_00  # each pocket member's main balance before the measured deposits
DEPOSIT_POCKETS_BP = (3333, 3333, 3333)  # the concurrent deposits' members: 99.99 %


def deposit_amount(member_id: int) -> int:
    """The cents a concurrent-deposit worker sends to ``member_id`` (the harness checks it)."""
    return 1_000 + (member_id * 37) % 9_000


def pocket_bp(count: int) -> int:
    """K equal shares: 100 % / K in hundredths of a percent, rounded down (150 -> 0.66 %)."""
    return 10_000 // count


def _percentage(bp: int) -> str:
    return f"{bp // 100}.{bp % 100:02d}"


def _users(prefix: str, n: int) -> list[int]:
    users = get_user_model()
    tag = time.monotonic_ns()
    made = users.objects.bulk_create([users(username=f"{prefix}-{tag}-{i}") for i in range(n)])
    return [u.pk for u in made]


def _warm(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")  # no dirty pages of the seeding left to write
        cursor.execute(f"SELECT count(*) FROM {table}")  # same cache footing for both sides


# --- settlement -----------------------------------------------------------------------------


def settlement_seed(*, pledges: int) -> dict[str, Any]:
    seeded = settlement_latency.seed(pledges=pledges, probe_members=0)
    return {"campaign_id": seeded["campaign_id"], "project_id": seeded["project_id"]}


def settlement_run(*, family: str, campaign_id: int) -> dict[str, Any]:
    """Settle the campaign the project's way or the seeds' way; what it reports."""
    from saka.euro.settlement import settlement_start

    _warm("euro_pledge")
    rss_before = rss_mb()
    with measured() as counter:
        t0 = time.perf_counter()
        if family == "project":
            run = settlement_start(campaign_id=campaign_id)
            reported = {
                "count": run.pledges_done,
                "amount": run.amount_done,
                "commission": run.commission_done,
            }
            info = {"chunks": run.chunks_done, "chunk_size": run.chunk_size, "run_id": run.pk}
        else:
            out = seeds_code.release_campaign_escrows(campaign_id=campaign_id, as_of=now())
            reported = {
                "count": out.reported_count,
                "amount": out.reported_amount,
                "commission": out.reported_commission,
            }
            info = {"batches": out.batches, "released": out.released, "run_id": out.run_id}
        wall_s = time.perf_counter() - t0
    peak = rss_mb()
    return {
        "family": family,
        "wall_s": round(wall_s, 4),
        "queries": counter.count,
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak,
        "reported": reported,
        "info": info,
        "reconcile": reconcile_report(),
    }


# --- pockets ----------------------------------------------------------------------------------


def pockets_seed(*, cases: list[list[Any]]) -> dict[str, Any]:
    """One member per ``[family, K]`` with ``INITIAL_MAIN`` on the main balance and K pockets of
    ``pocket_bp(K)`` each. The project's services open them (they refuse more than 100); the
    seeds' members beyond 100 get their rows written directly (the seeds had no such limit)."""
    from saka.euro.models import AccountKind, EuroAccount, Pocket
    from saka.euro.services.pockets import pocket_create

    settlement_latency._configure()
    members = _users("bench-pockets", len(cases))
    out = {}
    for (family, count), member_id in zip(cases, members, strict=True):
        settlement_latency._deliver(member_id, INITIAL_MAIN)
        bp = pocket_bp(int(count))
        if int(count) <= 100:
            for k in range(int(count)):
                pocket_create(
                    member_id=member_id, name=f"pocket {k + 1}", percentage=_percentage(bp)
                )
        else:
            accounts = EuroAccount.objects.bulk_create(
                [EuroAccount(kind=AccountKind.POCKET, member_id=member_id) for _ in range(count)]
            )
            Pocket.objects.bulk_create(
                [
                    Pocket(member_id=member_id, account=a, name=f"pocket {k + 1}", percentage_bp=bp)
                    for k, a in enumerate(accounts)
                ]
            )
        out[f"{family}:{count}"] = member_id
    return {"members": out}


def pockets_run(*, family: str, member_id: int, amount: int, deposits: int) -> dict[str, Any]:
    """``deposits`` deposits of ``amount`` cents to the member, each timed and counted on its
    own; the reconcile's failing checks before and after (untimed)."""
    settlement_latency._configure()
    before = reconcile_report()
    _warm("euro_pocket")
    times, queries, allocation_queries = [], [], []
    for d in range(deposits):
        alloc = QueryCounter()
        with measured() as counter:
            t0 = time.perf_counter()
            if family == "project":
                settlement_latency._deliver(member_id, amount)
            else:
                seeds_code.seeds_deposit(
                    member_id=member_id,
                    amount=amount,
                    payment_id=f"pi_seeds_{member_id}_{d}_{time.monotonic_ns()}",
                    at=now(),
                    counter=alloc,
                )
            times.append(time.perf_counter() - t0)
        queries.append(counter.count)
        allocation_queries.append(alloc.count)
    return {
        "family": family,
        "deposits": deposits,
        "amount": amount,
        "median_ms": round(statistics.median(times) * 1000, 2),
        "max_ms": round(max(times) * 1000, 2),
        "queries": int(statistics.median(queries)),
        "allocation_queries": int(statistics.median(allocation_queries))
        if family == "seeds"
        else None,
        "peak_rss_mb": rss_mb(),
        "reconcile_before": before,
        "reconcile": reconcile_report(),
    }


# --- concurrent deposits ------------------------------------------------------------------------


def deposits_seed(*, members: int) -> dict[str, Any]:
    """``members`` members, each with a wallet and the pockets of ``DEPOSIT_POCKETS_BP`` (rows
    written in bulk: the setting-up is not what is measured)."""
    from saka.euro.accounts import accounts_ensure
    from saka.euro.models import AccountKind, EuroAccount, Pocket

    accounts_ensure()
    ids = _users("bench-deposits", members)
    EuroAccount.objects.bulk_create(
        [EuroAccount(kind=AccountKind.WALLET, member_id=m) for m in ids], batch_size=2000
    )
    owners = [m for m in ids for _ in DEPOSIT_POCKETS_BP]
    accounts = EuroAccount.objects.bulk_create(
        [EuroAccount(kind=AccountKind.POCKET, member_id=m) for m in owners], batch_size=2000
    )
    Pocket.objects.bulk_create(
        [
            Pocket(member_id=m, account=a, name=f"pocket {k % 3 + 1}", percentage_bp=bp)
            for k, (m, a, bp) in enumerate(
                zip(owners, accounts, DEPOSIT_POCKETS_BP * members, strict=True)
            )
        ],
        batch_size=2000,
    )
    return {"members": ids}


def deposit_worker(
    *,
    members: list[int],
    start_file: str,
    ready_file: str,
    seconds: float,
    family: str = "project",
) -> dict[str, Any]:
    """One deposit of ``deposit_amount(m)`` to each of ``members`` (the project's signed
    webhook, or the seeds' deposit and allocation), as fast as it goes once ``start_file``
    exists; the latency of each and what was booked. A refused deposit is counted by its error
    code (the seeds': the database error, e.g. the wallet's CHECK ``balance >= 0``)."""
    from django.db import DatabaseError

    from saka.core.errors import DomainError
    from saka.euro.models import Pocket

    settlement_latency._configure()
    Pocket.objects.filter(member_id=members[0]).count()  # warm: connection, ORM
    Path(ready_file).touch()
    start, waited = Path(start_file), time.monotonic() + READY_TIMEOUT_S + 60
    while not start.exists():
        if time.monotonic() > waited:
            raise RuntimeError(f"no start signal ({start_file})")
        time.sleep(0.001)
    booked: list[int] = []
    ms: list[float] = []
    errors: dict[str, int] = {}
    started_at = time.time()
    deadline = time.monotonic() + seconds
    for member_id in members:
        if time.monotonic() >= deadline:
            break
        t0 = time.perf_counter()
        try:
            if family == "project":
                settlement_latency._deliver(member_id, deposit_amount(member_id))
            else:
                seeds_code.seeds_deposit(
                    member_id=member_id,
                    amount=deposit_amount(member_id),
                    payment_id=f"pi_seeds_{member_id}_{time.monotonic_ns()}",
                    at=now(),
                )
        except DomainError as exc:
            errors[str(exc.code)] = errors.get(str(exc.code), 0) + 1
            continue
        except DatabaseError as exc:  # the seeds' side only: the project maps its errors
            if family == "project":
                raise
            cause = getattr(exc.__cause__, "diag", None)
            code = getattr(cause, "constraint_name", None) or type(exc).__name__
            errors[code] = errors.get(code, 0) + 1
            continue
        ms.append(round((time.perf_counter() - t0) * 1000, 3))
        booked.append(member_id)
    return {
        "booked": booked,
        "ms": ms,
        "errors": errors,
        "started_at": started_at,
        "ended_at": time.time(),
        "peak_rss_mb": rss_mb(),
    }


SIDES: dict[str, Callable[..., dict[str, Any]]] = {
    "second_settlement_seed": settlement_seed,
    "second_settlement_run": settlement_run,
    "second_pockets_seed": pockets_seed,
    "second_pockets_run": pockets_run,
    "second_deposits_seed": deposits_seed,
    "second_deposit_worker": deposit_worker,
}
