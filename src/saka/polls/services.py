"""Poll writes: creation (staff, audited), the validation of a ballot and the record of a vote.

A vote's SAKA part (spending for weight, the ``poll_vote`` harvest) is
``saka.grains.votes.poll_vote``: it validates with :func:`ballot_validate`, then calls the
building block :func:`vote_record` in its transaction, under the member's wallet lock (which
serialises a member's votes: a re-vote never races another).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from saka.audit.services import audit_record, staff_require
from saka.core.clock import as_of_or_now, check_instant
from saka.core.db import durable, require_atomic
from saka.core.errors import ValidationError
from saka.polls.errors import InvalidBallot, PollClosed
from saka.polls.models import Ballot, Poll, PollMethod, PollOption, Vote
from saka.polls.selectors import poll_get
from saka.polls.weights import MAX_INTENSITY, MIN_INTENSITY

CREATE_ACTION = "polls.poll.create"
MAX_OPTIONS = 50
MAX_POINTS_LIMIT = 10**6


@dataclass(frozen=True)
class CheckedBallot:
    """A member's ballots after validation: ``(option_id, points)`` sorted by option."""

    poll: Poll
    ballots: tuple[tuple[int, int], ...]
    intensity: int


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def poll_create(
    *,
    actor_id: int | None,
    title: str,
    method: str,
    options: list[str],
    opens_at: datetime,
    closes_at: datetime,
    max_points: int = 100,
) -> Poll:
    """Open a poll with its options (staff ``manage_polls``, ``RoleRequired`` otherwise;
    ``None`` is the system). Raises ``ValidationError``."""
    staff_require(
        actor_id=actor_id,
        action=CREATE_ACTION,
        target_type="poll",
        payload={"title": str(title)[:200], "method": str(method)[:16]},
    )
    title = (title or "").strip() if isinstance(title, str) else ""
    if not 1 <= len(title) <= 200:
        raise ValidationError("A poll title has 1 to 200 characters.", field="title")
    if method not in PollMethod.values:
        raise ValidationError("method is single or quadratic.", field="method")
    if not _is_int(max_points) or not 1 <= max_points <= MAX_POINTS_LIMIT:
        raise ValidationError(
            f"max_points is an integer in 1..{MAX_POINTS_LIMIT}.", field="max_points"
        )
    if not isinstance(options, list | tuple) or not 2 <= len(options) <= MAX_OPTIONS:
        raise ValidationError(f"A poll has 2 to {MAX_OPTIONS} options.", field="options")
    labels = [o.strip() if isinstance(o, str) else "" for o in options]
    if any(not 1 <= len(label) <= 200 for label in labels):
        raise ValidationError("An option's label has 1 to 200 characters.", field="options")
    if len(set(labels)) != len(labels):
        raise ValidationError("Options' labels are distinct.", field="options")
    check_instant(opens_at, field="opens_at")
    check_instant(closes_at, field="closes_at")
    if closes_at <= opens_at:
        raise ValidationError("closes_at must be after opens_at.", field="closes_at")
    with durable():
        poll = Poll.objects.create(
            title=title,
            method=method,
            max_points=max_points,
            opens_at=opens_at,
            closes_at=closes_at,
            created_by_id=actor_id,
        )
        PollOption.objects.bulk_create(
            PollOption(poll=poll, label=label, position=i) for i, label in enumerate(labels, 1)
        )
        audit_record(
            actor_id=actor_id,
            action=CREATE_ACTION,
            target_type="poll",
            target_id=poll.pk,
            payload={"title": title, "method": method, "options": len(labels)},
        )
        return poll


def _ballot_items(ballots: Any) -> list[tuple[Any, Any]]:
    if not isinstance(ballots, list | tuple) or not ballots:
        raise InvalidBallot("A vote has at least one ballot.", field="ballots")
    items = []
    for ballot in ballots:
        if not isinstance(ballot, dict) or "option_id" not in ballot:
            raise InvalidBallot("A ballot is {option_id, points}.", field="ballots")
        items.append((ballot["option_id"], ballot.get("points")))
    return items


