from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from saka.audit import roles
from saka.core.errors import DomainError
from saka.core.members import user_search_fields
from saka.grains.models import (
    PolicyVersion,
    PolicyWhatIf,
    ProjectSupporter,
    SakaAccount,
    SakaEntry,
    SakaPosting,
    Season,
)
from saka.grains.seasons.services import season_activate, season_create, season_deactivate
from saka.ledger.admin import ReadOnlyAdmin, ServiceSavesAdmin


@admin.register(SakaAccount)
class SakaAccountAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "kind",
        "member",
        "balance",
        "lifetime_harvested",
        "lifetime_planted",
        "lifetime_composted",
        "last_activity_at",
    )
    list_filter = ("kind",)
    search_fields = user_search_fields("member")
    list_select_related = ("member",)
    show_full_result_count = False


class PostingInline(admin.TabularInline):
    model = SakaPosting
    fields = ("account", "amount")
    readonly_fields = fields
    can_delete = False
    extra = 0
    max_num = 0


@admin.register(SakaEntry)
class SakaEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "reason", "amount", "member", "project", "created_at")
    list_filter = ("kind", "reason")
    search_fields = user_search_fields("member")
    date_hierarchy = "created_at"
    list_select_related = ("member", "project")
    inlines = [PostingInline]
    show_full_result_count = False


@admin.register(SakaPosting)
class SakaPostingAdmin(ReadOnlyAdmin):
    list_display = ("id", "entry", "account", "amount")
    raw_id_fields = ("entry", "account")
    show_full_result_count = False


@admin.register(ProjectSupporter)
class ProjectSupporterAdmin(ReadOnlyAdmin):
    list_display = ("id", "project", "member", "first_planted_at")


def _season_action(service: Any, verb: str) -> Any:
    def action(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Season]) -> None:
        for season in queryset.order_by("starts_at"):
            try:
                service(season_id=season.pk, actor_id=request.user.pk)
            except DomainError as exc:
                modeladmin.message_user(request, f"{season}: {exc.message}", messages.ERROR)
            else:
                modeladmin.message_user(request, f"{season}: {verb}")

    action.__name__ = verb
    return admin.action(
        description=f"{verb.capitalize()} the selected season", permissions=[roles.MANAGE_POLICY]
    )(action)


@admin.register(Season)
class SeasonAdmin(ServiceSavesAdmin):
    """Seasons are created by the add form (``season_create``: overlap and range checked, the
    refusal shown on the form) and (de)activated by the actions; a season's range is fixed."""

    list_display = ("name", "starts_at", "ends_at", "is_active", "created_by", "created_at")
    list_filter = ("is_active",)
    list_select_related = ("created_by",)
    fields = ("name", "starts_at", "ends_at", "is_active", "created_by", "created_at")
    actions = [
        _season_action(season_activate, "activate"),
        _season_action(season_deactivate, "deactivate"),
    ]

    def has_manage_policy_permission(self, request: HttpRequest) -> bool:
        return roles.actor_allowed(request.user, roles.MANAGE_POLICY)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.has_manage_policy_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.actor_allowed(request.user, roles.VIEW) or super().has_view_permission(
            request, obj
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields if obj is not None else ("is_active", "created_by", "created_at")

    def save_model(self, request: HttpRequest, obj: Season, form: Any, change: bool) -> None:
        if change:
            return
        created = season_create(
            name=obj.name,
            starts_at=obj.starts_at,
            ends_at=obj.ends_at,
            created_by_id=request.user.pk,
        )
        obj.pk = created.pk
        obj.refresh_from_db()


@admin.register(PolicyVersion)
class PolicyVersionAdmin(ReadOnlyAdmin):
    """The parameters' versions (a change goes through the staff API or the dashboard, which
    ask for the policy maker's role and a what-if)."""

    list_display = ("id", "effective_at", "changed_by", "reason", "whatif", "created_at")
    list_select_related = ("changed_by",)
    readonly_fields = ("parameters",)


@admin.register(PolicyWhatIf)
class PolicyWhatIfAdmin(ReadOnlyAdmin):
    list_display = ("id", "as_of", "created_by", "baseline_version", "duration_ms", "created_at")
    list_select_related = ("created_by",)
