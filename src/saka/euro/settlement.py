"""Campaign settlement on the batch engine: release (succeeded) or refund (failed, cancelled)
every held pledge of a closed campaign.

A settlement is a run (:class:`~saka.euro.models.SettlementRun`, one per campaign) of the
engine's spec :data:`SETTLEMENT`. When it opens, its chunks are planned once, in the
transaction that creates it: ranges ``(lo, hi]`` of pledge ids holding at most ``chunk_size``
of the campaign's held pledges each, their boundaries every ``chunk_size``-th held pledge id,
read in one scan of the partial index ``euro_pledge_held_by_campaign`` (the campaign's pledges
are interleaved with other campaigns' in id order, so fixed-width id ranges would be mostly
empty). The campaign is closed before (pledges hold it ``FOR SHARE``, closing it waits for
them), so the set of held pledges only shrinks: the chunks cover every pledge to settle.

Any number of workers -- threads of ``settlement_start``, ``saka_settle --join`` processes,
Celery ``run_work`` tasks on any host -- claim the chunks (leases, ``FOR UPDATE SKIP LOCKED``).
A chunk is one short transaction that locks the chunk's held pledges (``lock_rows``, primary-key
order), re-checks under the lock that each is still held (a member's cancellation or a staff
refund may have settled it meanwhile: it is skipped and counted as such), books one entry for
the pledges still held, marks them, and adds to its chunk row and to the run's totals **what it
booked** -- so progress, bookings and reported totals commit together, and a killed worker
loses at most its open chunk, which another worker then takes.

A chunk locks only its pledges and their escrows (and, for a refund, the members' wallets):
the project's and the platform's accounts are rolled up -- the chunk appends pending credits
to them, folded by ``euro_rollup`` after the run (and by the ``ledger_rollup`` beat task) --
so members' deposits with a tip or a donation to the project never wait for a chunk.

Why nothing can be released or refunded twice: the chunk row lock and its done mark (a chunk's
work commits once); the status re-check under the pledge row locks; the pledge update only
matches held rows; a partial unique index allows one debit of a pledge's escrow; the escrow's
CHECK ``balance >= 0``. Pledges are settled at the run's ``as_of`` (frozen when it opens), with
the commission rate frozen then too. Notifications go out after each chunk's commit
(``transaction.on_commit``), ``settlement_finished`` after the run's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import F

from saka.audit.services import audit_record
from saka.core.clock import as_of_or_now, now
from saka.core.errors import LockTimeout, ValidationError
from saka.engine import lifecycle as engine
from saka.engine.chunks import chunk_done
from saka.engine.spec import Chunked, RunSpec
from saka.euro.accounts import (
    accounts_ensure,
    euro_rollup,
    project_account_id,
    system_account_id,
)
from saka.euro.conf import MAX_SETTLEMENT_CHUNK, MAX_WORKERS, get_settings
from saka.euro.errors import CampaignNotClosed
from saka.euro.lock_objects import pledges_lock
from saka.euro.models import (
    AccountKind,
    Campaign,
    CampaignStatus,
    Pledge,
    PledgeStatus,
    SettlementChunk,
    SettlementKind,
    SettlementRun,
    SettlementStatus,
    SettlementStep,
    Trigger,
)
from saka.euro.selectors import campaign_get
from saka.euro.services.escrow import pledges_exit
from saka.euro.services.notifications import notify
from saka.projects.models import Project

logger = logging.getLogger("saka.euro.settlement")

Progress = Callable[[SettlementRun], None]


# --- the plan ---------------------------------------------------------------------------------

# Every ``size``-th held pledge id of the campaign, and the last one: the chunks' upper bounds.
# One ordered scan of the partial index (held pledges of a campaign by id); ``'held'`` is a
# literal so that the planner matches the index's predicate whatever the parameter binding.
_BOUNDS = """
SELECT id FROM (
    SELECT id, row_number() OVER (ORDER BY id) AS n, lead(id) OVER (ORDER BY id) AS next_id
    FROM euro_pledge WHERE campaign_id = %(campaign)s AND status = 'held'
) held
WHERE n %% %(size)s = 0 OR next_id IS NULL
ORDER BY id
"""


def chunk_bounds(*, campaign_id: int, size: int) -> list[int]:
    """The upper pledge-id bounds of a settlement's chunks of ``size`` held pledges."""
    with connection.cursor() as cursor:
        cursor.execute(_BOUNDS, {"campaign": campaign_id, "size": size})
        return [int(row[0]) for row in cursor.fetchall()]


def _ranges(run: SettlementRun) -> list[tuple[int, int]]:
    """The chunks ``(lo, hi]``: from 0 to the first bound, then bound to bound (none when
    nothing is held)."""
    bounds = chunk_bounds(campaign_id=run.campaign_id, size=run.chunk_size)
    return list(zip([0, *bounds], bounds, strict=False))


