"""One row per staff action: who, what, when, on what, with which payload, and the outcome."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from saka.audit.roles import PERMISSIONS


class Outcome(models.TextChoices):
    SUCCEEDED = "succeeded"
    REFUSED = "refused"


class AuditRecord(models.Model):
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Null: the system (beat schedule, cron command).",
    )
    action = models.CharField(max_length=64)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    target_type = models.CharField(max_length=64, blank=True, default="")
    target_id = models.CharField(max_length=64, blank=True, default="")
    payload = models.JSONField(default=dict, blank=True)
    error_code = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        permissions = sorted(PERMISSIONS.items())
        indexes = [
            models.Index(fields=["actor", "id"], name="audit_actor_id"),
            models.Index(fields=["action", "id"], name="audit_action_id"),
        ]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id or 'system'}: {self.outcome}"
