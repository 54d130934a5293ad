"""Benchmark results on given figures, for the report's and the page's tests (no database)."""

from __future__ import annotations

from typing import Any


def measurement(contender: str, wall_s: float, *, size: int, **extra: Any) -> dict[str, Any]:
    """One contender's measurement as ``saka_bench`` records it: exact, 10 wallets, 5 queries,
    63 MB, unless ``extra`` says otherwise."""
    family, _, kind = contender.partition("_")
    return {
        "size": size,
        "contender": contender,
        "kind": kind,
        "family": family,
        "status": "ok",
        "note": "",
        "wall_s": wall_s,
        "wallets": 10,
        "expected_wallets": 10,
        "amount": 100,
        "queries": 5,
        "peak_rss_mb": 63.0,
        "diff": {},
        "correct": True,
        "reconcile": None,
        "info": {},
        **extra,
    }
