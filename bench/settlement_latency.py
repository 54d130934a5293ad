"""Member latency while a campaign settlement runs: deposits with a tip (they credit the
platform's commission account) and donations to the project being settled (its project
account), by distinct members, from worker processes, while a settlement releases every
pledge of a campaign of ``pledges`` held pledges (default 20,000).

Before the rolled-up accounts (docs/ledger.md), every settlement chunk held the commission and
project rows in its transaction, so these deposits queued behind it (up to 731 ms, 3 s
``LockTimeout`` with a slow chunk). The figure reported is their p50/p99 during the run, and
the same load with no settlement for comparison.

Three sides, each in its own process on a fresh migrated database (``saka_bench_*_settle``):

- :func:`seed` (``saka_bench_contender --contender settlement_seed``): pledgers funded by real
  webhook deposits, a project, its campaign and ``pledges`` held pledges (bulk, booked as
  ``pledge_create`` books them), closed as succeeded; the probe members;
- :func:`worker` (``--contender settlement_latency_worker``): paced deposits, alternately with
  a tip and with a donation to the project, each member its own (signed webhook deliveries);
- :func:`run_settlement` (``--contender settlement_run``): ``settlement_start`` with the
  clock's window (its first and last statement) for the samples;

and :func:`settlement_latency_probe` in the harness. Reconcile runs at the end (untimed).
"""

from __future__ import annotations

import itertools
import json
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F

from bench.dbs import Server, check_name
from bench.latency import collect_samples, paced_samples, percentile
from bench.options import BenchOptions
from bench.processes import last_json, manage, start_workers
from bench.templates import Templates
from saka.core.clock import now
from saka.core.errors import DomainError

SECRET = "whsec_saka_bench_settlement"  # noqa: S105 - the bench databases' own webhooks
OPS = ("deposit_tip", "donation")
WHAT = "settlement latency worker"
PLEDGERS = 200
_events = itertools.count(1)


def _configure() -> None:
    from saka.euro.conf import get_settings

    settings.SAKA_PAYMENT_WEBHOOK_SECRET = SECRET
    get_settings.cache_clear()


def _deliver(member_id: int, amount: int, **metadata: Any) -> None:
    from saka.euro.payments.webhooks import (
        PAYMENT_SUCCEEDED,
        payment_webhook_handle,
        signature_header,
    )

    n = f"{time.monotonic_ns()}_{next(_events)}"
    event = {
        "id": f"evt_bench_{n}",
        "object": "event",
        "type": PAYMENT_SUCCEEDED,
        "created": int(time.time()),
        "data": {
            "object": {
                "id": f"pi_bench_{n}",
                "object": "payment_intent",
                "amount": amount,
                "currency": "eur",
                "fee": 0,
                "metadata": {"member_id": str(member_id), **metadata},
            }
        },
    }
    body = json.dumps(event).encode()
    payment_webhook_handle(
        payload=body,
        signature=signature_header(payload=body, secret=SECRET, timestamp=int(time.time())),
    )


def seed(*, pledges: int, probe_members: int) -> dict[str, Any]:
    """The campaign to settle and the probe members (see the module docstring)."""
    from saka.euro.models import (
        AccountKind,
        CampaignStatus,
        EntryKind,
        EuroAccount,
        EuroEntry,
        EuroPosting,
        Pledge,
    )
    from saka.euro.services.campaigns import campaign_create, campaign_set_status
    from saka.projects.services import project_create

    _configure()
    users = get_user_model()
    tag = time.monotonic_ns()
    made = users.objects.bulk_create(
        [users(username=f"bench-settle-{tag}-{i}") for i in range(PLEDGERS + probe_members + 1)]
    )
    ids = [u.pk for u in made]
    owner, pledgers, probes = ids[0], ids[1 : PLEDGERS + 1], ids[PLEDGERS + 1 :]
    amounts = [1_000 + (i * 37) % 9_000 for i in range(pledges)]
    owed: dict[int, int] = defaultdict(int)
    for i, cents in enumerate(amounts):
        owed[pledgers[i % PLEDGERS]] += cents
    for member_id in pledgers:
        _deliver(member_id, owed[member_id])
    project = project_create(owner_id=owner, title="Bench settlement")
    campaign = campaign_create(project_id=project.pk, goal=1, deadline=now() + timedelta(days=1))
    wallets = dict(
        EuroAccount.objects.filter(kind=AccountKind.WALLET, member_id__in=pledgers).values_list(
            "member_id", "id"
        )
    )
    with transaction.atomic():
        owners = [pledgers[i % PLEDGERS] for i in range(pledges)]
        escrows = EuroAccount.objects.bulk_create(
            [
                EuroAccount(kind=AccountKind.ESCROW, member_id=m, balance=a)
                for m, a in zip(owners, amounts, strict=True)
            ],
            batch_size=5000,
        )
        Pledge.objects.bulk_create(
            [
                Pledge(
                    member_id=m,
                    campaign=campaign,
                    project_id=project.pk,
                    amount_cents=a,
                    escrow_id=e.pk,
                    wallet_id=wallets[m],
                )
                for m, a, e in zip(owners, amounts, escrows, strict=True)
            ],
            batch_size=5000,
        )
        lines: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for m, a, e in zip(owners, amounts, escrows, strict=True):
            lines[m].append((e.pk, a))
        postings = []
        for m, held in lines.items():
            total = sum(a for _, a in held)
            entry = EuroEntry.objects.create(
                kind=EntryKind.PLEDGE, amount=total, member_id=m, campaign=campaign
            )
            postings.append(EuroPosting(entry=entry, account_id=wallets[m], amount=-total))
            postings += [EuroPosting(entry=entry, account_id=e, amount=a) for e, a in held]
            EuroAccount.objects.filter(pk=wallets[m]).update(balance=F("balance") - total)
        EuroPosting.objects.bulk_create(postings, batch_size=5000)
    campaign_set_status(campaign_id=campaign.pk, status=CampaignStatus.SUCCEEDED)
    return {"campaign_id": campaign.pk, "project_id": project.pk, "probe_members": probes}


