"""An alert: one row per condition (its fingerprint), seen again and again while it lasts."""

from __future__ import annotations

from django.db import models


class AlertKind(models.TextChoices):
    COMPOST_MISSING = "compost_missing", "no compost finished lately"
    COMPOST_EMPTY = "compost_empty", "a compost found eligible wallets and composted none"
    RUN_STALLED = "run_stalled", "a run is stalled"
    BOOKS_DISCREPANCY = "books_discrepancy", "the books do not reconcile"
    BROKER_UNREACHABLE = "broker_unreachable", "the broker is unreachable"


class AlertSeverity(models.TextChoices):
    WARNING = "warning", "warning"
    CRITICAL = "critical", "critical"


class Alert(models.Model):
    """A condition an operator should act on. ``fingerprint`` names it (one row per
    condition: raising it again bumps ``last_seen_at`` and ``seen_count``); it is open while
    ``resolved_at`` is null, and opens again (same row) when the condition comes back.
    ``notified_at``: when it was last e-mailed (``SAKA_ALERT_EMAILS``)."""

    id = models.BigAutoField(primary_key=True)
    fingerprint = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    severity = models.CharField(max_length=16, choices=AlertSeverity.choices)
    title = models.CharField(max_length=300)
    details = models.JSONField(default=dict, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    seen_count = models.BigIntegerField(default=1)
    resolved_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "alerts_alert"
        ordering = ["-id"]
        indexes = [models.Index(fields=["kind", "resolved_at"], name="alerts_alert_kind_open")]

    def __str__(self) -> str:
        state = "resolved" if self.resolved_at else "open"
        return f"{self.severity} {self.fingerprint} ({state})"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
