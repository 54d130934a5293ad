"""Campaign settlement: release (succeeded) or refund (failed, cancelled) every held pledge.

A settlement is a row (:class:`~saka.euro.models.SettlementRun`), one per campaign. The
work goes over the campaign's **held** pledges by key range, in batches::

    SELECT id FROM euro_pledge
    WHERE campaign_id = :c AND status = 'held' AND id > :cursor ORDER BY id LIMIT :batch

(the partial index ``euro_pledge_held_by_campaign`` serves it). Each batch is one short
transaction that locks its pledges (``lock_rows``, primary-key order), re-checks under the
lock that each is still held (a member's cancellation or a staff refund may have settled it
meanwhile: it is skipped and counted as such), books one entry for the pledges still held,
marks them, and advances the run's cursor and totals **from what it booked** -- so progress,
bookings and reported totals commit together, and a killed process loses at most its open
batch. Running it again resumes at the cursor; a finished run is returned as it is.

Why nothing can be released or refunded twice: the status re-check under the row lock; the
pledge update only matches held rows; a partial unique index allows one debit of a pledge's
escrow; the escrow's CHECK ``balance >= 0``. And nothing can be missed: the campaign is
closed before settlement starts (pledges hold the campaign ``FOR SHARE``, closing it waits
for them), so the set of held pledges only shrinks.

One executing settlement per campaign across processes (PostgreSQL session advisory lock);
a second caller gets ``settlement_in_progress``. Notifications go out after each batch's
commit (``transaction.on_commit``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest

from saka.core.clock import now
from saka.core.db import AdvisoryNamespace, advisory_lease, durable
from saka.core.errors import ValidationError
from saka.euro.accounts import accounts_ensure
from saka.euro.conf import MAX_SETTLEMENT_BATCH, get_settings
from saka.euro.errors import CampaignNotClosed, SettlementInProgress
from saka.euro.lock_objects import pledges_lock
from saka.euro.models import (
    Campaign,
    CampaignStatus,
    Pledge,
    PledgeStatus,
    SettlementKind,
    SettlementRun,
    SettlementStatus,
    Trigger,
)
from saka.euro.selectors import campaign_get
from saka.euro.services.escrow import pledges_exit
from saka.euro.services.notifications import notify

logger = logging.getLogger("saka.euro.settlement")

Progress = Callable[[SettlementRun], None]


def _campaign_lease(campaign_id: int) -> AbstractContextManager[None]:
    """One executing settlement per campaign across processes (released on exit, or by the
    server when the process dies). SQLite settlements are single-process; the status
    re-check under the row lock keeps even concurrent ones exact."""
    return advisory_lease(
        AdvisoryNamespace.EURO_SETTLEMENT,
        campaign_id,
        busy=lambda: SettlementInProgress(campaign_id=campaign_id),
    )


def _validate_batch_size(batch_size: int | None) -> int:
    size = get_settings().settlement_batch_size if batch_size is None else batch_size
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_SETTLEMENT_BATCH:
        raise ValidationError(
            f"batch_size must be an integer in 1..{MAX_SETTLEMENT_BATCH}.", field="batch_size"
        )
    return size


def _claim(
    campaign: Campaign, *, trigger: str, triggered_by_id: int | None, batch_size: int
) -> tuple[SettlementRun, bool]:
    """The campaign's run: ``(run, finished)``; created (rate frozen) when there is none."""
    existing = SettlementRun.objects.filter(campaign=campaign).first()
    if existing is not None:
        if existing.status == SettlementStatus.DONE:
            return existing, True
        SettlementRun.objects.filter(pk=existing.pk).update(
            status=SettlementStatus.RUNNING, attempts=F("attempts") + 1, updated_at=now()
        )
        existing.refresh_from_db()
        logger.info("settlement of campaign %s resumes at pledge %s", campaign.pk, existing.cursor)
        return existing, False
    kind = (
        SettlementKind.RELEASE
        if campaign.status == CampaignStatus.SUCCEEDED
        else SettlementKind.REFUND
    )
    try:
        with transaction.atomic():
            run = SettlementRun.objects.create(
                campaign=campaign,
                kind=kind,
                commission_rate=str(get_settings().commission_rate),
                batch_size=batch_size,
                pledges_total=Pledge.objects.filter(
                    campaign=campaign, status=PledgeStatus.HELD
                ).count(),
                trigger=trigger,
                triggered_by_id=triggered_by_id,
            )
    except IntegrityError:
        return _claim(
            campaign, trigger=trigger, triggered_by_id=triggered_by_id, batch_size=batch_size
        )
    logger.info(
        "settlement of campaign %s (%s): %s held pledges", campaign.pk, kind, run.pledges_total
    )
    return run, False


