"""Admin helpers: ledger rows are read-only everywhere in the admin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from saka.ledger.models import IdempotencyRecord


class ReadOnlyAdmin(admin.ModelAdmin):
    """No add, change or delete: ledger rows change only through services."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ("id", "scope", "key", "created_at")
    search_fields = ("scope", "key")
    list_filter = ("created_at",)
