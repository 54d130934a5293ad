"""The demo's polls: one quadratic poll open for a fortnight, boosted by SAKA, and one
single-choice poll, each voted by a share of the members through the real vote
(``saka.grains.votes.poll_vote``: grains spent for weight, ``poll_vote`` harvested).

Made once: when the demo's polls exist, nothing is voted again (a second ``saka_demo``
books nothing). Deterministic for a given ``rng``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from saka.grains.votes import poll_vote
from saka.polls.models import Poll
from saka.polls.services import poll_create

QUADRATIC_TITLE = "Which project should the community garden fund first?"
QUADRATIC_OPTIONS = ["Seed bank", "Urban beehives", "Tool library", "Rainwater tank"]
SINGLE_TITLE = "Hold the spring fair on a Saturday or a Sunday?"
SINGLE_OPTIONS = ["Saturday", "Sunday"]


@dataclass(frozen=True)
class PollsBooked:
    polls: int
    votes: int
    spent: int


def polls_book(
    *, member_ids: list[int], staff_id: int, rng: random.Random, today: datetime
) -> PollsBooked:
    """Create the demo's polls and their votes, unless they exist."""
    if Poll.objects.filter(title__in=[QUADRATIC_TITLE, SINGLE_TITLE]).exists():
        return PollsBooked(polls=0, votes=0, spent=0)
    opens = today - timedelta(days=3)
    quadratic = poll_create(
        actor_id=staff_id,
        title=QUADRATIC_TITLE,
        method="quadratic",
        options=QUADRATIC_OPTIONS,
        opens_at=opens,
        closes_at=today + timedelta(days=14),
    )
    single = poll_create(
        actor_id=staff_id,
        title=SINGLE_TITLE,
        method="single",
        options=SINGLE_OPTIONS,
        opens_at=opens,
        closes_at=today + timedelta(days=7),
    )
    q_options = list(quadratic.options.order_by("position").values_list("pk", flat=True))
    s_options = list(single.options.order_by("position").values_list("pk", flat=True))
    votes = spent = 0
    for member_id in member_ids:
        if rng.random() < 0.4:
            # spread 100 points over two or three options, intensity 1..5
            chosen = rng.sample(q_options, rng.choice([2, 3]))
            first = rng.randint(40, 80)
            points = (
                [first, 100 - first]
                if len(chosen) == 2
                else [first, (100 - first) // 2, (100 - first) // 2]
            )
            result = poll_vote(
                member_id=member_id,
                poll_id=quadratic.pk,
                ballots=[
                    {"option_id": o, "points": p} for o, p in zip(chosen, points, strict=True)
                ],
                intensity=rng.randint(1, 5),
                use_saka=rng.random() < 0.8,
                as_of=today,
            )
            votes, spent = votes + 1, spent + result.spent
        if rng.random() < 0.3:
            poll_vote(
                member_id=member_id,
                poll_id=single.pk,
                ballots=[{"option_id": rng.choice(s_options)}],
                as_of=today,
            )
            votes += 1
    return PollsBooked(polls=2, votes=votes, spent=spent)
