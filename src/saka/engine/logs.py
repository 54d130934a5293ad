"""What the engine's log lines carry besides their message (``extra``, top-level keys of a
JSON log line; see docs/observability.md): the run's kind, id and key, and the counts a chunk
or a run reports.

Each chunk done logs one line (``saka.runs``, INFO, ``event: "run.chunk"``) and each run one
line when it is finished (``event: "run.done"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from saka.engine.spec import RunSpec

KEYS = ("kind", "period", "campaign_id")


def run_key(run: Any) -> dict[str, str]:
    """The fields that name a run's key: kind and period (SAKA runs), campaign (settlement)."""
    return {k: str(getattr(run, k)) for k in KEYS if getattr(run, k, None) is not None}


def run_fields(spec: RunSpec, run: Any, event: str) -> dict[str, Any]:
    """A log line's fields naming the run (ids as integers, the rest as text)."""
    key = {
        k: v if isinstance(v, int) else str(v)
        for k in KEYS
        if (v := getattr(run, k, None)) is not None
    }
    return {"event": event, "run": spec.name, "run_id": run.pk, **key}


def counts_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {value}" for name, value in counts.items())