def _batch(run: SettlementRun) -> bool:
    """Settle the next batch of held pledges after the cursor; ``False`` when none is left."""
    started = time.monotonic()
    outcome = PledgeStatus.RELEASED if run.kind == SettlementKind.RELEASE else PledgeStatus.REFUNDED
    with durable():
        ids = list(
            Pledge.objects.filter(
                campaign_id=run.campaign_id, status=PledgeStatus.HELD, id__gt=run.cursor
            )
            .order_by("id")
            .values_list("id", flat=True)[: run.batch_size]
        )
        if not ids:
            return False
        locked = pledges_lock(pledge_ids=ids)
        held = [p for p in locked if p.status == PledgeStatus.HELD]  # re-check under the lock
        totals = pledges_exit(
            pledges=held,
            outcome=outcome,
            at=now(),
            run=run,
            commission_rate=Decimal(run.commission_rate),
        )
        SettlementRun.objects.filter(pk=run.pk).update(
            cursor=Greatest(F("cursor"), ids[-1]),
            pledges_done=F("pledges_done") + totals.pledges,
            pledges_skipped=F("pledges_skipped") + (len(ids) - len(held)),
            amount_done=F("amount_done") + totals.amount,
            commission_done=F("commission_done") + totals.commission,
            net_done=F("net_done") + totals.net,
            refunded_done=F("refunded_done") + totals.refunded,
            batches_done=F("batches_done") + 1,
            updated_at=now(),
        )
        if totals.pledge_ids:
            transaction.on_commit(
                lambda: notify(
                    "pledges_settled", outcome=outcome.value, pledge_ids=totals.pledge_ids
                )
            )
    run.refresh_from_db()
    logger.debug(
        "settlement %s batch up to pledge %s: %s settled, %s skipped, %.1f ms",
        run.pk,
        ids[-1],
        totals.pledges,
        len(ids) - len(held),
        (time.monotonic() - started) * 1000,
    )
    return True


def _finish(run: SettlementRun, started: float) -> SettlementRun:
    done_at = now()
    outcome = "completed" if run.pledges_done else "nothing_to_settle"
    SettlementRun.objects.filter(pk=run.pk).update(
        status=SettlementStatus.DONE,
        outcome=outcome,
        finished_at=done_at,
        updated_at=done_at,
        duration_ms=(run.duration_ms or 0) + int((time.monotonic() - started) * 1000),
        error="",
    )
    run.refresh_from_db()
    logger.info(
        "settlement %s of campaign %s (%s) done: %s pledges, %s cents (commission %s, "
        "net %s, refunded %s), %s skipped, %s batches, %s ms",
        run.pk,
        run.campaign_id,
        run.kind,
        run.pledges_done,
        run.amount_done,
        run.commission_done,
        run.net_done,
        run.refunded_done,
        run.pledges_skipped,
        run.batches_done,
        run.duration_ms,
    )
    transaction.on_commit(
        lambda: notify(
            "settlement_finished", run_id=run.pk, campaign_id=run.campaign_id, outcome=outcome
        )
    )
    return run


def _interrupted(run: SettlementRun, exc: BaseException, started: float) -> None:
    SettlementRun.objects.filter(pk=run.pk).update(
        status=SettlementStatus.INTERRUPTED,
        error=f"{type(exc).__name__}: {exc}"[:2000],
        updated_at=now(),
        duration_ms=(run.duration_ms or 0) + int((time.monotonic() - started) * 1000),
    )


def settlement_start(
    *,
    campaign_id: int,
    trigger: str = Trigger.PYTHON,
    triggered_by_id: int | None = None,
    batch_size: int | None = None,
    progress: Progress | None = None,
) -> SettlementRun:
    """Settle (or resume, or return the finished settlement of) a closed campaign.

    Succeeded: every held pledge is released to the project, ``floor(amount x rate)`` to
    the platform (the rate is frozen in the run when it starts). Failed or cancelled: every
    held pledge is refunded to its member. Raises ``CampaignNotFound``,
    ``CampaignNotClosed``, ``SettlementInProgress``, ``ValidationError``, ``LockTimeout``
    (the run is then ``interrupted`` and the next call resumes it).
    """
    size = _validate_batch_size(batch_size)
    if trigger not in Trigger.values:
        raise ValidationError(f"Unknown trigger {trigger!r}.", field="trigger")
    campaign = campaign_get(campaign_id=campaign_id)
    if campaign.status == CampaignStatus.OPEN:
        raise CampaignNotClosed(campaign_id=campaign.pk)
    with _campaign_lease(campaign.pk):
        run, finished = _claim(
            campaign, trigger=trigger, triggered_by_id=triggered_by_id, batch_size=size
        )
        if finished:
            return run
        started = time.monotonic()
        try:
            accounts_ensure(project_id=campaign.project_id)
            while _batch(run):
                if progress is not None:
                    progress(run)
        except BaseException as exc:
            _interrupted(run, exc, started)
            raise
        return _finish(run, started)
