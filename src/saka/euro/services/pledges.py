"""Pledges: a member pledges part of their main balance to a project's open campaign (the
money moves into the pledge's own escrow); the member cancels while the campaign is open;
staff refund one pledge whatever the campaign's state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from saka.audit.services import audit_record, self_action_refuse, staff_require
from saka.core.clock import as_of_or_now
from saka.core.db import durable
from saka.core.errors import ValidationError
from saka.core.members import member_require
from saka.core.money import Cents, parse_amount
from saka.euro.accounts import EURO_BOOK
from saka.euro.conf import MAX_PLEDGE_CENTS, get_settings
from saka.euro.errors import (
    CampaignNotOpen,
    EquityPledgesDisabled,
    KycRequired,
    PledgeNotFound,
    PledgeNotHeld,
)
from saka.euro.lock_objects import (
    campaign_share_lock,
    open_campaign_share_lock,
    pledges_lock,
    wallet_lock,
)
from saka.euro.models import (
    AccountKind,
    CampaignStatus,
    EntryKind,
    EuroAccount,
    EuroEntry,
    MemberProfile,
    Pledge,
    PledgeKind,
    PledgeStatus,
)
from saka.euro.services.escrow import pledges_exit
from saka.euro.services.inputs import parse_id
from saka.euro.services.notifications import notify
from saka.euro.statements import entry_sentence, pledge_calculation
from saka.ledger.errors import InsufficientBalance
from saka.ledger.idempotency import idempotent
from saka.ledger.posting import entry_post
from saka.projects.selectors import project_get

REFUND_ACTION = "euro.pledge.refund"


@dataclass(frozen=True)
class PledgeResult:
    pledge_id: int
    entry_id: int
    member_id: int
    project_id: int
    campaign_id: int
    kind: str
    amount: int
    status: str
    available: int  # the member's main balance after the operation
    created_at: str


def pledge_create(
    *,
    member_id: int,
    project_id: int,
    amount: int,
    kind: str = PledgeKind.DONATION,
    idempotency_key: str | None = None,
    as_of: datetime | None = None,
) -> PledgeResult:
    """Pledge ``amount`` cents of the member's main balance to a project's open campaign;
    the money moves into the pledge's own escrow account.

    Raises ``InvalidAmount`` (> 0, <= 100,000.00), ``ProjectNotFound``, ``CampaignNotOpen``
    (none open, or past its deadline), ``EquityPledgesDisabled``, ``KycRequired``,
    ``InsufficientBalance``, ``IdempotencyConflict``, ``LockTimeout``.
    """
    at = as_of_or_now(as_of)
    cents = parse_amount(amount, maximum=MAX_PLEDGE_CENTS)
    if kind not in PledgeKind.values:
        raise ValidationError(f"kind is one of {', '.join(PledgeKind.values)}.", field="kind")
    if kind == PledgeKind.EQUITY and not get_settings().equity_pledges_enabled:
        raise EquityPledgesDisabled()
    project = project_get(project_id=project_id)
    member_id = member_require(member_id)
    scope = f"euro.pledge:{member_id}"
    payload = {"project_id": project.pk, "amount": cents, "kind": str(kind)}

    def book() -> PledgeResult:
        campaign = open_campaign_share_lock(project_id=project.pk)
        if campaign is None:
            raise CampaignNotOpen(project_id=project.pk)
        if campaign.deadline <= at:
            raise CampaignNotOpen(
                "The campaign's deadline has passed.",
                project_id=project.pk,
                deadline=campaign.deadline.isoformat(),
            )
        if (
            kind == PledgeKind.EQUITY
            and not MemberProfile.objects.filter(member_id=member_id, kyc_verified=True).exists()
        ):
            raise KycRequired()
        wallet = wallet_lock(member_id=member_id)
        available = wallet.balance if wallet is not None else 0
        if wallet is None or available < cents:
            raise InsufficientBalance(available=Cents(available), requested=Cents(cents))
        escrow = EuroAccount.objects.create(kind=AccountKind.ESCROW, member_id=member_id)
        pledge = Pledge.objects.create(
            member_id=member_id,
            campaign=campaign,
            project=project,
            kind=kind,
            amount_cents=cents,
            escrow=escrow,
            wallet=wallet,
            created_at=at,
        )
        calculation = pledge_calculation(
            pledge_id=pledge.pk,
            pledge_kind=str(kind),
            project_id=project.pk,
            project_name=project.title,
            campaign_id=campaign.pk,
            amount=cents,
            available_after=available - cents,
        )
        entry = entry_post(
            book=EURO_BOOK,
            entry=EuroEntry(
                kind=EntryKind.PLEDGE,
                amount=cents,
                member_id=member_id,
                project=project,
                campaign=campaign,
                reference=f"pledge:{pledge.pk}",
                created_at=at,
                calculation=calculation,
                explanation=entry_sentence(kind=EntryKind.PLEDGE, calculation=calculation),
            ),
            postings=[(wallet.pk, -cents), (escrow.pk, cents)],
        )
        return PledgeResult(
            pledge_id=pledge.pk,
            entry_id=entry.pk,
            member_id=member_id,
            project_id=project.pk,
            campaign_id=campaign.pk,
            kind=str(kind),
            amount=cents,
            status=PledgeStatus.HELD.value,
            available=available - cents,
            created_at=at.isoformat(),
        )

    with durable():
        return idempotent(
            scope=scope, key=idempotency_key, payload=payload, result_type=PledgeResult, book=book
        )


def _exit_one(
    *, pledge_id: Any, member_id: int | None, outcome: PledgeStatus, at: datetime
) -> PledgeResult:
    pid = parse_id(pledge_id, PledgeNotFound, pledge_id=str(pledge_id)[:64])
    mine = Pledge.objects.filter(pk=pid)
    if member_id is not None:
        mine = mine.filter(member_id=member_id)
    pledge = mine.first()
    if pledge is None:
        raise PledgeNotFound(pledge_id=pid)
    if outcome == PledgeStatus.CANCELLED:
        campaign = campaign_share_lock(campaign_id=pledge.campaign_id)
        if campaign is None or campaign.status != CampaignStatus.OPEN:
            raise CampaignNotOpen(
                "A pledge can be cancelled only while its campaign is open.",
                campaign_id=pledge.campaign_id,
            )
    (locked,) = pledges_lock(pledge_ids=[pid])
    if locked.status != PledgeStatus.HELD:  # re-checked under the lock
        raise PledgeNotHeld(pledge_id=pid, status=locked.status)
    totals = pledges_exit(pledges=[locked], outcome=outcome, at=at)
    available = EuroAccount.objects.values_list("balance", flat=True).get(pk=locked.wallet_id)
    assert totals.entry_id is not None  # noqa: S101 - one pledge was booked
    result = PledgeResult(
        pledge_id=pid,
        entry_id=totals.entry_id,
        member_id=locked.member_id,
        project_id=locked.project_id,
        campaign_id=locked.campaign_id,
        kind=locked.kind,
        amount=locked.amount_cents,
        status=outcome.value,
        available=available,
        created_at=at.isoformat(),
    )
    transaction.on_commit(
        lambda: notify("pledges_settled", outcome=outcome.value, pledge_ids=[pid])
    )
    return result


def pledge_cancel(*, member_id: int, pledge_id: int, as_of: datetime | None = None) -> PledgeResult:
    """The member takes a held pledge back while its campaign is open (escrow -> wallet).

    Raises ``PledgeNotFound`` (not theirs), ``CampaignNotOpen``, ``PledgeNotHeld``.
    """
    at = as_of_or_now(as_of)
    with durable():
        return _exit_one(
            pledge_id=pledge_id, member_id=member_id, outcome=PledgeStatus.CANCELLED, at=at
        )


def pledge_refund(
    *, pledge_id: int, actor_id: int | None = None, as_of: datetime | None = None
) -> PledgeResult:
    """Staff refund one held pledge to its member, whatever its campaign's state (a
    dispute, a chargeback). Races with a settlement safely: whoever locks the pledge first
    settles it, the other sees it is no longer held (``PledgeNotHeld`` here; the
    settlement skips it). A staff ``actor_id`` needs ``refund_pledges`` (``RoleRequired``) and
    never refunds their own pledge (``SelfActionForbidden``); ``None`` is the system."""
    payload = {"pledge_id": str(pledge_id)[:64]}
    staff_require(
        actor_id=actor_id,
        action=REFUND_ACTION,
        target_type="pledge",
        target_id=payload["pledge_id"],
        payload=payload,
    )
    at = as_of_or_now(as_of)
    if actor_id is not None:
        pid = parse_id(pledge_id, PledgeNotFound, pledge_id=payload["pledge_id"])
        owner = Pledge.objects.filter(pk=pid).values_list("member_id", flat=True).first()
        if owner == actor_id:
            self_action_refuse(
                actor_id=actor_id,
                action=REFUND_ACTION,
                target_type="pledge",
                target_id=pid,
                payload=payload,
            )
    with durable():
        result = _exit_one(
            pledge_id=pledge_id, member_id=None, outcome=PledgeStatus.REFUNDED, at=at
        )
        audit_record(
            actor_id=actor_id,
            action=REFUND_ACTION,
            target_type="pledge",
            target_id=result.pledge_id,
            payload={
                "member_id": result.member_id,
                "amount_cents": result.amount,
                "entry_id": result.entry_id,
            },
        )
        return result
