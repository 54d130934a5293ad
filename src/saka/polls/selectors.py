"""Poll reads: the list, one poll, a member's vote, the results per option."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, F, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from saka.polls.errors import PollNotFound
from saka.polls.models import Ballot, Poll, PollOption, Vote
from saka.polls.weights import WEIGHT_PLACES

SCORE_FIELD = DecimalField(max_digits=30, decimal_places=6)


@dataclass(frozen=True)
class OptionResult:
    option_id: int
    label: str
    position: int
    points: int
    voters: int
    score: Decimal  # Σ points * weight, 6 places


def _with_options() -> QuerySet[Poll]:
    return Poll.objects.prefetch_related(
        Prefetch("options", queryset=PollOption.objects.order_by("position"))
    )


def poll_list() -> QuerySet[Poll]:
    """Polls, newest first, with their options prefetched."""
    return _with_options().order_by("-id")


def poll_get(*, poll_id: Any) -> Poll:
    try:
        return _with_options().get(pk=poll_id)
    except (Poll.DoesNotExist, ValueError, TypeError, OverflowError) as exc:
        raise PollNotFound(poll_id=poll_id) from exc


def vote_get(*, member_id: int, poll_id: int) -> Vote | None:
    """The member's current vote in the poll (ballots prefetched), ``None`` when none."""
    return (
        Vote.objects.filter(member_id=member_id, poll_id=poll_id)
        .prefetch_related(Prefetch("ballots", queryset=Ballot.objects.order_by("option_id")))
        .first()
    )


def poll_results(*, poll_id: int) -> list[OptionResult]:
    """Per option of the poll: Σ points, the voters giving it points, Σ points * weight (one
    query; exact ``numeric`` on PostgreSQL, brought back to 6 places). Raises ``PollNotFound``
    for an unknown poll (one more query)."""
    rows = list(
        PollOption.objects.filter(poll_id=poll_id)
        .order_by("position")
        .annotate(
            total_points=Coalesce(Sum("ballots__points"), 0),
            voters=Count("ballots", filter=Q(ballots__points__gt=0)),
            score=Coalesce(
                Sum(F("ballots__points") * F("ballots__vote__weight"), output_field=SCORE_FIELD),
                Decimal(0),
                output_field=SCORE_FIELD,
            ),
        )
        .values_list("pk", "label", "position", "total_points", "voters", "score")
    )
    if not rows:
        poll_get(poll_id=poll_id)  # a poll always has options: this raises PollNotFound
    return [
        OptionResult(
            option_id=pk,
            label=label,
            position=position,
            points=int(points),
            voters=int(voters),
            score=Decimal(score).quantize(WEIGHT_PLACES),
        )
        for pk, label, position, points, voters, score in rows
    ]
