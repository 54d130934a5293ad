"""The run kinds the workers know, and what the API and the admin do when an operator starts
or resumes a live run: open it now (so the answer carries its id), then send workers.

``SPECS`` names every run kind of the batch engine; a ``run_work`` task carries that name and
a run id, so any worker process on any host can join any run.

The operator's requests (``live_run_request``, ``run_resume``, ``settlement_request``) check
the actor's staff permission first (``RoleRequired``, recorded) and write the audit record in
the transaction of what they change. ``triggered_by_id=None`` is the system (beat, commands).
The workers that then do the run act on that checked request and are not checked again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from saka.audit.services import audit_record, staff_require
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


# How old the last finished run of a kind may be before it is overdue (/healthz degraded, the
# compost_missing alert): its period (beat's default slots: compost weekly, redistribution
# monthly) and a day of slack. A platform with other slots sets
# SAKA_HEALTH_RUN_MAX_AGE_HOURS = {"compost": ..., "redistribution": ...}.
RUN_MAX_AGE_HOURS = {"compost": 8 * 24, "redistribution": 32 * 24}


@dataclass(frozen=True)
class RunAge:
    """The last finished live run of a kind (``None``: none has yet), its age at the time
    asked (seconds) and the age past which it is overdue."""

    run: Run | None
    finished_at: datetime | None
    age_seconds: float | None
    max_age_seconds: int

    @property
    def overdue(self) -> bool:
        return self.age_seconds is not None and self.age_seconds > self.max_age_seconds


def run_age(*, kind: str, at: datetime) -> RunAge:
    """How long ago the last live run of ``kind`` finished, against its limit. One query."""
    limits = {**RUN_MAX_AGE_HOURS, **getattr(settings, "SAKA_HEALTH_RUN_MAX_AGE_HOURS", {})}
    run = engine.last_finished(SPEC_OF_KIND[kind])
    finished = run.finished_at if run is not None else None
    age = None if finished is None else round(max((at - finished).total_seconds(), 0.0), 1)
    return RunAge(
        run=run, finished_at=finished, age_seconds=age, max_age_seconds=int(limits[kind] * 3600)
    )


LIVE_ACTION = "saka.run.live"
SETTLE_ACTION = "euro.settlement.start"
RESUME_ACTIONS = {SETTLEMENT.name: "euro.settlement.resume"}


def workers() -> int:
    """How many worker processes a run is shared by (``SAKA_RUN_WORKERS``)."""
    return get_settings().run_workers


def live_run_request(
    *, kind: str, at: datetime, trigger: str, triggered_by_id: int | None
) -> tuple[Run, bool]:
    """Open (or find) the live run of ``at``'s period for an operator: ``(run, created)``.
    Raises ``RoleRequired`` (no ``operate_runs``), ``EarlierRunUnfinished`` naming the earlier
    run, which must be resumed first."""
    payload = {"kind": kind, "at": at, "trigger": trigger}
    staff_require(actor_id=triggered_by_id, action=LIVE_ACTION, target_type="run", payload=payload)
    run, created = open_live(
        SPEC_OF_KIND[kind],
        kind=kind,
        at=at,
        trigger=trigger,
        triggered_by_id=triggered_by_id,
        chunk_size=DEFAULT_CHUNK_SIZE,
        audit_action=LIVE_ACTION,
    )
    if not created:  # nothing changed: the request is recorded on its own
        with transaction.atomic():
            audit_record(
                actor_id=triggered_by_id,
                action=LIVE_ACTION,
                target_type="run",
                target_id=run.pk,
                payload={**payload, "existing": run.status},
            )
    return run, created


def run_resume(spec: RunSpec, run_id: int, *, actor_id: int | None) -> Any:
    """Resume a stalled run for an operator (``engine.resume``), recorded in the resume's
    transaction. Raises ``RoleRequired`` (``operate_runs``, or ``settle_campaigns`` for a
    settlement)."""
    action = RESUME_ACTIONS.get(spec.name, "saka.run.resume")
    staff_require(actor_id=actor_id, action=action, target_type=spec.name, target_id=run_id)
    with transaction.atomic():
        run = engine.resume(spec, run_id)
        audit_record(
            actor_id=actor_id,
            action=action,
            target_type=spec.name,
            target_id=run_id,
            payload={"status": run.status, "attempts": getattr(run, "attempts", None)},
        )
    return run


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
    first): ``(run, created, sent)``. Raises ``RoleRequired`` (no ``settle_campaigns``)."""
    payload = {"as_of": as_of, "trigger": trigger, "chunk_size": chunk_size}
    staff_require(
        actor_id=triggered_by_id,
        action=SETTLE_ACTION,
        target_type="campaign",
        target_id=campaign_id,
        payload=payload,
    )
    run, created = settlement_open(
        campaign_id=campaign_id,
        as_of=as_of,
        trigger=trigger,
        triggered_by_id=triggered_by_id,
        chunk_size=chunk_size,
        audit_action=SETTLE_ACTION,
    )
    sent = needs_workers(SETTLEMENT, run, created)
    if sent:
        if not created:
            run = run_resume(SETTLEMENT, run.pk, actor_id=triggered_by_id)
        settlement_run_enqueue(
            campaign_id=run.campaign_id, trigger=trigger, triggered_by_id=triggered_by_id
        )
    return run, created, sent
