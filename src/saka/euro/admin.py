"""EUR admin: the ledger is read-only; campaigns change through services (admin actions).

The settlements' admin (read-only runs, a "stalled" filter, resuming) and the campaigns'
"settle" action live in ``saka.jobs.settlement_admin``: they enqueue Celery tasks, and the
domain never imports Celery.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

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
from saka.ledger.admin import ReadOnlyAdmin, ServiceSavesAdmin


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
