"""SAKA writes: harvest (earn), plant (spend) and project boosts (poll votes: ``votes``).

Each service owns its transaction, locks the member's wallet before checking the rule it
protects, books one balanced entry and returns a small result object. Concurrency: the daily
limit and the balance are checked under the wallet lock, so parallel requests can neither
exceed a limit nor overdraw; the CHECK constraint on the balance is the backstop.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, Sum, Value
from django.db.models.functions import Coalesce, Greatest

from saka.audit.services import audit_record, self_action_refuse, staff_require
from saka.core.clock import check_instant, day_bounds, now
from saka.core.db import durable, require_atomic
from saka.core.errors import InvalidAmount, ValidationError
from saka.core.members import member_require
from saka.core.money import parse_amount
from saka.grains.accounts import SAKA_BOOK, system_account_id
from saka.grains.conf import (
    HARVEST_RULES,
    MANUAL_ADJUST,
    MANUAL_ADJUST_MAX_GRANT,
    MANUAL_ADJUST_MAX_PER_24H,
    PLANT_REASON_PATTERN,
    PROJECT_BOOST,
    get_settings,
)
from saka.grains.errors import (
    AdjustmentCapReached,
    DailyLimitReached,
    NotAllowed,
    SakaDisabled,
    UnknownReason,
)
from saka.grains.lock_objects import wallet_lock, wallet_lock_or_create
from saka.grains.models import AccountKind, EntryKind, ProjectSupporter, SakaAccount, SakaEntry
from saka.grains.statements import harvest_statement, plant_statement
from saka.ledger.errors import InsufficientBalance
from saka.ledger.idempotency import idempotent
from saka.ledger.posting import entry_post
from saka.projects.models import Project
from saka.projects.selectors import project_get, project_totals
from saka.projects.services import project_boost_record

PLANT_REASON_RE = re.compile(PLANT_REASON_PATTERN)
ADJUST_ACTION = "saka.adjustment.grant"


@dataclass(frozen=True)
class HarvestResult:
    entry_id: int
    member_id: int
    reason: str
    amount: int
    balance: int
    created_at: str
    used_today: int
    daily_limit: int | None


@dataclass(frozen=True)
class PlantResult:
    entry_id: int
    member_id: int
    reason: str
    amount: int
    balance: int
    created_at: str
    project_id: int | None
    project_score: int | None
    project_supporters: int | None


def _require_enabled() -> None:
    if not get_settings().enabled:
        raise SakaDisabled()


def _activity(as_of: datetime) -> Greatest:
    return Greatest(Coalesce(F("last_activity_at"), Value(as_of)), Value(as_of))


def harvest_limit_check(
    *, member_id: int, reason: str, amount: int, as_of: datetime
) -> tuple[int, int | None]:
    """Under the member's lock: how much of the limit is used; raise when this grant exceeds it
    (``DailyLimitReached``, ``AdjustmentCapReached``; a check only, nothing written)."""
    harvests = SakaEntry.objects.filter(member_id=member_id, kind=EntryKind.HARVEST, reason=reason)
    if reason == MANUAL_ADJUST:
        since = as_of - timedelta(hours=24)
        # Everything granted after `since` counts, including grants dated after `as_of`:
        # a back-dated grant can never slip under the cap.
        used = harvests.filter(created_at__gt=since).aggregate(total=Coalesce(Sum("amount"), 0))[
            "total"
        ]
        if used + amount > MANUAL_ADJUST_MAX_PER_24H:
            raise AdjustmentCapReached(
                used=used, remaining=MANUAL_ADJUST_MAX_PER_24H - used, cap=MANUAL_ADJUST_MAX_PER_24H
            )
        return used + amount, MANUAL_ADJUST_MAX_PER_24H
    rule = HARVEST_RULES[reason]
    start, end = day_bounds(as_of, get_settings().time_zone)
    used = harvests.filter(created_at__gte=start, created_at__lt=end).count()
    if used >= rule.daily_limit:
        raise DailyLimitReached(reason=reason, daily_limit=rule.daily_limit, used=used)
    return used + 1, rule.daily_limit


def _harvest_amount(*, reason: str, amount: Any, granted_by_id: int | None, member_id: Any) -> int:
    if reason == MANUAL_ADJUST:
        if granted_by_id is None:
            raise NotAllowed("Manual adjustments are granted by staff only.")
        staff_require(
            actor_id=granted_by_id,
            action=ADJUST_ACTION,
            target_type="member",
            target_id=member_id,
            payload={"member_id": member_id, "amount": amount},
        )
        if amount is None:
            raise InvalidAmount("A manual adjustment needs an amount.", field="amount")
        return parse_amount(amount, maximum=MANUAL_ADJUST_MAX_GRANT)
    if not isinstance(reason, str) or reason not in HARVEST_RULES:
        raise UnknownReason(reason=str(reason)[:64], known=[*HARVEST_RULES, MANUAL_ADJUST])
    if amount is not None:
        raise InvalidAmount(
            "The reward of this reason is fixed; send no amount.",
            field="amount",
            reward=HARVEST_RULES[reason].reward,
        )
    return HARVEST_RULES[reason].reward


def harvest_book(
    *,
    wallet: SakaAccount,
    reason: str,
    grant: int,
    granted_by_id: int | None,
    issuance_id: int,
    at: datetime,
    used_today: int | None = None,
    daily_limit: int | None = None,
    balance_before: int | None = None,
) -> SakaEntry:
    """Book a harvest of ``grant`` grains into the locked ``wallet`` (building block: in the
    caller's transaction, after the caller checked the reason's limit under the lock).
    ``used_today``/``daily_limit`` (from ``harvest_limit_check``) and ``balance_before``
    (default: the locked wallet's balance) go into the entry's statement."""
    require_atomic()
    before = wallet.balance if balance_before is None else balance_before
    explanation, calculation = harvest_statement(
        reason=reason,
        grant=grant,
        balance_after=before + grant,
        used_today=used_today,
        daily_limit=daily_limit,
        granted_by_id=granted_by_id,
    )
    entry = SakaEntry(
        kind=EntryKind.HARVEST,
        reason=reason,
        amount=grant,
        member_id=wallet.member_id,
        granted_by_id=granted_by_id,
        created_at=at,
        explanation=explanation,
        calculation=calculation,
    )
    entry_post(
        book=SAKA_BOOK,
        entry=entry,
        postings=[(issuance_id, -grant), (wallet.pk, grant)],
        external_account_ids=frozenset({issuance_id}),
        account_updates={
            wallet.pk: {
                "lifetime_harvested": F("lifetime_harvested") + grant,
                "last_activity_at": _activity(at),
            }
        },
    )
    return entry


def plant_book(
    *,
    wallet: SakaAccount,
    reason: str,
    grains: int,
    project: Project | None,
    planted_id: int,
    at: datetime,
    balance_before: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> SakaEntry:
    """Book a plant of ``grains`` out of the locked ``wallet`` (building block: in the
    caller's transaction, after the caller checked the balance under the lock; the CHECK
    constraint on the balance is the backstop). ``balance_before`` (default: the locked
    wallet's balance) and ``details`` (a poll vote's figures) go into the entry's statement."""
    require_atomic()
    explanation, calculation = plant_statement(
        reason=reason,
        grains=grains,
        balance_after=(wallet.balance if balance_before is None else balance_before) - grains,
        project_id=project.pk if project is not None else None,
        project_name=project.title if project is not None else None,
        details=details,
    )
    entry = SakaEntry(
        kind=EntryKind.PLANT,
        reason=reason,
        amount=grains,
        member_id=wallet.member_id,
        project=project,
        created_at=at,
        explanation=explanation,
        calculation=calculation,
    )
    entry_post(
        book=SAKA_BOOK,
        entry=entry,
        postings=[(wallet.pk, -grains), (planted_id, grains)],
        external_account_ids=frozenset({planted_id}),
        account_updates={
            wallet.pk: {
                "lifetime_planted": F("lifetime_planted") + grains,
                "last_activity_at": _activity(at),
            }
        },
    )
    return entry


def wallet_harvest(
    *,
    member_id: int,
    reason: str,
    amount: int | None = None,
    granted_by_id: int | None = None,
    idempotency_key: str | None = None,
    as_of: datetime | None = None,
) -> HarvestResult:
    """Grant a member grains for ``reason`` (platform or staff, never the member).

    Raises ``UnknownReason``, ``InvalidAmount``, ``DailyLimitReached``,
    ``AdjustmentCapReached``, ``NotAllowed`` (manual adjustment by non-staff),
    ``MemberNotFound``, ``IdempotencyConflict``, ``LockTimeout``, ``SakaDisabled``.
    """
    _require_enabled()
    if as_of is not None:
        check_instant(as_of)
    grant = _harvest_amount(
        reason=reason, amount=amount, granted_by_id=granted_by_id, member_id=member_id
    )
    # before the member check: an adjuster's own account is an operator account, and the
    # refusal that says why is "not your own wallet"
    if reason == MANUAL_ADJUST and granted_by_id == member_id and not isinstance(member_id, bool):
        self_action_refuse(
            actor_id=granted_by_id,
            action=ADJUST_ACTION,
            target_type="member",
            target_id=granted_by_id,
            payload={"member_id": granted_by_id, "amount": grant},
        )
    member_id = member_require(member_id)
    # System accounts are created (once) outside the member's transaction: a first harvest
    # never makes other members wait on an uncommitted row.
    issuance_id = system_account_id(AccountKind.ISSUANCE)
    scope = f"saka.harvest:{granted_by_id or 'system'}"
    # the normalised request: ``100`` and ``"100"`` are one grant (saka.ledger.idempotency)
    payload = {"member_id": member_id, "reason": reason, "amount": grant}

    def book() -> HarvestResult:
        wallet = wallet_lock_or_create(member_id=member_id)
        at = as_of or now()  # read under the lock: limits see grants in commit order
        used, limit = harvest_limit_check(
            member_id=member_id, reason=reason, amount=grant, as_of=at
        )
        entry = harvest_book(
            wallet=wallet,
            reason=reason,
            grant=grant,
            granted_by_id=granted_by_id,
            issuance_id=issuance_id,
            at=at,
            used_today=used,
            daily_limit=limit,
        )
        if reason == MANUAL_ADJUST:
            audit_record(
                actor_id=granted_by_id,
                action=ADJUST_ACTION,
                target_type="member",
                target_id=member_id,
                payload={"member_id": member_id, "amount": grant, "entry_id": entry.pk},
            )
        return HarvestResult(
            entry_id=entry.pk,
            member_id=member_id,
            reason=reason,
            amount=grant,
            balance=wallet.balance + grant,
            created_at=at.isoformat(),
            used_today=used,
            daily_limit=limit,
        )

    with durable():
        return idempotent(
            scope=scope, key=idempotency_key, payload=payload, result_type=HarvestResult, book=book
        )


def wallet_plant(
    *,
    member_id: int,
    amount: int,
    reason: str = "plant",
    project_id: int | None = None,
    idempotency_key: str | None = None,
    as_of: datetime | None = None,
) -> PlantResult:
    """Spend ``amount`` grains of the member's wallet (they leave circulation).

    With ``project_id`` the grains boost that project (score and distinct supporters).
    Raises ``InvalidAmount``, ``InsufficientBalance``, ``ProjectNotFound``,
    ``ValidationError`` (reason), ``IdempotencyConflict``, ``LockTimeout``, ``SakaDisabled``.
    """
    _require_enabled()
    if as_of is not None:
        check_instant(as_of)
    grains = parse_amount(amount)
    member_id = member_require(member_id)  # an operator account has no grains to plant
    if not isinstance(reason, str) or not PLANT_REASON_RE.match(reason):
        raise ValidationError("reason is 1 to 32 lowercase letters, digits or _.", field="reason")
    project = project_get(project_id=project_id) if project_id is not None else None
    planted_id = system_account_id(AccountKind.PLANTED)
    scope = f"saka.plant:{member_id}"
    payload = {
        "amount": grains,
        "reason": reason,
        "project_id": project.pk if project is not None else None,
    }

    def book() -> PlantResult:
        wallet = wallet_lock(member_id=member_id)
        at = as_of or now()
        balance = wallet.balance if wallet is not None else 0
        if wallet is None or balance < grains:
            raise InsufficientBalance(available=balance, requested=grains)
        entry = plant_book(
            wallet=wallet,
            reason=reason,
            grains=grains,
            project=project,
            planted_id=planted_id,
            at=at,
        )
        score = supporters = None
        if project is not None:
            # Under the member's wallet lock: no concurrent plant by this member can race here.
            new_supporter = not ProjectSupporter.objects.filter(
                project=project, member_id=member_id
            ).exists()
            if new_supporter:
                ProjectSupporter.objects.create(
                    project=project, member_id=member_id, first_planted_at=at
                )
            # a pending delta, never the project row (members boosting it would queue there)
            project_boost_record(project_id=project.pk, grains=grains, new_supporter=new_supporter)
            score, supporters = project_totals(project_id=project.pk)
        return PlantResult(
            entry_id=entry.pk,
            member_id=member_id,
            reason=reason,
            amount=grains,
            balance=balance - grains,
            created_at=at.isoformat(),
            project_id=project.pk if project is not None else None,
            project_score=score,
            project_supporters=supporters,
        )

    with durable():
        return idempotent(
            scope=scope, key=idempotency_key, payload=payload, result_type=PlantResult, book=book
        )


def project_boost(
    *,
    member_id: int,
    project_id: int,
    amount: int | None = None,
    idempotency_key: str | None = None,
    as_of: datetime | None = None,
) -> PlantResult:
    """Plant grains on a project (default cost ``SAKA_BOOST_COST``)."""
    return wallet_plant(
        member_id=member_id,
        amount=get_settings().boost_cost if amount is None else amount,
        reason=PROJECT_BOOST,
        project_id=project_id,
        idempotency_key=idempotency_key,
        as_of=as_of,
    )
