"""The second report's "APRÈS" code, re-implemented faithfully on our schema, defects kept.

Source: ``/work/shared/seeds/001_874c3c7f00e6db78.txt``, sections 1 (escrows) and 2-3
(pockets). This is a yardstick: it must never be used for anything else, and lives in
``bench/``, not in ``src/``.

**Escrow release** (:func:`release_campaign_escrows`). As in the report:
``escrow_ids = list(escrows_qs[:MAX_ESCROWS_PER_BATCH].values_list('id', flat=True))`` with
``MAX_ESCROWS_PER_BATCH = 1000``, then batches of ``RELEASE_ESCROW_BATCH_SIZE = 100`` ids,
each locked with ``filter(id__in=batch_ids).select_for_update()``. Where the report is silent,
the readings chosen (the most plausible for the code shown):

- the queryset is the campaign's held escrows with no ``order_by`` (none is shown), and there
  is no loop around the slice: one call releases at most 1,000 escrows, whatever the campaign
  holds (the defect this contender must show);
- the whole function is one ``transaction.atomic`` (``select_for_update`` needs one; the
  report's "lock only the current batch" is then moot: every lock is held to the end);
- the locked rows are not re-checked (``status`` is not filtered again under the lock);
- each escrow is released per row with the ORM, the way the report's own "AVANT" loops are
  written (its fixes touch the id list, not the loop body): the pledge row saved (status,
  settled instant, commission, net), the escrow debited and the project and platform credited
  by ``F()`` updates, one ledger entry with its postings (``create`` + ``bulk_create``);
- the commission is ``(amount x rate).quantize(Decimal('0.01'), ROUND_HALF_UP)`` in euros, the
  report's rounding for money ("arrondis précis"), where the project takes ``floor`` per pledge;
- the caller reports "totals for all": the count, amount and commission of **all** the
  campaign's held pledges, aggregated by the database before the loop, each pledge's
  commission at the loop's rounding (the reading that gives the report the benefit of the
  doubt: below 1,000 pledges its report equals its bookings). The report is stored where
  the project stores a settlement's totals, a :class:`~saka.euro.models.SettlementRun` row
  (``done``) that the released pledges and their entries point to, so that reconcile's
  ``settlements_match_bookings`` compares it with the ledger.

**Pocket allocation** (:func:`seeds_deposit`, :func:`allocate_deposit_to_pockets`). As in the
report: ``pockets_qs`` of the member's pockets with a percentage, ordered by
``-allocation_percentage``, sliced ``[:MAX_POCKETS_PER_ALLOCATION]`` (100); a ``count()`` for
the warning; the pockets locked by ``id__in=pockets_qs.values_list('id')`` with
``select_for_update``; per pocket ``(amount x percentage / 100).quantize(0.01, ROUND_HALF_UP)``;
the check ``wallet.balance >= allocated`` against the in-memory balance (never decreased in the
loop); ``bulk_create`` of the transactions, ``bulk_update`` of the pockets (``batch_size=100``),
one ``F()`` update of the wallet by the total allocated. Mapping and readings:

- a seeds ``WalletPocket`` is our :class:`~saka.euro.models.Pocket` (``allocation_percentage``
  = ``percentage``) and its ``current_amount`` is its account's balance: the lock is taken on
  both rows (``select_related`` + ``select_for_update``), the balance written by
  ``bulk_update`` of the accounts;
- a seeds ``WalletTransaction`` of type ``POCKET_TRANSFER`` is one transfer entry (wallet ->
  pocket) of our double-entry ledger: ``bulk_create`` of the entries, then of their postings
  (two statements where the seeds had one);
- the deposit itself (the report does not show it): the wallet locked, the gross amount
  credited from the provider (one entry, ``F()`` update, the webhook event row the project
  keeps for each booked payment), the in-memory balance raised by the amount (the seeds'
  ``wallet.balance += amount``), then the allocation, all in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import DecimalField, ExpressionWrapper, F, Sum, Value
from django.db.models.functions import Round

from saka.euro.accounts import project_account_id, system_account_id
from saka.euro.conf import get_settings
from saka.euro.models import (
    AccountKind,
    Campaign,
    CampaignStatus,
    EntryKind,
    EuroAccount,
    EuroEntry,
    EuroPosting,
    Pledge,
    PledgeStatus,
    Pocket,
    SettlementKind,
    SettlementRun,
    SettlementStatus,
    Trigger,
    WebhookEvent,
    WebhookEventStatus,
)

logger = logging.getLogger("bench.second_report.seeds")

MAX_ESCROWS_PER_BATCH = 1000
RELEASE_ESCROW_BATCH_SIZE = 100
MAX_POCKETS_PER_ALLOCATION = 100
CENTS = Decimal("0.01")


def _euros(cents: int) -> Decimal:
    return Decimal(cents) / 100


def _cents(euros: Decimal) -> int:
    return int(euros * 100)


# --- escrow release -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedsRelease:
    """What the seeds' release reports ("totals for all") and what its loop released."""

    reported_count: int
    reported_amount: int
    reported_commission: int
    released: int
    released_amount: int
    released_commission: int
    batches: int
    run_id: int


