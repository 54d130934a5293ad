"""Reading the audit trail."""

from __future__ import annotations

from django.db.models import QuerySet

from saka.audit.models import AuditRecord


def audit_list(*, actor_id: int | None = None, action: str | None = None) -> QuerySet[AuditRecord]:
    """Audit records, optionally of one actor and/or one action (newest first by id)."""
    records = AuditRecord.objects.all()
    if actor_id is not None:
        records = records.filter(actor_id=actor_id)
    if action:
        records = records.filter(action=action)
    return records.order_by("-id")