def poll_open_check(*, poll: Poll, at: datetime) -> None:
    """Raise ``PollClosed`` unless ``poll`` takes votes at ``at`` (opens_at <= at < closes_at).
    The vote checks it again under the member's lock, at the instant it books."""
    if not poll.opens_at <= at < poll.closes_at:
        raise PollClosed(poll_id=poll.pk, opens_at=poll.opens_at, closes_at=poll.closes_at)


def ballot_validate(
    *, poll_id: int, ballots: Any, intensity: Any, as_of: datetime | None = None
) -> CheckedBallot:
    """Check a member's ballots against the poll (open, its options, its method's rules).

    - ``single``: exactly one ballot, ``points`` 1 (or left out), ``intensity`` 1.
    - ``quadratic``: each option of this poll at most once, ``points`` integers ≥ 0,
      0 < Σ points ≤ ``max_points``, ``intensity`` 1..5.

    Raises ``PollNotFound``, ``PollClosed``, ``InvalidBallot`` (``data.field`` says which).
    """
    poll = poll_get(poll_id=poll_id)
    poll_open_check(poll=poll, at=as_of_or_now(as_of))
    if not _is_int(intensity) or not MIN_INTENSITY <= intensity <= MAX_INTENSITY:
        raise InvalidBallot("intensity is an integer in 1..5.", field="intensity")
    items = _ballot_items(ballots)
    option_ids = {option.pk for option in poll.options.all()}  # prefetched by poll_get
    checked: dict[int, int] = {}
    for option_id, points in items:
        if not _is_int(option_id) or option_id not in option_ids:
            raise InvalidBallot("Not an option of this poll.", field="option_id")
        if option_id in checked:
            raise InvalidBallot("An option appears once per vote.", field="option_id")
        if poll.method == PollMethod.SINGLE and points is None:
            points = 1
        if not _is_int(points) or points < 0:
            raise InvalidBallot("points is a non-negative integer.", field="points")
        checked[option_id] = points
    if poll.method == PollMethod.SINGLE:
        if len(checked) != 1 or next(iter(checked.values())) != 1:
            raise InvalidBallot("A single-choice vote is one option with 1 point.", field="ballots")
        if intensity != 1:
            raise InvalidBallot("A single-choice vote has intensity 1.", field="intensity")
    else:
        total = sum(checked.values())
        if total <= 0:
            raise InvalidBallot("A vote gives at least one point.", field="points")
        if total > poll.max_points:
            raise InvalidBallot(
                "The points exceed the poll's max_points.",
                field="points",
                max_points=poll.max_points,
                points=total,
            )
    return CheckedBallot(poll=poll, ballots=tuple(sorted(checked.items())), intensity=intensity)


def vote_matches(*, vote: Vote, checked: CheckedBallot, use_saka: bool) -> bool:
    """Whether ``vote`` (ballots prefetched: ``selectors.vote_get``) is exactly this request:
    a double click."""
    current = tuple(sorted((b.option_id, b.points) for b in vote.ballots.all()))
    return (
        vote.intensity == checked.intensity
        and vote.use_saka == use_saka
        and current == checked.ballots
    )


def vote_record(
    *,
    checked: CheckedBallot,
    member_id: int,
    use_saka: bool,
    spent: int,
    weight: Decimal,
    plant_entry_id: int | None,
    harvest_entry_id: int | None,
    at: datetime,
) -> Vote:
    """Record the member's vote, replacing the ballots of a previous one (building block: in
    the vote's transaction; the caller serialises the member's votes)."""
    require_atomic()
    fields = {
        "intensity": checked.intensity,
        "use_saka": use_saka,
        "spent": spent,
        "weight": weight,
        "plant_entry_id": plant_entry_id,
        "harvest_entry_id": harvest_entry_id,
        "updated_at": at,
    }
    vote = Vote.objects.filter(poll=checked.poll, member_id=member_id).first()
    if vote is None:
        vote = Vote.objects.create(poll=checked.poll, member_id=member_id, created_at=at, **fields)
    else:
        Vote.objects.filter(pk=vote.pk).update(**fields)
        for name, value in fields.items():
            setattr(vote, name, value)
        Ballot.objects.filter(vote=vote).delete()
    Ballot.objects.bulk_create(
        Ballot(vote=vote, option_id=option_id, points=points)
        for option_id, points in checked.ballots
    )
    return vote