def release_campaign_escrows(*, campaign_id: int, as_of: datetime) -> SeedsRelease:
    """The seeds' settlement of a succeeded campaign (see the module docstring)."""
    rate = Decimal(str(get_settings().commission_rate))
    with transaction.atomic():
        campaign = Campaign.objects.get(pk=campaign_id, status=CampaignStatus.SUCCEEDED)
        project_account = project_account_id(project_id=campaign.project_id)
        commission_account = system_account_id(AccountKind.COMMISSION)
        escrows_qs = Pledge.objects.filter(campaign_id=campaign_id, status=PledgeStatus.HELD)
        reported_count = escrows_qs.count()
        # the caller's "totals for all", summed by the database: amounts, and each escrow's
        # commission at the loop's rounding (cents x rate, half up: PostgreSQL's round())
        totals = escrows_qs.aggregate(
            amount=Sum("amount_cents"),
            commission=Sum(
                Round(
                    ExpressionWrapper(
                        F("amount_cents") * Value(rate),
                        output_field=DecimalField(max_digits=30, decimal_places=10),
                    )
                )
            ),
        )
        reported_amount = int(totals["amount"] or 0)
        reported_commission = int(totals["commission"] or 0)
        run = SettlementRun.objects.create(
            campaign=campaign,
            kind=SettlementKind.RELEASE,
            status=SettlementStatus.DONE,
            outcome="completed",
            as_of=as_of,
            commission_rate=str(rate),
            parameters={"commission_rate": str(rate), "seeds": "001_874c3c7f00e6db78"},
            trigger=Trigger.PYTHON,
            pledges_total=reported_count,
            pledges_done=reported_count,
            amount_done=reported_amount,
            commission_done=reported_commission,
            net_done=reported_amount - reported_commission,
            finished_at=as_of,
        )
        # ✅ APRÈS: only the ids, and only the first MAX_ESCROWS_PER_BATCH of them
        escrow_ids = list(escrows_qs[:MAX_ESCROWS_PER_BATCH].values_list("id", flat=True))
        released = released_amount = released_commission = batches = 0
        for i in range(0, len(escrow_ids), RELEASE_ESCROW_BATCH_SIZE):
            batch_ids = escrow_ids[i : i + RELEASE_ESCROW_BATCH_SIZE]
            locked_escrows = list(Pledge.objects.filter(id__in=batch_ids).select_for_update())
            batches += 1
            for escrow in locked_escrows:
                amount = _euros(escrow.amount_cents)
                commission = (amount * rate).quantize(CENTS, rounding=ROUND_HALF_UP)
                net = amount - commission
                cut, to_project = _cents(commission), _cents(net)
                escrow.status = PledgeStatus.RELEASED
                escrow.settled_at = as_of
                escrow.commission_cents = cut
                escrow.net_cents = to_project
                escrow.settlement_run = run
                escrow.save(
                    update_fields=[
                        "status",
                        "settled_at",
                        "commission_cents",
                        "net_cents",
                        "settlement_run",
                    ]
                )
                EuroAccount.objects.filter(pk=escrow.escrow_id).update(
                    balance=F("balance") - escrow.amount_cents
                )
                EuroAccount.objects.filter(pk=project_account).update(
                    balance=F("balance") + to_project
                )
                EuroAccount.objects.filter(pk=commission_account).update(balance=F("balance") + cut)
                entry = EuroEntry.objects.create(
                    kind=EntryKind.RELEASE,
                    amount=escrow.amount_cents,
                    member_id=escrow.member_id,
                    project_id=escrow.project_id,
                    campaign_id=campaign_id,
                    run=run,
                    reference=f"pledge:{escrow.pk}",
                    created_at=as_of,
                )
                EuroPosting.objects.bulk_create(
                    [
                        EuroPosting(
                            entry=entry,
                            account_id=escrow.escrow_id,
                            amount=-escrow.amount_cents,
                            pledge_id=escrow.pk,
                        ),
                        EuroPosting(entry=entry, account_id=project_account, amount=to_project),
                        EuroPosting(entry=entry, account_id=commission_account, amount=cut),
                    ]
                )
                released += 1
                released_amount += escrow.amount_cents
                released_commission += cut
    return SeedsRelease(
        reported_count=reported_count,
        reported_amount=reported_amount,
        reported_commission=reported_commission,
        released=released,
        released_amount=released_amount,
        released_commission=released_commission,
        batches=batches,
        run_id=run.pk,
    )


# --- pocket allocation --------------------------------------------------------------------------


@dataclass
class SeedsAllocation:
    """What the seeds' allocation did for one deposit, in cents."""

    pockets_seen: int  # the count() of the warning
    pockets_locked: int
    allocated: list[tuple[int, int]] = field(default_factory=list)  # (pocket id, cents)

    @property
    def total(self) -> int:
        return sum(c for _, c in self.allocated)


