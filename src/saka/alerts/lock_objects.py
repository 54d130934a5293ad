"""Row locks of the alerts. Every lock goes through ``saka.core.db.lock_rows``."""

from __future__ import annotations

from saka.alerts.models import Alert
from saka.core.db import lock_rows


def alert_lock(*, fingerprint: str) -> Alert | None:
    """Lock the alert of ``fingerprint``; ``None`` when there is none yet."""
    rows = lock_rows(Alert.objects.filter(fingerprint=fingerprint))
    return rows[0] if rows else None
