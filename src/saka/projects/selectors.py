from __future__ import annotations

from django.db.models import QuerySet

from saka.projects.errors import ProjectNotFound
from saka.projects.models import Project


def project_list() -> QuerySet[Project]:
    return Project.objects.order_by("-saka_score", "id")


def project_get(*, project_id: int) -> Project:
    try:
        return Project.objects.get(pk=project_id)
    except (Project.DoesNotExist, ValueError, TypeError, OverflowError) as exc:
        raise ProjectNotFound(project_id=project_id) from exc