def allocate_deposit_to_pockets(
    *, wallet: EuroAccount, member_id: int, amount: Decimal, at: datetime
) -> SeedsAllocation:
    """The report's "APRÈS" allocation of ``amount`` euros (inside the deposit's transaction,
    ``wallet`` locked by it, its in-memory ``balance`` in cents)."""
    transactions_to_create: list[EuroEntry] = []
    postings: list[tuple[int, int]] = []  # (pocket account, cents), one pair per transaction
    pockets_to_update: list[EuroAccount] = []
    total_allocated = Decimal("0")
    pockets_qs = Pocket.objects.filter(member_id=member_id, percentage_bp__gt=0).order_by(
        "-percentage_bp"
    )[:MAX_POCKETS_PER_ALLOCATION]
    total_pockets_count = Pocket.objects.filter(member_id=member_id, percentage_bp__gt=0).count()
    if total_pockets_count > MAX_POCKETS_PER_ALLOCATION:
        logger.warning(
            "User %s a %s pockets (> %s), traitement limité à %s",
            member_id,
            total_pockets_count,
            MAX_POCKETS_PER_ALLOCATION,
            MAX_POCKETS_PER_ALLOCATION,
        )
    pockets = list(
        Pocket.objects.filter(id__in=pockets_qs.values_list("id", flat=True))
        .select_related("account")
        .select_for_update()
    )
    result = SeedsAllocation(pockets_seen=total_pockets_count, pockets_locked=len(pockets))
    for pocket in pockets:
        allocated = (amount * pocket.percentage / Decimal(100)).quantize(
            CENTS, rounding=ROUND_HALF_UP
        )
        if allocated > Decimal("0"):  # noqa: SIM102 - the report's nesting, kept
            if _euros(wallet.balance) >= allocated:  # the in-memory balance, never decreased
                cents = _cents(allocated)
                transactions_to_create.append(
                    EuroEntry(
                        kind=EntryKind.TRANSFER,
                        amount=cents,
                        member_id=member_id,
                        reference=f"pocket:{pocket.pk}",
                        created_at=at,
                        explanation=f"Allocation automatique vers pocket: {pocket.name}",
                    )
                )
                postings.append((pocket.account_id, cents))
                pocket.account.balance = _cents(
                    (_euros(pocket.account.balance) + allocated).quantize(
                        CENTS, rounding=ROUND_HALF_UP
                    )
                )
                pockets_to_update.append(pocket.account)
                total_allocated += allocated
                result.allocated.append((pocket.pk, cents))
    if transactions_to_create:
        created = EuroEntry.objects.bulk_create(
            transactions_to_create, batch_size=MAX_POCKETS_PER_ALLOCATION
        )
        lines = []
        for entry, (account_id, cents) in zip(created, postings, strict=True):
            lines += [
                EuroPosting(entry=entry, account_id=wallet.pk, amount=-cents),
                EuroPosting(entry=entry, account_id=account_id, amount=cents),
            ]
        EuroPosting.objects.bulk_create(lines, batch_size=2 * MAX_POCKETS_PER_ALLOCATION)
    if pockets_to_update:
        EuroAccount.objects.bulk_update(
            pockets_to_update, ["balance"], batch_size=MAX_POCKETS_PER_ALLOCATION
        )
    if total_allocated > Decimal("0"):
        total_allocated_quantized = total_allocated.quantize(CENTS, rounding=ROUND_HALF_UP)
        EuroAccount.objects.filter(id=wallet.id).update(
            balance=F("balance") - _cents(total_allocated_quantized)
        )
    return result


def seeds_deposit(
    *,
    member_id: int,
    amount: int,
    payment_id: str,
    at: datetime,
    counter: Callable[..., Any] | None = None,
) -> SeedsAllocation:
    """A deposit of ``amount`` cents booked the seeds' way: the wallet locked and credited,
    then :func:`allocate_deposit_to_pockets` (``counter``, an ``execute_wrapper``, counts the
    allocation's statements alone)."""
    from django.db import connection

    with transaction.atomic():
        wallet = EuroAccount.objects.select_for_update().get(
            kind=AccountKind.WALLET, member_id=member_id
        )
        provider = system_account_id(AccountKind.PROVIDER)
        entry = EuroEntry.objects.create(
            kind=EntryKind.DEPOSIT,
            amount=amount,
            member_id=member_id,
            reference=payment_id,
            created_at=at,
        )
        EuroPosting.objects.bulk_create(
            [
                EuroPosting(entry=entry, account_id=provider, amount=-amount),
                EuroPosting(entry=entry, account_id=wallet.pk, amount=amount),
            ]
        )
        EuroAccount.objects.filter(pk=wallet.pk).update(balance=F("balance") + amount)
        WebhookEvent.objects.create(
            event_id=f"evt_{payment_id}",
            type="payment_intent.succeeded",
            payload_hash="seeds",
            status=WebhookEventStatus.BOOKED,
            payment_id=payment_id,
            member_id=member_id,
            amount_cents=amount,
            entry=entry,
        )
        wallet.balance += amount  # the seeds' wallet.balance += amount
        if counter is None:
            return allocate_deposit_to_pockets(
                wallet=wallet, member_id=member_id, amount=_euros(amount), at=at
            )
        with connection.execute_wrapper(counter):
            return allocate_deposit_to_pockets(
                wallet=wallet, member_id=member_id, amount=_euros(amount), at=at
            )
