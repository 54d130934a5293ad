"""Member latency probe: ``wallet_harvest`` and ``wallet_plant`` from worker processes on random
seeded members, with and without a compost run in progress.

Each worker is its own process (own connection) and paces itself at ``rate`` calls per second
(the next call starts at the next tick, or at once when a call overran): an open-loop load
that does not saturate the two cores by itself. Bounded by ``max_ops`` and ``seconds`` and by
a stop file the harness creates when the run ends.
"""

from __future__ import annotations

import math
import random
import time
from pathlib import Path
from typing import Any

from django.db import connection

from saka.core.errors import DomainError
from saka.grains.services import wallet_harvest, wallet_plant

HARVEST_REASONS = ("poll_vote", "content_read", "invite_accepted")
OPS = ("harvest", "plant")


def _member_range() -> tuple[int, int, list[int] | None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(member_id), max(member_id), count(*) FROM grains_account "
            "WHERE kind = 'wallet'"
        )
        row = cursor.fetchone()
        if row is None or row[2] == 0:
            raise RuntimeError("no wallet to probe")
        low, high, count = int(row[0]), int(row[1]), int(row[2])
        if high - low + 1 == count:
            return low, high, None
        cursor.execute("SELECT member_id FROM grains_account WHERE kind = 'wallet'")
        return low, high, [int(r[0]) for r in cursor.fetchall()]


def worker(
    *,
    seconds: float,
    max_ops: int,
    rate: float,
    seed: int,
    stop_file: str | None,
    ready_file: str | None = None,
) -> dict[str, Any]:
    """Run the probe; returns samples ``[started_at (epoch s), op, ms, ok]``. Touches
    ``ready_file`` once warm; stops at ``seconds``, ``max_ops`` or when ``stop_file`` exists."""
    rng = random.Random(seed)  # noqa: S311 - load generation, not security
    low, high, members = _member_range()
    stop = Path(stop_file) if stop_file else None
    samples: list[list[Any]] = []
    errors: dict[str, int] = {}
    interval = 1.0 / rate if rate > 0 else 0.0
    # one warm-up call per op (connection, caches) outside the samples
    for op in OPS:
        _call(op, rng, low, high, members)
    if ready_file:
        Path(ready_file).touch()
    deadline = time.monotonic() + seconds
    next_tick = time.monotonic()
    for i in range(max_ops):
        now = time.monotonic()
        if now >= deadline or (stop is not None and i % 8 == 0 and stop.exists()):
            break
        if next_tick > now:
            time.sleep(next_tick - now)
        next_tick = max(next_tick + interval, time.monotonic())
        op = OPS[i % 2]
        started = time.time()
        t0 = time.perf_counter()
        error = _call(op, rng, low, high, members)
        ms = (time.perf_counter() - t0) * 1000
        samples.append([started, op, round(ms, 3), error is None])
        if error is not None:
            errors[error] = errors.get(error, 0) + 1
    return {"samples": samples, "errors": errors}


def _call(
    op: str, rng: random.Random, low: int, high: int, members: list[int] | None
) -> str | None:
    member_id = rng.choice(members) if members is not None else rng.randint(low, high)
    try:
        if op == "harvest":
            wallet_harvest(member_id=member_id, reason=rng.choice(HARVEST_REASONS))
        else:
            wallet_plant(member_id=member_id, amount=1, reason="bench")
    except DomainError as exc:  # a daily limit or an empty wallet: still a measured call
        return str(exc.code)
    return None


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def summarize(
    samples: list[list[Any]], *, window: tuple[float, float] | None = None
) -> dict[str, Any]:
    """p50/p99/max per op over the samples that started inside ``window`` (epoch seconds)."""
    chosen = [s for s in samples if window is None or window[0] <= s[0] <= window[1]]
    out: dict[str, Any] = {}
    for op in OPS:
        ms = [float(s[2]) for s in chosen if s[1] == op]
        out[op] = {
            "calls": len(ms),
            "refused": sum(1 for s in chosen if s[1] == op and not s[3]),
            "p50_ms": _round(percentile(ms, 50)),
            "p99_ms": _round(percentile(ms, 99)),
            "max_ms": _round(max(ms) if ms else None),
        }
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
