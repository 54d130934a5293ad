"""The demo's EUR side, booked through the real code paths at past instants (``as_of``):

- deposits: signed ``payment_intent.succeeded`` events delivered to the webhook handler
  (``saka.euro.payments.sender.deliver_in_process``, what ``saka_webhook_send --in-process``
  does), some with a tip to the platform or a donation to a project;
- pockets (savings, gifts) that split every later deposit, and a few transfers into them;
- a few members' KYC recorded as verified (the admin's member profiles);
- campaigns: one succeeded and settled (released minus the commission), one failed and
  refunded, three open; pledges by the depositors, some cancelled by their member, one
  refunded by staff.

Idempotent: event and payment ids, pocket, pledge and transfer idempotency keys are
deterministic, so a second run replays each operation (books nothing); the demo's campaign of
a project is made once (a project that has other campaigns is left alone); closing a closed
campaign, settling a settled one and cancelling a pledge that is not held change nothing.
Amounts are chosen so that every pledge and transfer is covered by the member's first deposit
(a refusal on the first run could succeed on a later one).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from saka.core.errors import DomainError
from saka.euro.conf import get_settings
from saka.euro.models import (
    Campaign,
    CampaignStatus,
    MemberProfile,
    Pledge,
    PledgeStatus,
    Pocket,
)
from saka.euro.payments.sender import deliver_in_process, payment_event
from saka.euro.services.campaigns import campaign_create, campaign_set_status
from saka.euro.services.members import member_kyc_set
from saka.euro.services.pledges import pledge_cancel, pledge_create, pledge_refund
from saka.euro.services.pockets import TO_POCKET, pocket_create, pocket_transfer
from saka.euro.settlement import settlement_start

EUR = 100  # cents


@dataclass(frozen=True)
class CampaignPlan:
    name: str
    goal: int  # cents
    opened: int  # days before today
    deadline: int  # days after today (negative: in the past)
    closed: tuple[str, int] | None = None  # (status, days before today)


CAMPAIGNS = [
    CampaignPlan("succeeded", 1_500 * EUR, 60, -15, (CampaignStatus.SUCCEEDED, 14)),
    CampaignPlan("failed", 20_000 * EUR, 50, -10, (CampaignStatus.FAILED, 9)),
    CampaignPlan("open", 3_000 * EUR, 30, 20),
    CampaignPlan("open", 5_000 * EUR, 20, 35),
    CampaignPlan("open", 1_500 * EUR, 12, 50),
]


@dataclass(order=True)
class _Step:
    at: datetime
    order: int
    action: Callable[[], Any] = field(compare=False)


@dataclass
class EuroDemoResult:
    deposits: int = 0
    refused: list[str] = field(default_factory=list)
    campaigns: list[Campaign] = field(default_factory=list)


def _fee(amount: int) -> int:
    """A card processor's fee: 1.4 % + 0.25 EUR (integer cents, floor)."""
    return amount * 14 // 1000 + 25