def worker(
    *,
    members: list[int],
    project_id: int,
    seconds: float,
    max_ops: int,
    rate: float,
    stop_file: str | None,
    ready_file: str | None,
) -> dict[str, Any]:
    """Paced deposits (alternately with a tip and with a donation to the project), each by
    the next of ``members``; samples ``[started_at, op, ms, ok]``."""
    _configure()
    for member_id in members:  # warm-up outside the samples: wallets exist, caches are warm
        _deliver(member_id, 10_00)
    if ready_file:
        Path(ready_file).touch()

    def call(i: int, op: str) -> str | None:
        extra = (
            {"tip_cents": "150"}
            if op == "deposit_tip"
            else {"donation_cents": "400", "project_id": str(project_id)}
        )
        try:
            _deliver(members[i % len(members)], 10_00, **extra)
        except DomainError as exc:  # a lock timeout (503) is a measured, refused call
            return str(exc.code)
        return None

    return paced_samples(
        seconds=seconds, max_ops=max_ops, rate=rate, stop_file=stop_file, ops=OPS, call=call
    )


def run_settlement(*, campaign_id: int, workers: int) -> dict[str, Any]:
    """Settle the campaign; the window of its work (epoch seconds) and what it booked."""
    from saka.euro.settlement import settlement_start

    started_at = time.time()
    t0 = time.perf_counter()
    run = settlement_start(campaign_id=campaign_id, workers=workers)
    wall_s = time.perf_counter() - t0
    return {
        "work_started_at": started_at,
        "work_ended_at": time.time(),
        "wall_s": round(wall_s, 3),
        "pledges_done": run.pledges_done,
        "chunks": run.chunks_done,
        "chunk_size": run.chunk_size,
        "status": run.status,
    }


# --- the harness's side ---------------------------------------------------------------------


def _summary(samples: list[list[Any]], window: tuple[float, float] | None) -> dict[str, Any]:
    chosen = [s for s in samples if window is None or window[0] <= s[0] <= window[1]]
    out: dict[str, Any] = {}
    for op in OPS:
        ms = [float(s[2]) for s in chosen if s[1] == op]
        out[op] = {
            "calls": len(ms),
            "refused": sum(1 for s in chosen if s[1] == op and not s[3]),
            "p50_ms": None if not ms else round(percentile(ms, 50) or 0.0, 2),
            "p99_ms": None if not ms else round(percentile(ms, 99) or 0.0, 2),
            "max_ms": None if not ms else round(max(ms), 2),
        }
    return out


