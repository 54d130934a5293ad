from django.contrib import admin

from saka.projects.models import Project


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "owner", "saka_score", "saka_supporters", "created_at")
    search_fields = ("title",)
    readonly_fields = ("saka_score", "saka_supporters")
    raw_id_fields = ("owner",)
