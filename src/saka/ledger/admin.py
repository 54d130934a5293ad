"""Admin helpers: ledger rows are read-only everywhere in the admin; an admin whose saves
call a service (``ServiceSavesAdmin``, the euro and grains admins')."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from saka.core.errors import DomainError
from saka.ledger.models import IdempotencyRecord


class ReadOnlyAdmin(admin.ModelAdmin):
    """No add, change or delete: ledger rows change only through services."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ServiceSavesAdmin(admin.ModelAdmin):
    """An admin whose saves call a service. The service owns its (durable) transaction, so
    the change form is not wrapped in the admin's own atomic block.

    A service refuses with a typed error (a past deadline, a second open campaign, an inactive
    member) only once the form is valid, in ``save_model``: the form is then validated again
    with that error attached, so the page shows it as a form error instead of a 500. The
    service rolled its own transaction back: nothing was saved."""

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return self._changeform_view(request, object_id, form_url, extra_context)  # type: ignore[attr-defined]
        except DomainError as exc:
            request._saka_refused = exc  # type: ignore[attr-defined]  # read by get_form
            return self._changeform_view(request, object_id, form_url, extra_context)  # type: ignore[attr-defined]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form_class = super().get_form(request, obj, change, **kwargs)
        found: DomainError | None = getattr(request, "_saka_refused", None)
        if found is None:
            return form_class
        refused = found

        class RefusedByService(form_class):  # type: ignore[misc, valid-type]
            def clean(self) -> dict[str, Any]:
                cleaned: dict[str, Any] = super().clean()
                field = refused.data.get("field")
                error = forms.ValidationError(refused.message, code=str(refused.code))
                self.add_error(field if field in self.fields else None, error)
                return cleaned

        return RefusedByService

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ("id", "scope", "key", "created_at")
    search_fields = ("scope", "key")
    list_filter = ("created_at",)
