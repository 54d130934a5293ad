"""A poll vote boosted by SAKA: spend grains for weight, record the ballots, harvest
``poll_vote``, in one transaction (as a boost: ``services.wallet_plant`` calling
``projects.project_boost_record``).

Under the member's wallet lock (which also serialises the member's votes):

1. the ballots are checked against the poll (``saka.polls.services.ballot_validate``);
2. a vote identical to the member's current one (same ballots, intensity and ``use_saka``) is
   a double click: nothing is booked, the current vote is answered (``replayed``);
3. with SAKA on, ``SAKA_POLLS_SAKA_VOTING`` on, ``use_saka`` and a balance ≥ the cost
   (``intensity * SAKA_VOTE_COST_PER_INTENSITY``), a PLANT (reason ``poll_vote``) of the cost
   is booked and the weight is ``vote_weight(intensity, cost)``; else nothing is spent and the
   weight is ``sqrt(intensity)`` (``spend_skipped`` says why);
4. the ballots are recorded, replacing the previous vote's (a re-vote spends again);
5. ``poll_vote`` is harvested (+5) unless its daily limit is reached (the vote still counts;
   ``harvest_skipped`` says why) or SAKA is off.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from saka.core.clock import check_instant, now
from saka.core.db import durable
from saka.core.members import member_require
from saka.grains.accounts import system_account_id
from saka.grains.conf import HARVEST_RULES, POLL_VOTE
from saka.grains.conf import get_settings as saka_settings
from saka.grains.errors import DailyLimitReached
from saka.grains.lock_objects import wallet_lock_or_create
from saka.grains.models import AccountKind
from saka.grains.services import harvest_book, harvest_limit_check, plant_book
from saka.ledger.idempotency import idempotent
from saka.polls.conf import get_settings as poll_settings
from saka.polls.errors import InvalidBallot
from saka.polls.models import Vote
from saka.polls.selectors import vote_get
from saka.polls.services import ballot_validate, poll_open_check, vote_matches, vote_record
from saka.polls.weights import vote_cost, vote_weight


@dataclass(frozen=True)
class VoteResult:
    vote_id: int
    poll_id: int
    member_id: int
    intensity: int
    use_saka: bool
    spent: int
    weight: str  # exact decimal, 6 places
    ballots: list[dict[str, int]]
    plant_entry_id: int | None
    harvest_entry_id: int | None
    harvested: int
    balance: int
    # why nothing was spent: saka_disabled, saka_voting_off, not_requested,
    # insufficient_balance; None when the vote spent
    spend_skipped: str | None = None
    # why nothing was harvested: saka_disabled, daily_limit_reached; None when harvested
    harvest_skipped: str | None = None
    replayed: bool = False
    updated_at: str = field(default="")


def _result(
    vote: Vote,
    *,
    ballots: Iterable[tuple[int, int]],
    harvested: int,
    balance: int,
    **extra: Any,
) -> VoteResult:
    return VoteResult(
        vote_id=vote.pk,
        poll_id=vote.poll_id,
        member_id=vote.member_id,
        intensity=vote.intensity,
        use_saka=vote.use_saka,
        spent=vote.spent,
        weight=str(vote.weight),
        ballots=[{"option_id": o, "points": p} for o, p in sorted(ballots)],
        plant_entry_id=vote.plant_entry_id,
        harvest_entry_id=vote.harvest_entry_id,
        harvested=harvested,
        balance=balance,
        updated_at=vote.updated_at.isoformat(),
        **extra,
    )


def poll_vote(
    *,
    member_id: int,
    poll_id: int,
    ballots: list[dict[str, Any]],
    intensity: int = 1,
    use_saka: bool = True,
    idempotency_key: str | None = None,
    as_of: datetime | None = None,
) -> VoteResult:
    """Vote in a poll, spending grains for weight when SAKA voting applies (module docstring).

    Raises ``PollNotFound``, ``PollClosed``, ``InvalidBallot``, ``MemberNotFound``,
    ``IdempotencyConflict``, ``LockTimeout``.
    """
    if as_of is not None:
        check_instant(as_of)
    if not isinstance(use_saka, bool):
        raise InvalidBallot("use_saka is true or false.", field="use_saka")
    member_id = member_require(member_id)
    checked = ballot_validate(poll_id=poll_id, ballots=ballots, intensity=intensity, as_of=as_of)
    saka_on = saka_settings().enabled
    voting = poll_settings()
    cost = vote_cost(checked.intensity, per_intensity=voting.vote_cost_per_intensity)
    planted_id = issuance_id = 0
    if saka_on:  # system accounts are created outside the member's transaction
        planted_id = system_account_id(AccountKind.PLANTED)
        issuance_id = system_account_id(AccountKind.ISSUANCE)
    payload = {
        "poll_id": checked.poll.pk,
        "ballots": [list(b) for b in checked.ballots],
        "intensity": checked.intensity,
        "use_saka": use_saka,
    }

    def book() -> VoteResult:
        wallet = wallet_lock_or_create(member_id=member_id)
        at = as_of or now()  # read under the lock
        # again at the instant of booking: a vote checked just before closes_at and booked
        # after it (it waited for the lock) is refused
        poll_open_check(poll=checked.poll, at=at)
        current = vote_get(member_id=member_id, poll_id=checked.poll.pk)
        if current is not None and vote_matches(vote=current, checked=checked, use_saka=use_saka):
            return _result(
                current,
                ballots=checked.ballots,
                harvested=0,
                balance=wallet.balance,
                replayed=True,
            )
        balance = wallet.balance
        spend_skipped: str | None = None
        if not saka_on:
            spend_skipped = "saka_disabled"
        elif not voting.saka_voting:
            spend_skipped = "saka_voting_off"
        elif not use_saka:
            spend_skipped = "not_requested"
        elif balance < cost:
            spend_skipped = "insufficient_balance"
        plant_entry_id = None
        spent = 0
        if spend_skipped is None:
            plant = plant_book(
                wallet=wallet,
                reason=POLL_VOTE,
                grains=cost,
                project=None,
                planted_id=planted_id,
                at=at,
                balance_before=balance,
                details={
                    "poll_id": checked.poll.pk,
                    "poll_title": checked.poll.title,
                    "intensity": checked.intensity,
                    "cost_per_intensity": voting.vote_cost_per_intensity,
                },
            )
            plant_entry_id, spent, balance = plant.pk, cost, balance - cost
        weight = vote_weight(
            checked.intensity, spent, max_multiplier=voting.max_multiplier, scale=voting.scale
        )
        harvest_entry_id = None
        harvested = 0
        harvest_skipped: str | None = None
        if not saka_on:
            harvest_skipped = "saka_disabled"
        else:
            reward = HARVEST_RULES[POLL_VOTE].reward
            try:
                used, limit = harvest_limit_check(
                    member_id=member_id, reason=POLL_VOTE, amount=reward, as_of=at
                )
            except DailyLimitReached:
                harvest_skipped = "daily_limit_reached"
            else:
                harvest = harvest_book(
                    wallet=wallet,
                    reason=POLL_VOTE,
                    grant=reward,
                    granted_by_id=None,
                    issuance_id=issuance_id,
                    at=at,
                    used_today=used,
                    daily_limit=limit,
                    balance_before=balance,
                )
                harvest_entry_id, harvested, balance = harvest.pk, reward, balance + reward
        vote = vote_record(
            checked=checked,
            member_id=member_id,
            use_saka=use_saka,
            spent=spent,
            weight=weight,
            plant_entry_id=plant_entry_id,
            harvest_entry_id=harvest_entry_id,
            at=at,
        )
        return _result(
            vote,
            ballots=checked.ballots,
            harvested=harvested,
            balance=balance,
            spend_skipped=spend_skipped,
            harvest_skipped=harvest_skipped,
        )

    with durable():
        return idempotent(
            scope=f"saka.poll_vote:{member_id}",
            key=idempotency_key,
            payload=payload,
            result_type=VoteResult,
            book=book,
        )
