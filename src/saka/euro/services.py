"""EUR writes: deposits, pockets and transfers, pledges, campaigns.

Amounts are integer cents. Each service owns its transaction (``durable()``), takes its
locks in the order documented in ``lock_objects`` before checking what they protect, books
balanced entries and returns a small result. Building blocks that run inside a caller's
transaction (``deposit_book``, ``pledges_exit``) say so and check it. Side effects
(signals, logs for notifications) run in ``transaction.on_commit``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Sum
from django.db.models.functions import Coalesce

from saka.core.clock import as_of_or_now, check_instant
from saka.core.db import durable, require_atomic
from saka.core.errors import ValidationError
from saka.core.money import MAX_AMOUNT, format_percentage, parse_amount, parse_percentage
from saka.euro import signals
from saka.euro.accounts import EURO_BOOK, project_account_id, system_account_id
from saka.euro.booking import Line, entry_post_lines
from saka.euro.conf import MAX_DEPOSIT_CENTS, MAX_PLEDGE_CENTS, MAX_POCKETS, get_settings
from saka.euro.errors import (
    AllocationExceeded,
    CampaignAlreadyOpen,
    CampaignNotFound,
    CampaignNotOpen,
    EquityPledgesDisabled,
    KycRequired,
    MemberNotFound,
    PledgeNotFound,
    PledgeNotHeld,
    PocketLimitReached,
    PocketNotFound,
)
from saka.euro.lock_objects import (
    account_lock,
    campaign_lock,
    campaign_share_lock,
    open_campaign_share_lock,
    pledges_lock,
    wallet_lock,
    wallet_lock_or_create,
)
from saka.euro.models import (
    AccountKind,
    Campaign,
    CampaignStatus,
    EntryKind,
    EuroAccount,
    EuroEntry,
    MemberProfile,
    Pledge,
    PledgeKind,
    PledgeStatus,
    Pocket,
    SettlementRun,
)
from saka.euro.splits import PaymentSplit, commission_of, pocket_split, rate_ratio
from saka.ledger.errors import InsufficientBalance
from saka.ledger.idempotency import idempotency_claim, idempotency_store
from saka.ledger.services import entry_post
from saka.projects.selectors import project_get

logger = logging.getLogger("saka.euro")

POCKET_NAME_MAX = 60


# --- input rules --------------------------------------------------------------------------------


def _pocket_name(name: Any) -> str:
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= POCKET_NAME_MAX:
        raise ValidationError(f"A pocket name has 1 to {POCKET_NAME_MAX} characters.", field="name")
    cleaned = name.strip()
    if not cleaned.isprintable():
        raise ValidationError("A pocket name has printable characters only.", field="name")
    return cleaned


def require_member(member_id: Any) -> int:
    if isinstance(member_id, bool) or not isinstance(member_id, int) or member_id <= 0:
        raise MemberNotFound(member_id=str(member_id)[:64])
    if not get_user_model().objects.filter(pk=member_id, is_active=True).exists():
        raise MemberNotFound(member_id=member_id)
    return member_id


def _id(value: Any, error: type[Exception], **data: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise error(**data)
    return value


# --- deposits -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DepositResult:
    entry_id: int
    member_id: int
    amount: int
    fee: int
    wallet_net: int
    main: int
    pockets: list[tuple[int, int]]  # (pocket id, cents)
    project_id: int | None
    donation_net: int
    tip_net: int
    fee_parts: tuple[int, int, int]  # wallet, donation, tip


def deposit_book(
    *,
    member_id: int,
    split: PaymentSplit,
    project_id: int | None,
    reference: str,
    at: datetime,
) -> DepositResult:
    """Book a payment (building block: runs in the webhook's transaction).

    The provider is debited the gross amount; the fee goes to the processor; the wallet's
    net part is split across the member's pockets by percentage (largest remainder, exact),
    the rest to the main balance; the donation's net part to the project's account and the
    tip's net part to the platform. Locks the member's wallet (created on first deposit).
    """
    require_atomic()
    if split.amount > MAX_DEPOSIT_CENTS:
        raise ValidationError("The payment is too large.", field="amount")
    wallet = wallet_lock_or_create(member_id=member_id)
    pockets = list(
        Pocket.objects.filter(member_id=member_id, closed_at__isnull=True, percentage_bp__gt=0)
        .order_by("id")
        .values_list("id", "account_id", "percentage_bp")
    )
    parts, main = pocket_split(split.wallet_net, [bp for _, _, bp in pockets])
    provider_id = system_account_id(AccountKind.PROVIDER)
    fees_id = system_account_id(AccountKind.FEES)
    lines: list[Line] = [(provider_id, -split.amount, None)]
    if split.fee:
        lines.append((fees_id, split.fee, None))
    if main:
        lines.append((wallet.pk, main, None))
    lines += [(acc, part, None) for (_, acc, _), part in zip(pockets, parts, strict=True) if part]
    if split.donation_net:
        if project_id is None:
            raise ValidationError("A donation needs a project.", field="project_id")
        lines.append((project_account_id(project_id=project_id), split.donation_net, None))
    if split.tip_net:
        lines.append((system_account_id(AccountKind.COMMISSION), split.tip_net, None))
    # one set-based balance update whatever the number of pockets (up to 100)
    entry = entry_post_lines(
        entry=EuroEntry(
            kind=EntryKind.DEPOSIT,
            amount=split.amount,
            member_id=member_id,
            project_id=project_id,
            reference=reference[:255],
            created_at=at,
        ),
        lines=lines,
        external_account_ids=frozenset({provider_id, fees_id}),
    )
    result = DepositResult(
        entry_id=entry.pk,
        member_id=member_id,
        amount=split.amount,
        fee=split.fee,
        wallet_net=split.wallet_net,
        main=main,
        pockets=[(pid, part) for (pid, _, _), part in zip(pockets, parts, strict=True) if part],
        project_id=project_id,
        donation_net=split.donation_net,
        tip_net=split.tip_net,
        fee_parts=(split.wallet_fee, split.donation_fee, split.tip_fee),
    )
    transaction.on_commit(lambda: notify("deposit_booked", result=result))
    return result


def notify(name: str, **kwargs: Any) -> None:
    """Runs after commit (``transaction.on_commit``): log, then tell the receivers of the
    ``saka.euro.signals`` signal ``name`` (mail, push, tasks...)."""
    logger.debug("%s %s", name, {k: getattr(v, "__dict__", v) for k, v in kwargs.items()})
    for receiver, response in getattr(signals, name).send_robust(sender=None, **kwargs):
        if isinstance(response, Exception):
            logger.error("receiver %r of %s failed: %r", receiver, name, response)


# --- pockets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PocketResult:
    pocket_id: int
    name: str
    percentage_bp: int
    balance: int
    allocated_bp: int  # Σ percentages of the member's open pockets after the change


def _open_pockets(member_id: int) -> Any:
    return Pocket.objects.filter(member_id=member_id, closed_at__isnull=True)


def _pocket_of(member_id: int, pocket_id: Any) -> Pocket:
    pid = _id(pocket_id, PocketNotFound, pocket_id=str(pocket_id)[:64])
    pocket = _open_pockets(member_id).filter(pk=pid).select_related("account").first()
    if pocket is None:
        raise PocketNotFound(pocket_id=pid)
    return pocket


def _allocated(member_id: int, *, exclude: int | None = None) -> tuple[int, int]:
    qs = _open_pockets(member_id)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    agg = qs.aggregate(n=Count("id"), bp=Coalesce(Sum("percentage_bp"), 0))
    return int(agg["n"]), int(agg["bp"])


def _check_allocation(current_bp: int, requested_bp: int) -> None:
    if current_bp + requested_bp > 10_000:
        raise AllocationExceeded(
            allocated=format_percentage(current_bp),
            requested=format_percentage(requested_bp),
            available=format_percentage(10_000 - current_bp),
        )


def pocket_create(
    *, member_id: int, name: str, percentage: Any = 0, idempotency_key: str | None = None
) -> PocketResult:
    """Open a pocket. Raises ``PocketLimitReached`` (100 open pockets), ``AllocationExceeded``
    (Σ percentages > 100), ``ValidationError``, ``MemberNotFound``, ``IdempotencyConflict``."""
    cleaned = _pocket_name(name)
    bp = parse_percentage(percentage)
    member_id = require_member(member_id)
    scope = f"euro.pocket:{member_id}"
    payload = {"name": cleaned, "percentage_bp": bp}
    with durable():
        if idempotency_key is not None:
            replay = idempotency_claim(scope=scope, key=idempotency_key, payload=payload)
            if replay is not None:
                return PocketResult(**replay)
        wallet_lock_or_create(member_id=member_id)
        count, allocated = _allocated(member_id)
        if count >= MAX_POCKETS:
            raise PocketLimitReached(maximum=MAX_POCKETS)
        _check_allocation(allocated, bp)
        account = EuroAccount.objects.create(kind=AccountKind.POCKET, member_id=member_id)
        pocket = Pocket.objects.create(
            member_id=member_id, account=account, name=cleaned, percentage_bp=bp
        )
        result = PocketResult(pocket.pk, cleaned, bp, 0, allocated + bp)
        if idempotency_key is not None:
            idempotency_store(scope=scope, key=idempotency_key, result=asdict(result))
    return result


def pocket_update(
    *, member_id: int, pocket_id: int, name: str | None = None, percentage: Any = None
) -> PocketResult:
    """Rename a pocket and/or set its percentage (Σ per wallet checked under the wallet lock)."""
    cleaned = None if name is None else _pocket_name(name)
    bp = None if percentage is None else parse_percentage(percentage)
    with durable():
        wallet_lock(member_id=member_id)
        pocket = _pocket_of(member_id, pocket_id)
        _, others = _allocated(member_id, exclude=pocket.pk)
        fields: dict[str, Any] = {}
        if bp is not None:
            _check_allocation(others, bp)
            fields["percentage_bp"] = bp
        if cleaned is not None:
            fields["name"] = cleaned
        if fields:
            Pocket.objects.filter(pk=pocket.pk).update(**fields)
        final_bp = pocket.percentage_bp if bp is None else bp
        return PocketResult(
            pocket.pk,
            cleaned or pocket.name,
            final_bp,
            pocket.account.balance,
            others + final_bp,
        )


@dataclass(frozen=True)
class TransferResult:
    entry_id: int | None
    pocket_id: int
    direction: str
    amount: int
    wallet_balance: int
    pocket_balance: int
    created_at: str


TO_POCKET = "to_pocket"
TO_WALLET = "to_wallet"
DIRECTIONS = (TO_POCKET, TO_WALLET)


def _transfer(
    *, member_id: int, wallet: EuroAccount, pocket: Pocket, direction: str, cents: int, at: datetime
) -> TransferResult:
    account = account_lock(account_id=pocket.account_id)
    source = wallet if direction == TO_POCKET else account
    if source.balance < cents:
        raise InsufficientBalance(available=source.balance, requested=cents)
    sign = 1 if direction == TO_POCKET else -1
    entry = entry_post(
        book=EURO_BOOK,
        entry=EuroEntry(
            kind=EntryKind.TRANSFER,
            amount=cents,
            member_id=member_id,
            reference=f"pocket:{pocket.pk}",
            created_at=at,
        ),
        postings=[(wallet.pk, -sign * cents), (account.pk, sign * cents)],
    )
    return TransferResult(
        entry_id=entry.pk,
        pocket_id=pocket.pk,
        direction=direction,
        amount=cents,
        wallet_balance=wallet.balance - sign * cents,
        pocket_balance=account.balance + sign * cents,
        created_at=at.isoformat(),
    )


def pocket_transfer(
    *,
    member_id: int,
    pocket_id: int,
    direction: str,
    amount: int,
    idempotency_key: str | None = None,
    as_of: datetime | None = None,
) -> TransferResult:
    """Move ``amount`` cents between the member's main balance and one of their pockets.

    Raises ``InvalidAmount``, ``ValidationError`` (direction), ``PocketNotFound``,
    ``InsufficientBalance``, ``IdempotencyConflict``, ``LockTimeout``.
    """
    at = as_of_or_now(as_of)
    cents = parse_amount(amount, maximum=MAX_AMOUNT)
    if direction not in DIRECTIONS:
        raise ValidationError(f"direction is one of {', '.join(DIRECTIONS)}.", field="direction")
    scope = f"euro.transfer:{member_id}"
    payload = {"pocket_id": pocket_id, "direction": direction, "amount": cents}
    with durable():
        if idempotency_key is not None:
            replay = idempotency_claim(scope=scope, key=idempotency_key, payload=payload)
            if replay is not None:
                return TransferResult(**replay)
        wallet = wallet_lock(member_id=member_id)
        if wallet is None:
            raise PocketNotFound(pocket_id=str(pocket_id)[:64])
        pocket = _pocket_of(member_id, pocket_id)
        result = _transfer(
            member_id=member_id,
            wallet=wallet,
            pocket=pocket,
            direction=direction,
            cents=cents,
            at=at,
        )
        if idempotency_key is not None:
            idempotency_store(scope=scope, key=idempotency_key, result=asdict(result))
    return result


def pocket_close(
    *, member_id: int, pocket_id: int, as_of: datetime | None = None
) -> TransferResult:
    """Close a pocket: its balance goes back to the main balance (booked), its percentage to 0."""
    at = as_of_or_now(as_of)
    with durable():
        wallet = wallet_lock(member_id=member_id)
        if wallet is None:
            raise PocketNotFound(pocket_id=str(pocket_id)[:64])
        pocket = _pocket_of(member_id, pocket_id)
        balance = account_lock(account_id=pocket.account_id).balance
        if balance:
            result = _transfer(
                member_id=member_id,
                wallet=wallet,
                pocket=pocket,
                direction=TO_WALLET,
                cents=balance,
                at=at,
            )
        else:
            result = TransferResult(
                None, pocket.pk, TO_WALLET, 0, wallet.balance, 0, at.isoformat()
            )
        Pocket.objects.filter(pk=pocket.pk).update(closed_at=at, percentage_bp=0)
    return result


# --- campaigns ----------------------------------------------------------------------------------


def campaign_create(
    *,
    project_id: int,
    goal: int,
    deadline: datetime,
    created_by_id: int | None = None,
    as_of: datetime | None = None,
) -> Campaign:
    """Open a campaign for a project (at most one open per project)."""
    at = as_of_or_now(as_of)
    cents = parse_amount(goal, field="goal", maximum=MAX_AMOUNT)
    check_instant(deadline, field="deadline")
    if deadline <= at:
        raise ValidationError("deadline must be in the future.", field="deadline")
    project = project_get(project_id=project_id)
    with durable():
        if Campaign.objects.filter(project=project, status=CampaignStatus.OPEN).exists():
            raise CampaignAlreadyOpen(project_id=project.pk)
        try:
            with transaction.atomic():
                return Campaign.objects.create(
                    project=project,
                    goal_cents=cents,
                    deadline=deadline,
                    created_by_id=created_by_id,
                    created_at=at,
                )
        except IntegrityError as exc:
            raise CampaignAlreadyOpen(project_id=project.pk) from exc


CLOSED_STATUSES = (CampaignStatus.SUCCEEDED, CampaignStatus.FAILED, CampaignStatus.CANCELLED)


def campaign_set_status(
    *, campaign_id: int, status: str, as_of: datetime | None = None
) -> Campaign:
    """Close an open campaign as succeeded, failed or cancelled (then settle it).

    Waits for the pledges in flight (they hold the campaign ``FOR SHARE``); every later
    pledge sees the campaign closed. Setting the status it already has is a no-op; any other
    change of a closed campaign raises ``CampaignNotOpen``.
    """
    at = as_of_or_now(as_of)
    if status not in CLOSED_STATUSES:
        raise ValidationError(f"status is one of {', '.join(CLOSED_STATUSES)}.", field="status")
    cid = _id(campaign_id, CampaignNotFound, campaign_id=str(campaign_id)[:64])
    with durable():
        campaign = campaign_lock(campaign_id=cid)
        if campaign is None:
            raise CampaignNotFound(campaign_id=cid)
        if campaign.status == status:
            return campaign
        if campaign.status != CampaignStatus.OPEN:
            raise CampaignNotOpen(
                "The campaign is already closed.", campaign_id=cid, status=campaign.status
            )
        Campaign.objects.filter(pk=cid).update(status=status, closed_at=at)
        campaign.status, campaign.closed_at = status, at
    logger.info("campaign %s closed as %s", cid, status)
    return campaign


def member_kyc_set(
    *, member_id: int, verified: bool, as_of: datetime | None = None
) -> MemberProfile:
    """Record whether a member passed KYC (staff, through the admin or a KYC provider hook)."""
    at = as_of_or_now(as_of)
    member_id = require_member(member_id)
    if not isinstance(verified, bool):
        raise ValidationError("verified must be true or false.", field="verified")
    with durable():
        profile, _ = MemberProfile.objects.select_for_update().get_or_create(member_id=member_id)
        profile.kyc_verified = verified
        profile.kyc_verified_at = at if verified else None
        profile.updated_at = at
        profile.save(update_fields=["kyc_verified", "kyc_verified_at", "updated_at"])
    return profile


# --- pledges ------------------------------------------------------------------------------------


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
    scope = f"euro.pledge:{member_id}"
    payload = {"project_id": project.pk, "amount": cents, "kind": str(kind)}
    with durable():
        if idempotency_key is not None:
            replay = idempotency_claim(scope=scope, key=idempotency_key, payload=payload)
            if replay is not None:
                return PledgeResult(**replay)
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
            raise InsufficientBalance(available=available, requested=cents)
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
            ),
            postings=[(wallet.pk, -cents), (escrow.pk, cents)],
        )
        result = PledgeResult(
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
        if idempotency_key is not None:
            idempotency_store(scope=scope, key=idempotency_key, result=asdict(result))
    return result


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
    lines: list[Line] = [(p.escrow_id, -p.amount_cents, p.pk) for p in pledges]
    rate = commission_rate if commission_rate is not None else get_settings().commission_rate
    if outcome == PledgeStatus.RELEASED:
        net_by_project: dict[int, int] = defaultdict(int)
        for p in pledges:
            cut = commission_of(p.amount_cents, rate)
            totals.commission += cut
            net_by_project[p.project_id] += p.amount_cents - cut
        totals.net = sum(net_by_project.values())
        lines += [
            (project_account_id(project_id=pid), net, None)
            for pid, net in sorted(net_by_project.items())
            if net
        ]
        if totals.commission:
            lines.append((system_account_id(AccountKind.COMMISSION), totals.commission, None))
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
    entry = entry_post_lines(
        entry=EuroEntry(
            kind=_EXIT_KINDS[outcome],
            amount=totals.amount,
            member_id=pledges[0].member_id if single else None,
            project_id=pledges[0].project_id if len(project_ids) == 1 else None,
            campaign_id=pledges[0].campaign_id if len(campaign_ids) == 1 else None,
            run=run,
            reference=f"pledge:{pledges[0].pk}" if single else f"pledges:{len(pledges)}",
            created_at=at,
        ),
        lines=lines,
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


def _exit_one(
    *, pledge_id: Any, member_id: int | None, outcome: PledgeStatus, at: datetime
) -> PledgeResult:
    pid = _id(pledge_id, PledgeNotFound, pledge_id=str(pledge_id)[:64])
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


def pledge_refund(*, pledge_id: int, as_of: datetime | None = None) -> PledgeResult:
    """Staff refund one held pledge to its member, whatever its campaign's state (a
    dispute, a chargeback). Races with a settlement safely: whoever locks the pledge first
    settles it, the other sees it is no longer held (``PledgeNotHeld`` here; the
    settlement skips it)."""
    at = as_of_or_now(as_of)
    with durable():
        return _exit_one(pledge_id=pledge_id, member_id=None, outcome=PledgeStatus.REFUNDED, at=at)
