"""The fixed instants the tests book at (time is passed in as ``as_of``, never read)."""

from __future__ import annotations

from datetime import UTC, datetime

T0 = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)
"""A Tuesday, 12:00 UTC: summer time in Paris (UTC+2), far from any day's limit boundary."""

A = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
"""A run's ``as_of``: a Monday, 03:00 UTC, the 2nd of the month (the weekly compost slot)."""