def euro_book(
    *,
    member_ids: list[int],
    project_ids: list[int],
    staff_id: int,
    today: datetime,
    seed: int,
) -> EuroDemoResult:
    """Plan and book the EUR history of ``member_ids`` (see the module docstring)."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not a secret
    result = EuroDemoResult()
    if len(project_ids) < len(CAMPAIGNS):
        return result
    steps: list[_Step] = []
    campaigns = [
        _campaign(plan, project_ids[n], staff_id, today) for n, plan in enumerate(CAMPAIGNS)
    ]
    result.campaigns = [c for c in campaigns if c is not None]
    pledged: dict[str, int] = {}  # pledge key -> pledge id, filled as pledges are booked

    def at(days: float) -> datetime:
        return today - timedelta(days=days)

    for i, member_id in enumerate(member_ids):
        if i % 10 in (3, 7, 9):
            continue  # 70 % of the members use the EUR wallet
        if i % 25 == 0 and not MemberProfile.objects.filter(member_id=member_id).exists():
            member_kyc_set(member_id=member_id, verified=True, as_of=at(95))
        if i % 5 == 0:
            _pocket(member_id, "Savings", rng.choice([10, 15, 20, 30]), 1)
            if i % 10 == 0:
                _pocket(member_id, "Gifts", rng.choice([5, 10]), 2)
        first = rng.randint(70, 90)
        for n in range(1 + rng.choice([0, 0, 1, 2])):
            amount = (
                rng.choice([100, 150, 200, 250]) * EUR if n == 0 else rng.randint(20, 300) * EUR
            )
            event = payment_event(
                member_id=member_id,
                amount=amount,
                fee=_fee(amount),
                tip=2 * EUR if i % 6 == 1 else 0,
                donation=10 * EUR if i % 8 == 2 else 0,
                project_id=rng.choice(project_ids) if i % 8 == 2 else None,
                event_id=f"evt_demo_{member_id}_{n}",
                payment_id=f"pi_demo_{member_id}_{n}",
                created=at(first),
            )
            when = at(first if n == 0 else rng.randint(1, first - 1))
            steps.append(_Step(when, 0, partial(_deposit, event, when, result)))
        if i % 5 == 0:  # first deposit >= 100 EUR, <= 40 % to pockets: 2 EUR to a pocket
            when = at(first - 1)
            steps.append(_Step(when, 0, partial(_transfer, member_id, when)))
        # at most two pledges of at most 20 EUR: covered by the first deposit's main part
        for n in rng.sample(range(len(CAMPAIGNS)), k=rng.choice([0, 1, 1, 2])):
            plan, campaign = CAMPAIGNS[n], campaigns[n]
            if campaign is None:
                continue
            last = max(plan.closed[1] if plan.closed else 0, -plan.deadline, 0) + 1
            days = rng.uniform(last, plan.opened - 0.5)
            when = at(days)
            key = f"demo-pledge-{member_id}-{campaign.pk}"
            amount = rng.choice([5, 10, 10, 15, 20]) * EUR
            pledge = partial(_pledge, member_id, campaign, amount, key, when, pledged)
            steps.append(_Step(when, 1, pledge))
            room = days - last  # days from the pledge to its campaign's close, or to today
            if rng.random() < 0.12 and room > 1:
                undo = at(days - rng.uniform(0.5, min(3.0, room - 0.5)))
                steps.append(_Step(undo, 2, partial(_cancel, member_id, key, undo, pledged)))
    # the first pledge of an open campaign refunded by staff (a dispute), yesterday
    if campaigns[2] is not None:
        refund = partial(_staff_refund, campaigns[2], staff_id, at(1), pledged)
        steps.append(_Step(at(1), 3, refund))
    for plan, campaign in zip(CAMPAIGNS, campaigns, strict=True):
        if plan.closed is None or campaign is None:
            continue
        status, days = plan.closed
        closed_at, settled_at = at(days), at(days) + timedelta(hours=2)
        close = partial(
            campaign_set_status,
            campaign_id=campaign.pk,
            status=status,
            actor_id=staff_id,
            as_of=closed_at,
        )
        settle = partial(
            settlement_start, campaign_id=campaign.pk, as_of=settled_at, triggered_by_id=staff_id
        )
        steps += [_Step(closed_at, 4, close), _Step(settled_at, 5, settle)]
    for step in sorted(steps):
        step.action()
    return result


def _campaign(
    plan: CampaignPlan, project_id: int, staff_id: int, today: datetime
) -> Campaign | None:
    """The demo's campaign of the project (made on the first run); ``None`` when the project
    has campaigns that are not the demo's (someone else's: the demo leaves them alone)."""
    campaigns = Campaign.objects.filter(project_id=project_id).order_by("id")
    if campaigns.exists():
        return campaigns.filter(created_by_id=staff_id, goal_cents=plan.goal).first()
    return campaign_create(
        project_id=project_id,
        goal=plan.goal,
        deadline=today + timedelta(days=plan.deadline),
        created_by_id=staff_id,
        as_of=today - timedelta(days=plan.opened),
    )


def _pocket(member_id: int, name: str, percentage: int, n: int) -> None:
    pocket_create(
        member_id=member_id,
        name=name,
        percentage=str(percentage),
        idempotency_key=f"demo-pocket-{member_id}-{n}",
    )


def _deposit(event: dict[str, Any], at: datetime, result: EuroDemoResult) -> None:
    delivery = deliver_in_process(event, secret=_secret(), as_of=at)
    if not delivery.ok:
        result.refused.append(f"{event['id']}: {delivery.status} {delivery.code}")
    elif not delivery.replayed:
        result.deposits += 1


def _secret() -> str:
    return get_settings().webhook_secret


def _transfer(member_id: int, at: datetime) -> None:
    pocket_id = (
        Pocket.objects.filter(member_id=member_id, closed_at__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )
    if pocket_id is not None:
        pocket_transfer(
            member_id=member_id,
            pocket_id=pocket_id,
            direction=TO_POCKET,
            amount=2 * EUR,
            idempotency_key=f"demo-transfer-{member_id}",
            as_of=at,
        )


def _pledge(
    member_id: int, campaign: Campaign, amount: int, key: str, at: datetime, pledged: dict[str, int]
) -> None:
    pledged[key] = pledge_create(
        member_id=member_id,
        project_id=campaign.project_id,
        amount=amount,
        idempotency_key=key,
        as_of=at,
    ).pledge_id


def _cancel(member_id: int, key: str, at: datetime, pledged: dict[str, int]) -> None:
    with contextlib.suppress(DomainError):  # a second run: no longer held
        pledge_cancel(member_id=member_id, pledge_id=pledged[key], as_of=at)


def _staff_refund(campaign: Campaign, staff_id: int, at: datetime, pledged: dict[str, int]) -> None:
    pledge = (
        Pledge.objects.filter(campaign=campaign, pk__in=list(pledged.values()))
        .exclude(status=PledgeStatus.CANCELLED)
        .order_by("id")
        .first()
    )
    if pledge is None or pledge.status != PledgeStatus.HELD:
        return  # none, or refunded by a first run
    pledge_refund(pledge_id=pledge.pk, actor_id=staff_id, as_of=at)