def _workers(
    server: Server,
    db: str,
    opts: BenchOptions,
    seeded: dict[str, Any],
    *,
    seconds: float,
    stop_file: str | None,
    ready_dir: Path,
    phase: int,
) -> list[Any]:
    probes: list[int] = seeded["probe_members"]
    n = opts.latency_workers
    commands, ready = [], []
    for w in range(n):
        path = ready_dir / f"settle-ready-{phase}-{w}"
        args = [
            "saka_bench_contender",
            "--contender",
            "settlement_latency_worker",
            "--as-of",
            opts.as_of.isoformat(),
            "--members",
            ",".join(str(m) for m in probes[w::n]),
            "--project",
            str(seeded["project_id"]),
            "--seconds",
            str(seconds),
            "--max-ops",
            str(opts.latency_max_ops),
            "--rate",
            str(opts.latency_rate),
            "--ready-file",
            str(path),
        ]
        if stop_file:
            args += ["--stop-file", stop_file]
        commands.append(args)
        ready.append(path)
    return start_workers(server, db, commands, ready_files=ready)


def settlement_latency_probe(
    server: Server, templates: Templates, opts: BenchOptions
) -> dict[str, Any]:
    """p50/p99 of deposits with a tip and donations: a quiet phase, then during a settlement of
    ``opts.settlement_pledges`` pledges of the donations' project."""
    db = check_name(f"{opts.prefix}_settle")
    server.create(db, template=templates.schema())
    try:
        out, seed_s = manage(
            server,
            db,
            "saka_bench_contender",
            "--contender",
            "settlement_seed",
            "--as-of",
            opts.as_of.isoformat(),
            "--pledges",
            str(opts.settlement_pledges),
            "--probe-members",
            str(4 * opts.latency_workers),
            timeout=opts.timeout_s,
        )
        seeded = last_json(out)
        with server.connect(db) as conn:
            conn.execute("CHECKPOINT")
        with tempfile.TemporaryDirectory(prefix="saka_bench_") as tmp:
            ready_dir = Path(tmp)
            procs = _workers(
                server,
                db,
                opts,
                seeded,
                seconds=opts.latency_idle_seconds,
                stop_file=None,
                ready_dir=ready_dir,
                phase=1,
            )
            quiet, quiet_errors = collect_samples(
                procs, timeout=opts.latency_idle_seconds + 120, what=WHAT
            )
            stop = ready_dir / "stop"
            procs = _workers(
                server,
                db,
                opts,
                seeded,
                seconds=opts.latency_max_seconds,
                stop_file=str(stop),
                ready_dir=ready_dir,
                phase=2,
            )
            try:
                out, _ = manage(
                    server,
                    db,
                    "saka_bench_contender",
                    "--contender",
                    "settlement_run",
                    "--as-of",
                    opts.as_of.isoformat(),
                    "--campaign",
                    str(seeded["campaign_id"]),
                    "--threads",
                    "1",
                    timeout=opts.timeout_s,
                )
            finally:
                stop.touch()
            during, during_errors = collect_samples(
                procs, timeout=opts.latency_max_seconds + 120, what=WHAT
            )
        run = last_json(out)
        window = (float(run["work_started_at"]), float(run["work_ended_at"]))
        rec, _ = manage(server, db, "saka_reconcile", "--json", timeout=opts.timeout_s)
        return {
            "pledges": opts.settlement_pledges,
            "workers": opts.latency_workers,
            "rate_per_worker": opts.latency_rate,
            "seed_s": round(seed_s, 1),
            "no_run": {**_summary(quiet, None), "errors": quiet_errors},
            "during_run": {**_summary(during, window), "errors": during_errors},
            "run": run,
            "reconcile_ok": bool(last_json(rec).get("ok")),
        }
    finally:
        server.drop(db)


def settlement_latency_line(results: dict[str, Any]) -> str:
    """The Markdown line of the measurement (empty when it was not run)."""
    lat = results.get("settlement_latency")
    if not lat:
        return ""
    during, quiet = lat["during_run"], lat["no_run"]
    return (
        f"Member p99 while a {lat['pledges']:,}-pledge settlement runs "
        f"({lat['run']['wall_s']:g} s, {lat['run']['chunks']} chunks of "
        f"{lat['run']['chunk_size']:,}; {lat['workers']} processes, {lat['rate_per_worker']:g} "
        f"deposits/s each, distinct members): deposit with a tip p50 "
        f"{during['deposit_tip']['p50_ms']} / p99 {during['deposit_tip']['p99_ms']} ms, "
        f"donation to the project p50 {during['donation']['p50_ms']} / p99 "
        f"{during['donation']['p99_ms']} ms ({during['deposit_tip']['calls']} + "
        f"{during['donation']['calls']} calls, {sum(during['errors'].values())} refused); "
        f"with no settlement p99 {quiet['deposit_tip']['p99_ms']} / "
        f"{quiet['donation']['p99_ms']} ms. Reconcile "
        f"{'clean' if lat['reconcile_ok'] else 'NOT CLEAN'}."
    )
