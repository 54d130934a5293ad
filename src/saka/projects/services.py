from __future__ import annotations

from saka.core.errors import ValidationError
from saka.projects.models import Project


def project_create(*, owner_id: int, title: str) -> Project:
    title = (title or "").strip()
    if not 1 <= len(title) <= 200:
        raise ValidationError("A project title has 1 to 200 characters.", field="title")
    return Project.objects.create(owner_id=owner_id, title=title)