# --- a chunk ----------------------------------------------------------------------------------


def _exit_status(run: SettlementRun) -> PledgeStatus:
    return PledgeStatus.RELEASED if run.kind == SettlementKind.RELEASE else PledgeStatus.REFUNDED


def _settle_chunk(run: SettlementRun, lo: int, hi: int, worker: str) -> dict[str, int]:
    """Settle the held pledges of ``(lo, hi]`` and mark the chunk done with what it booked (the
    engine opened the chunk's transaction and locked its row); what it did, for the engine's
    log line of the chunk."""
    outcome = _exit_status(run)
    ids = list(
        Pledge.objects.filter(
            campaign_id=run.campaign_id, status=PledgeStatus.HELD, id__gt=lo, id__lte=hi
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    locked = pledges_lock(pledge_ids=ids) if ids else []
    held = [p for p in locked if p.status == PledgeStatus.HELD]  # re-check under the lock
    totals = pledges_exit(
        pledges=held,
        outcome=outcome,
        at=run.as_of,
        run=run,
        commission_rate=Decimal(run.commission_rate),
    )
    skipped = len(ids) - len(held)
    chunk_done(
        SETTLEMENT,
        run.pk,
        SettlementStep.SETTLE,
        lo,
        worker,
        pledges=totals.pledges,
        skipped=skipped,
        amount=totals.amount,
        commission=totals.commission,
        net=totals.net,
        refunded=totals.refunded,
    )
    # the run's row last: its lock is held only for the end of the chunk's transaction
    SettlementRun.objects.filter(pk=run.pk).update(
        pledges_done=F("pledges_done") + totals.pledges,
        pledges_skipped=F("pledges_skipped") + skipped,
        amount_done=F("amount_done") + totals.amount,
        commission_done=F("commission_done") + totals.commission,
        net_done=F("net_done") + totals.net,
        refunded_done=F("refunded_done") + totals.refunded,
        chunks_done=F("chunks_done") + 1,
        updated_at=now(),
    )
    if totals.pledge_ids:
        settled = totals.pledge_ids
        transaction.on_commit(
            lambda: notify("pledges_settled", outcome=outcome.value, pledge_ids=settled)
        )
    return {
        "pledges": totals.pledges,
        "skipped": skipped,
        "amount": totals.amount,
        "commission": totals.commission,
        "net": totals.net,
        "refunded": totals.refunded,
    }


def _run_counts(run: SettlementRun) -> dict[str, int]:
    """A finished settlement's totals (cents), for the engine's log line of the run."""
    return {
        "pledges": run.pledges_done,
        "skipped": run.pledges_skipped,
        "amount": run.amount_done,
        "commission": run.commission_done,
        "net": run.net_done,
        "refunded": run.refunded_done,
    }


def _finished(run: SettlementRun) -> None:
    """The engine finished the run (in its transaction, holding the run's row lock; the
    engine logs the run's line with ``_run_counts``)."""
    run_id, campaign_id, outcome = run.pk, run.campaign_id, run.outcome
    project_id = Campaign.objects.values_list("project_id", flat=True).get(pk=campaign_id)
    # fold what the chunks credited (pending rows) into the project's and platform's cached
    # balances, after the commit and in its own short transaction (beat does it otherwise)
    transaction.on_commit(lambda: _rollup(project_id))
    transaction.on_commit(
        lambda: notify(
            "settlement_finished", run_id=run_id, campaign_id=campaign_id, outcome=outcome
        )
    )


def _rollup(project_id: int) -> None:
    try:
        euro_rollup(
            account_ids=[
                project_account_id(project_id=project_id),
                system_account_id(AccountKind.COMMISSION),
            ]
        )
    except LockTimeout:  # another rollup holds them: the beat task folds the rest
        logger.warning("settlement rollup of project %s skipped (lock timeout)", project_id)


SETTLEMENT = RunSpec(
    name="settlement",
    run_model=SettlementRun,
    chunk_model=SettlementChunk,
    steps=[Chunked("settle", SettlementStep.SETTLE, _ranges, _settle_chunk)],
    outcome=lambda run: "completed" if run.pledges_done else "nothing_to_settle",
    on_finish=_finished,
    counts=_run_counts,
)


# --- opening and running a settlement ---------------------------------------------------------


def _check_int(value: Any, name: str, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise ValidationError(f"{name} must be an integer in 1..{high}.", field=name)
    return value


def _instant(campaign: Campaign, as_of: datetime | None) -> datetime:
    """The settlement's instant: now, or ``as_of`` if it is neither in the future nor before
    the campaign closed (pledges are never settled before their campaign closed)."""
    at = as_of_or_now(as_of)
    if as_of is not None and (
        at > now() or (campaign.closed_at is not None and at < campaign.closed_at)
    ):
        raise ValidationError(
            "as_of must not be in the future nor before the campaign closed.",
            field="as_of",
            closed_at=campaign.closed_at.isoformat() if campaign.closed_at else None,
        )
    return at


def settlement_open(
    *,
    campaign_id: int,
    as_of: datetime | None = None,
    trigger: str = Trigger.PYTHON,
    triggered_by_id: int | None = None,
    chunk_size: int | None = None,
    audit_action: str | None = None,
) -> tuple[SettlementRun, bool]:
    """The closed campaign's settlement: ``(run, created)``, created queued (kind, commission
    rate, ``as_of`` and chunks fixed) when there is none; the existing one as it is otherwise
    (whatever the arguments). Raises ``CampaignNotFound``, ``CampaignNotClosed``,
    ``ValidationError``, ``RunConflict``. With ``audit_action`` (an operator's request, checked
    by the caller) the opening is recorded in the audit trail in the run's own transaction."""
    size = _check_int(
        get_settings().settlement_chunk_size if chunk_size is None else chunk_size,
        "chunk_size",
        MAX_SETTLEMENT_CHUNK,
    )
    if trigger not in Trigger.values:
        raise ValidationError(f"Unknown trigger {trigger!r}.", field="trigger")
    campaign = campaign_get(campaign_id=campaign_id)
    if campaign.status == CampaignStatus.OPEN:
        raise CampaignNotClosed(campaign_id=campaign.pk)
    at = _instant(campaign, as_of)
    # the platform's and the project's accounts, outside any chunk (first use inside one
    # would make concurrent chunks and members wait on the uncommitted row)
    accounts_ensure(project_id=campaign.project_id)
    kind = (
        SettlementKind.RELEASE
        if campaign.status == CampaignStatus.SUCCEEDED
        else SettlementKind.REFUND
    )

    def create() -> SettlementRun:
        rate = str(get_settings().commission_rate)
        # frozen for the chunks' statements (saka.euro.statements): what the members read
        # of this settlement never depends on a later rename of the project
        title = Project.objects.values_list("title", flat=True).get(pk=campaign.project_id)
        run = SettlementRun.objects.create(
            campaign=campaign,
            kind=kind,
            status=SettlementStatus.QUEUED,
            as_of=at,
            commission_rate=rate,
            parameters={
                "commission_rate": rate,
                "campaign_status": campaign.status,
                "project": title,
            },
            chunk_size=size,
            pledges_total=Pledge.objects.filter(
                campaign=campaign, status=PledgeStatus.HELD
            ).count(),
            trigger=trigger,
            triggered_by_id=engine.known_user_id(triggered_by_id),
        )
        if audit_action is not None:
            audit_record(
                actor_id=run.triggered_by_id,
                action=audit_action,
                target_type="campaign",
                target_id=campaign.pk,
                payload={"settlement_id": run.pk, "kind": kind, "as_of": at, "trigger": trigger},
            )
        return run

    run, created = engine.open_run(
        SETTLEMENT,
        find=lambda: SettlementRun.objects.filter(campaign=campaign).first(),
        create=create,
    )
    if created:
        logger.info(
            "settlement %s of campaign %s (%s) opened: %s held pledges",
            run.pk,
            campaign.pk,
            kind,
            run.pledges_total,
        )
    return run, created


def settlement_start(
    *,
    campaign_id: int,
    as_of: datetime | None = None,
    trigger: str = Trigger.PYTHON,
    triggered_by_id: int | None = None,
    chunk_size: int | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> SettlementRun:
    """Settle (or resume, or return the finished settlement of) a closed campaign, in this
    process: ``workers`` threads (default ``SAKA_RUN_WORKERS``; one on SQLite) do the chunks,
    and other processes may join (``saka_settle --join``, ``run_work`` tasks).

    Succeeded: every held pledge is released to the project, ``floor(amount x rate)`` to
    the platform (the rate is frozen in the run when it opens). Failed or cancelled: every
    held pledge is refunded to its member. Raises ``CampaignNotFound``,
    ``CampaignNotClosed``, ``ValidationError``, ``RunConflict``, ``LockTimeout`` (the run is
    then ``interrupted`` and the next call resumes it).
    """
    threads = _check_int(
        get_settings().run_workers if workers is None else workers, "workers", MAX_WORKERS
    )
    run, created = settlement_open(
        campaign_id=campaign_id,
        as_of=as_of,
        trigger=trigger,
        triggered_by_id=triggered_by_id,
        chunk_size=chunk_size,
    )
    if run.status == SettlementStatus.DONE:
        return run
    if not created and engine.is_stalled(SETTLEMENT, run):
        run = engine.resume(SETTLEMENT, run.pk)  # one more attempt
    result: SettlementRun = engine.drive(SETTLEMENT, run.pk, threads=threads, progress=progress)
    return result
