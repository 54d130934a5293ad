from django.contrib import admin

from saka.core.members import user_search_fields
from saka.grains.models import ProjectSupporter, SakaAccount, SakaEntry, SakaPosting
from saka.ledger.admin import ReadOnlyAdmin


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
