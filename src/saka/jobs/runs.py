"""The run kinds the workers know, and what the API and the admin do when an operator starts
or resumes a live run: open it now (so the answer carries its id), then send workers.

``SPECS`` names every run kind of the batch engine; a ``run_work`` task carries that name and
a run id, so any worker process on any host can join any run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from saka.engine import lifecycle as engine
from saka.engine.models import RunStatus
from saka.engine.spec import RunSpec
from saka.euro.models import SettlementRun
from saka.euro.settlement import SETTLEMENT, settlement_open
from saka.grains.conf import get_settings
from saka.grains.models import Run, RunKind
from saka.grains.runs.chunks import DEFAULT_CHUNK_SIZE
from saka.grains.runs.compost import COMPOST
from saka.grains.runs.lifecycle import open_live
from saka.grains.runs.redistribution import REDISTRIBUTION
from saka.jobs.enqueue import settlement_run_enqueue

SPECS: dict[str, RunSpec] = {
    COMPOST.name: COMPOST,
    REDISTRIBUTION.name: REDISTRIBUTION,
}
SPEC_OF_KIND = {RunKind.COMPOST.value: COMPOST, RunKind.REDISTRIBUTION.value: REDISTRIBUTION}


def workers() -> int:
    """How many worker processes a run is shared by (``SAKA_RUN_WORKERS``)."""
    return get_settings().run_workers


def live_run_request(
    *, kind: str, at: datetime, trigger: str, triggered_by_id: int | None
) -> tuple[Run, bool]:
    """Open (or find) the live run of ``at``'s period for an operator: ``(run, created)``.
    Raises ``EarlierRunUnfinished`` naming the earlier run, which must be resumed first."""
    return open_live(
        SPEC_OF_KIND[kind],
        kind=kind,
        at=at,
        trigger=trigger,
        triggered_by_id=triggered_by_id,
        chunk_size=DEFAULT_CHUNK_SIZE,
    )


def needs_workers(spec: RunSpec, run: Any, created: bool) -> bool:
    """A run just opened, or one nobody works on any more (interrupted or stalled)."""
    if run.status == RunStatus.DONE:
        return False
    return created or engine.is_stalled(spec, run)


# --- campaign settlement ------------------------------------------------------------------------

SPECS[SETTLEMENT.name] = SETTLEMENT


def settlement_request(
    *,
    campaign_id: int,
    as_of: datetime | None,
    trigger: str,
    triggered_by_id: int | None,
    chunk_size: int | None = None,
) -> tuple[SettlementRun, bool, bool]:
    """Open (or find) a closed campaign's settlement for an operator, and send it workers (a
    ``settlement_run`` task, on commit) when it needs them -- just opened, or stalled (resumed
    first): ``(run, created, sent)``."""
    run, created = settlement_open(
        campaign_id=campaign_id,
        as_of=as_of,
        trigger=trigger,
        triggered_by_id=triggered_by_id,
        chunk_size=chunk_size,
    )
    sent = needs_workers(SETTLEMENT, run, created)
    if sent:
        if not created:
            run = engine.resume(SETTLEMENT, run.pk)
        settlement_run_enqueue(
            campaign_id=run.campaign_id, trigger=trigger, triggered_by_id=triggered_by_id
        )
    return run, created, sent
