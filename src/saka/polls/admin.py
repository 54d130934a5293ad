from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from saka.polls.models import Ballot, Poll, PollOption, Vote


class PollOptionInline(admin.TabularInline):
    model = PollOption
    extra = 0
    fields = ("position", "label")


@admin.register(Poll)
class PollAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "method", "max_points", "opens_at", "closes_at", "created_at")
    list_filter = ("method",)
    search_fields = ("title",)
    raw_id_fields = ("created_by",)
    inlines = [PollOptionInline]


class BallotInline(admin.TabularInline):
    model = Ballot
    extra = 0
    fields = ("option", "points")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    """Read-only: votes are written by ``saka.grains.votes.poll_vote`` (with their grains)."""

    list_display = ("id", "poll", "member", "intensity", "spent", "weight", "updated_at")
    list_select_related = ("poll", "member")
    inlines = [BallotInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Vote._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.method in ("GET", "HEAD")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
