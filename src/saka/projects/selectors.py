"""Project reads. A project's SAKA figures are its rolled-up columns plus the boosts not folded
yet (:class:`~saka.projects.models.ProjectScoreDelta`): ``score_total``, ``supporters_total``
annotated on every project these selectors return."""

from __future__ import annotations

from typing import Any

from django.db.models import BigIntegerField, F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce

from saka.projects.errors import ProjectNotFound
from saka.projects.models import Project, ProjectScoreDelta


def _total(cached: str, column: str) -> CombinedExpression:
    """``cached`` + Σ the project's pending ``column``."""
    total = (
        ProjectScoreDelta.objects.filter(project_id=OuterRef("pk"))
        .order_by()
        .values("project_id")
        .annotate(total=Sum(column))
        .values("total")
    )
    return F(cached) + Coalesce(Subquery(total, output_field=BigIntegerField()), 0)


def projects_with_totals() -> QuerySet[Any]:
    """Projects annotated with ``score_total`` and ``supporters_total`` (cached + pending)."""
    return Project.objects.annotate(
        score_total=_total("saka_score", "score"),
        supporters_total=_total("saka_supporters", "supporters"),
    )


def project_list() -> QuerySet[Any]:
    return projects_with_totals().order_by("-score_total", "id")


def project_get(*, project_id: int) -> Project:
    try:
        project: Project = projects_with_totals().get(pk=project_id)
        return project
    except (Project.DoesNotExist, ValueError, TypeError, OverflowError) as exc:
        raise ProjectNotFound(project_id=project_id) from exc


def project_totals(*, project_id: int) -> tuple[int, int]:
    """A project's SAKA score and distinct supporters (cached + pending)."""
    score, supporters = (
        projects_with_totals()
        .filter(pk=project_id)
        .values_list("score_total", "supporters_total")
        .get()
    )
    return int(score), int(supporters)
