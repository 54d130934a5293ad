"""Project writes: creation, the record of a boost, the rollup of boosts into the project rows.

A boost (``grains.services.wallet_plant`` with a project) calls :func:`project_boost_record`
in its transaction: it appends one :class:`ProjectScoreDelta` and never writes the project
row, so members boosting the same project never queue on it. :func:`project_scores_rollup`
(the ``ledger_rollup`` beat task) folds the deltas into ``saka_score``/``saka_supporters``.
"""

from __future__ import annotations

from collections.abc import Iterable

from saka.core.db import durable, require_atomic
from saka.core.errors import ValidationError
from saka.ledger.posting import pending_fold
from saka.projects.models import Project, ProjectScoreDelta


def project_create(*, owner_id: int, title: str) -> Project:
    title = (title or "").strip()
    if not 1 <= len(title) <= 200:
        raise ValidationError("A project title has 1 to 200 characters.", field="title")
    return Project.objects.create(owner_id=owner_id, title=title)


def project_boost_record(*, project_id: int, grains: int, new_supporter: bool) -> None:
    """Add a boost of ``grains`` (> 0) to the project's figures (building block: in the
    boost's transaction; the caller checked that the project exists)."""
    require_atomic()
    ProjectScoreDelta.objects.create(
        project_id=project_id, score=grains, supporters=int(new_supporter)
    )


def project_scores_rollup(*, project_ids: Iterable[int] | None = None) -> int:
    """Fold the boosts not folded yet into the project rows (all, or ``project_ids``), in its
    own short transaction; returns the deltas folded. Safe at any time from any number of
    processes. Raises ``LockTimeout``."""
    with durable():
        return pending_fold(
            pending_model=ProjectScoreDelta,
            target_model=Project,
            key="project_id",
            sums={"saka_score": "score", "saka_supporters": "supporters"},
            target_ids=project_ids,
        )
