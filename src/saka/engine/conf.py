"""The engine's settings (validated when read; tests change them with ``override_settings``).

``SAKA_RUN_LEASE_SECONDS`` (30): how long a chunk lease lasts; a worker that died holding one
delays its chunk this long, never more. ``SAKA_RUN_STALL_SECONDS`` (120): a run with no live
lease and no progress for this long is stalled (the resume task takes it up again).
``SAKA_RUN_CHUNK_RETRIES`` (3): a chunk that meets a lock timeout or a deadlock is tried again
this many times (with backoff) before the worker gives up and interrupts the run.
``SAKA_RUN_POLL_MS`` (50): how often a worker with nothing to claim looks again while other
workers finish the step's last chunks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class EngineSettings:
    lease_seconds: int
    stall_seconds: int
    chunk_retries: int
    poll_ms: int


def _int(name: str, default: int, low: int, high: int) -> int:
    value: Any = getattr(settings, name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ImproperlyConfigured(f"{name} must be an integer in {low}..{high}, got {value!r}.")
    return value


def get_settings() -> EngineSettings:
    """Read on every call (cheap), so ``override_settings`` needs no cache reset."""
    return EngineSettings(
        lease_seconds=_int("SAKA_RUN_LEASE_SECONDS", 30, 1, 3600),
        stall_seconds=_int("SAKA_RUN_STALL_SECONDS", 120, 1, 86_400),
        chunk_retries=_int("SAKA_RUN_CHUNK_RETRIES", 3, 0, 20),
        poll_ms=_int("SAKA_RUN_POLL_MS", 50, 1, 10_000),
    )
