from django.contrib import admin

from saka.core.members import user_search_fields
from saka.grains.models import (
    PolicyVersion,
    PolicyWhatIf,
    ProjectSupporter,
    SakaAccount,
    SakaEntry,
    SakaPosting,
)
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
