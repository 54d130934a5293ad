"""Projects that members support with SAKA (boosts) and, later, EUR pledges."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Project(models.Model):
    id = models.BigAutoField(primary_key=True)
    title = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="projects"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # SAKA boost figures, changed only by the grains services with atomic SQL.
    saka_score = models.BigIntegerField(default=0)
    saka_supporters = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(saka_score__gte=0) & models.Q(saka_supporters__gte=0),
                name="projects_project_saka_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.title
