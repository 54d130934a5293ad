"""Taking pledges out of escrow: ``pledges_exit`` books one entry for a set of locked, held
pledges (released to the project minus commission, or back to the members). Used by the
pledge services (cancel, refund) and by the settlement.

A release locks only the pledges' escrows: the project's and the platform's accounts are
rolled up (pending credits, folded by ``euro_rollup``), so a settlement chunk never holds a
row that members' deposits write."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import F, Sum
from django.db.models.functions import Coalesce

from saka.core.db import require_atomic
from saka.euro.accounts import EURO_BOOK, project_account_id, system_account_id
from saka.euro.conf import get_settings
from saka.euro.errors import PledgeNotHeld
from saka.euro.models import (
    AccountKind,
    Campaign,
    EntryKind,
    EuroEntry,
    Pledge,
    PledgeStatus,
    SettlementRun,
)
from saka.euro.splits import commission_of, rate_ratio
from saka.euro.statements import entry_sentence, pledge_calculation, settlement_calculation
from saka.ledger.posting import Posting, entry_post


@dataclass
class ExitTotals:
    """What one pledge exit booked (a settlement batch, a cancellation or a refund)."""

    entry_id: int | None = None
    pledges: int = 0
    amount: int = 0
    commission: int = 0
    net: int = 0
    refunded: int = 0
    pledge_ids: list[int] = field(default_factory=list)


_EXIT_KINDS = {
    PledgeStatus.RELEASED: EntryKind.RELEASE,
    PledgeStatus.REFUNDED: EntryKind.REFUND,
    PledgeStatus.CANCELLED: EntryKind.CANCEL,
}


def _exit_calculation(
    *,
    pledges: list[Pledge],
    run: SettlementRun | None,
    rate: Decimal,
    totals: ExitTotals,
    single: bool,
) -> dict[str, Any] | None:
    """The exit's statement: a settlement chunk's frozen figures (its pledges' own are written
    on their rows below; the campaign's outcome and the project's name were frozen in the run
    when it opened), or the one pledge's (one query: the project's name as it is now)."""
    if run is None and not single:
        return None
    first = pledges[0]
    frozen = run.parameters if run is not None else {}
    if "project" in frozen:
        status, project_name = frozen["campaign_status"], frozen["project"]
    else:  # a single pledge's exit, or a run opened before statements existed
        status, project_name = (
            Campaign.objects.filter(pk=first.campaign_id)
            .values_list("status", "project__title")
            .get()
        )
    if run is None:
        return pledge_calculation(
            pledge_id=first.pk,
            pledge_kind=first.kind,
            project_id=first.project_id,
            project_name=project_name,
            campaign_id=first.campaign_id,
            amount=first.amount_cents,
        )
    return settlement_calculation(
        run_id=run.pk,
        campaign_id=first.campaign_id,
        campaign_status=status,
        project_id=first.project_id,
        project_name=project_name,
        commission_rate=run.commission_rate,
        pledges=totals.pledges,
        amount=totals.amount,
        commission=totals.commission,
        net=totals.net,
        refunded=totals.refunded,
    )


def pledges_exit(
    *,
    pledges: list[Pledge],
    outcome: PledgeStatus,
    at: datetime,
    run: SettlementRun | None = None,
    commission_rate: Decimal | None = None,
) -> ExitTotals:
    """Take ``pledges`` out of escrow (building block: inside the caller's transaction).

    The caller has locked the pledges and re-checked under the lock that each is held.
    ``RELEASED``: each escrow's amount goes to the project, minus ``floor(amount x rate)``
    to the platform; ``REFUNDED``/``CANCELLED``: back to each member's main balance. One
    entry; the pledge rows change with one statement that only matches held pledges, and
    anything else is an error that rolls the whole exit back.
    """
    require_atomic()
    totals = ExitTotals()
    if not pledges:
        return totals
    if any(p.status != PledgeStatus.HELD for p in pledges):
        raise PledgeNotHeld(pledge_ids=[p.pk for p in pledges if p.status != PledgeStatus.HELD])
    project_ids = {p.project_id for p in pledges}
    campaign_ids = {p.campaign_id for p in pledges}
    lines: list[Posting] = [(p.escrow_id, -p.amount_cents, p.pk) for p in pledges]
    rate = commission_rate if commission_rate is not None else get_settings().commission_rate
    rollup: set[int] = set()
    if outcome == PledgeStatus.RELEASED:
        net_by_project: dict[int, int] = defaultdict(int)
        for p in pledges:
            cut = commission_of(p.amount_cents, rate)
            totals.commission += cut
            net_by_project[p.project_id] += p.amount_cents - cut
        totals.net = sum(net_by_project.values())
        credited = [
            (project_account_id(project_id=pid), net, None)
            for pid, net in sorted(net_by_project.items())
            if net
        ]
        if totals.commission:
            credited.append((system_account_id(AccountKind.COMMISSION), totals.commission, None))
        # the project and commission accounts are rolled up: credited through pending rows,
        # never locked here (members' deposits credit them too)
        rollup |= {line[0] for line in credited}
        lines += credited
    else:
        back: dict[int, int] = defaultdict(int)
        for p in pledges:
            back[p.wallet_id] += p.amount_cents
        lines += [(wallet_id, cents, None) for wallet_id, cents in sorted(back.items())]
        totals.refunded = sum(back.values())
    totals.pledges = len(pledges)
    totals.amount = sum(p.amount_cents for p in pledges)
    totals.pledge_ids = [p.pk for p in pledges]
    single = len(pledges) == 1
    kind = _EXIT_KINDS[outcome]
    calculation = _exit_calculation(
        pledges=pledges, run=run, rate=rate, totals=totals, single=single
    )
    entry = entry_post(
        book=EURO_BOOK,
        entry=EuroEntry(
            kind=kind,
            amount=totals.amount,
            member_id=pledges[0].member_id if single else None,
            project_id=pledges[0].project_id if len(project_ids) == 1 else None,
            campaign_id=pledges[0].campaign_id if len(campaign_ids) == 1 else None,
            run=run,
            reference=f"pledge:{pledges[0].pk}" if single else f"pledges:{len(pledges)}",
            created_at=at,
            calculation=calculation,
            explanation=""
            if calculation is None
            else entry_sentence(kind=kind, calculation=calculation),
        ),
        postings=lines,
        rollup_account_ids=frozenset(rollup),
        lock_accounts=True,
    )
    totals.entry_id = entry.pk
    fields: dict[str, Any] = {"status": outcome, "settled_at": at, "settlement_run": run}
    if outcome == PledgeStatus.RELEASED:
        num, den = rate_ratio(rate)
        # the same exact integer arithmetic as commission_of(), in SQL
        fields["commission_cents"] = F("amount_cents") * num / den
        fields["net_cents"] = F("amount_cents") - F("amount_cents") * num / den
    updated = Pledge.objects.filter(pk__in=totals.pledge_ids, status=PledgeStatus.HELD).update(
        **fields
    )
    if updated != len(pledges):
        raise PledgeNotHeld("A pledge changed while it was locked.", pledge_ids=totals.pledge_ids)
    if outcome == PledgeStatus.RELEASED:
        booked = Pledge.objects.filter(pk__in=totals.pledge_ids).aggregate(
            c=Coalesce(Sum("commission_cents"), 0), n=Coalesce(Sum("net_cents"), 0)
        )
        if (int(booked["c"]), int(booked["n"])) != (totals.commission, totals.net):
            raise RuntimeError("commission computed in SQL differs from the booked commission")
    return totals
