"""Reading the alerts."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from saka.alerts.models import Alert, AlertKind

OPEN, RESOLVED = "open", "resolved"


def alert_list(
    *, state: str | None = None, kind: str | None = None, severity: str | None = None
) -> QuerySet[Alert]:
    """Alerts, newest first by id; ``state`` ``open`` or ``resolved`` (default: both)."""
    alerts = Alert.objects.all()
    if state == OPEN:
        alerts = alerts.filter(resolved_at__isnull=True)
    elif state == RESOLVED:
        alerts = alerts.filter(resolved_at__isnull=False)
    if kind:
        alerts = alerts.filter(kind=kind)
    if severity:
        alerts = alerts.filter(severity=severity)
    return alerts.order_by("-id")


def alerts_open_fingerprints(*, kind: str) -> set[str]:
    """The fingerprints of the open alerts of ``kind``."""
    return set(
        Alert.objects.filter(kind=kind, resolved_at__isnull=True).values_list(
            "fingerprint", flat=True
        )
    )


def alerts_open_counts() -> dict[str, int]:
    """How many alerts of each kind are open (every kind, 0 included). One query."""
    rows = (
        Alert.objects.filter(resolved_at__isnull=True)
        .order_by()
        .values("kind")
        .annotate(n=Count("pk"))
    )
    found = {row["kind"]: row["n"] for row in rows}
    return {kind: found.get(kind, 0) for kind in AlertKind.values}
