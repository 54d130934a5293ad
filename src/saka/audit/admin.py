"""The audit trail in the admin: read-only (no add, change or delete), like the ledger."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from saka.audit.models import AuditRecord


@admin.register(AuditRecord)
class AuditRecordAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "actor", "action", "outcome", "target_type", "target_id")
    list_filter = ("action", "outcome")
    search_fields = ("action", "target_id")
    readonly_fields = tuple(f.name for f in AuditRecord._meta.fields)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        from saka.audit.roles import VIEW, actor_allowed

        return actor_allowed(request.user, VIEW)
