"""EUR admin: the ledger is read-only; campaigns change through services (admin actions).

The settlements' admin (read-only runs, a "stalled" filter, resuming) and the campaigns'
"settle" action live in ``saka.jobs.settlement_admin``: they enqueue Celery tasks, and the
domain never imports Celery.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from saka.audit import roles
from saka.core.errors import DomainError
from saka.core.members import user_search_fields
from saka.euro.models import (
    Campaign,
    CampaignStatus,
    EuroAccount,
    EuroEntry,
    EuroPosting,
    MemberProfile,
    Pledge,
    Pocket,
    WebhookEvent,
)
from saka.euro.services.campaigns import campaign_create, campaign_set_status
from saka.euro.services.members import member_kyc_set
from saka.ledger.admin import ReadOnlyAdmin


@admin.register(EuroAccount)
class EuroAccountAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "member", "project", "balance", "created_at")
    list_filter = ("kind",)
    search_fields = (*user_search_fields("member"), "project__title")
    list_select_related = ("member", "project")
    show_full_result_count = False


class EuroPostingInline(admin.TabularInline):
    model = EuroPosting
    fields = ("account", "amount", "pledge_id")
    readonly_fields = fields
    can_delete = False
    extra = 0
    max_num = 0


@admin.register(EuroEntry)
class EuroEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "amount", "member", "project", "campaign", "run", "created_at")
    list_filter = ("kind",)
    search_fields = (*user_search_fields("member"), "reference")
    date_hierarchy = "created_at"
    list_select_related = ("member", "project")
    inlines = [EuroPostingInline]
    show_full_result_count = False


@admin.register(EuroPosting)
class EuroPostingAdmin(ReadOnlyAdmin):
    list_display = ("id", "entry", "account", "amount", "pledge_id")
    raw_id_fields = ("entry", "account")
    show_full_result_count = False


@admin.register(Pocket)
class PocketAdmin(ReadOnlyAdmin):
    list_display = ("id", "member", "name", "percentage", "account", "created_at", "closed_at")
    search_fields = (*user_search_fields("member"), "name")
    list_select_related = ("member", "account")


@admin.register(Pledge)
class PledgeAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "member",
        "project",
        "campaign",
        "kind",
        "amount_cents",
        "status",
        "commission_cents",
        "net_cents",
        "created_at",
        "settled_at",
    )
    list_filter = ("status", "kind")
    search_fields = user_search_fields("member")
    list_select_related = ("member", "project")
    raw_id_fields = ("campaign", "settlement_run")
    show_full_result_count = False


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "provider",
        "event_id",
        "type",
        "status",
        "payment_id",
        "member",
        "amount_cents",
    )
    list_filter = ("provider", "status", "type")
    search_fields = ("event_id", "payment_id")
    show_full_result_count = False


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


def _close(status: str) -> Any:
    def action(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:
            try:
                campaign_set_status(
                    campaign_id=campaign.pk, status=status, actor_id=request.user.pk
                )
            except DomainError as exc:
                modeladmin.message_user(
                    request, f"campaign {campaign.pk}: {exc.message}", messages.ERROR
                )
            else:
                modeladmin.message_user(request, f"campaign {campaign.pk}: {status}")

    action.__name__ = f"close_{status}"
    return admin.action(description=f"Close as {status}", permissions=[roles.MANAGE_CAMPAIGNS])(
        action
    )


@admin.register(Campaign)
class CampaignAdmin(ServiceSavesAdmin):
    list_display = ("id", "project", "goal_cents", "deadline", "status", "created_at", "closed_at")
    list_filter = ("status",)
    raw_id_fields = ("project",)
    fields = ("project", "goal_cents", "deadline", "status", "closed_at")
    actions = [
        _close(CampaignStatus.SUCCEEDED),
        _close(CampaignStatus.FAILED),
        _close(CampaignStatus.CANCELLED),
    ]

    # the staff roles (saka.audit.roles) decide the actions and the add form
    def has_manage_campaigns_permission(self, request: HttpRequest) -> bool:
        return roles.actor_allowed(request.user, roles.MANAGE_CAMPAIGNS)

    def has_settle_campaigns_permission(self, request: HttpRequest) -> bool:
        return roles.actor_allowed(request.user, roles.SETTLE_CAMPAIGNS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.has_manage_campaigns_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.actor_allowed(request.user, roles.VIEW) or super().has_view_permission(
            request, obj
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # status changes through the actions (services); a campaign's terms are fixed once open
        return self.fields if obj is not None else ("status", "closed_at")

    def save_model(self, request: HttpRequest, obj: Campaign, form: Any, change: bool) -> None:
        if change:
            return
        created = campaign_create(
            project_id=obj.project_id,
            goal=obj.goal_cents,
            deadline=obj.deadline,
            created_by_id=request.user.pk,
        )
        obj.pk = created.pk
        obj.refresh_from_db()


@admin.register(MemberProfile)
class MemberProfileAdmin(ServiceSavesAdmin):
    list_display = ("id", "member", "kyc_verified", "kyc_verified_at", "updated_at")
    list_filter = ("kyc_verified",)
    raw_id_fields = ("member",)
    fields = ("member", "kyc_verified", "kyc_verified_at")
    readonly_fields = ("kyc_verified_at",)

    def save_model(self, request: HttpRequest, obj: MemberProfile, form: Any, change: bool) -> None:
        profile = member_kyc_set(member_id=obj.member_id, verified=obj.kyc_verified)
        obj.pk = profile.pk
        obj.refresh_from_db()
