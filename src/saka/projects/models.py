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
    # SAKA boost figures: the rolled-up part. A boost appends a ProjectScoreDelta instead of
    # updating this row (many members boost one project at once); project_scores_rollup folds
    # them here. Read them through saka.projects.selectors (cached + pending).
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


class ProjectScoreDelta(models.Model):
    """One boost's contribution to its project's figures, not yet folded into the project
    row: inserted by the boost (``project_boost_record``), deleted by the rollup that adds it
    (``project_scores_rollup``, ``DELETE ... RETURNING``: each exactly once). A project's
    score is ``saka_score`` + Σ pending ``score``; its supporters likewise."""

    id = models.BigAutoField(primary_key=True)
    # no database FK (like postings): an insert would key-share-lock the project row;
    # reconcile proves every delta's project exists
    project_id = models.BigIntegerField()
    score = models.BigIntegerField()
    supporters = models.IntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "projects_score_delta"
        indexes = [models.Index(fields=["project_id"], name="projects_score_delta_project")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__gt=0) & models.Q(supporters__in=[0, 1]),
                name="projects_score_delta_is_a_boost",
            ),
        ]

    def __str__(self) -> str:
        return f"project {self.project_id}: +{self.score} (+{self.supporters} supporters)"
