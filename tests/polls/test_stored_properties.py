"""What a vote stores never holds a float: random votes (intensity, balance, ballots, re-votes)
store an integer ``spent`` and a ``Decimal`` weight of exactly 6 places equal to the pure
function's, and the results are Decimals (hypothesis, against the database)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saka.grains.votes import poll_vote
from saka.polls.models import Vote
from saka.polls.selectors import poll_results
from saka.polls.weights import vote_cost, vote_weight
from tests.support.clock import T0
from tests.support.polls import make_poll, option_ids
from tests.support.saka import manual

pytestmark = pytest.mark.django_db

votes = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=5),  # intensity
        st.lists(st.integers(min_value=0, max_value=40), min_size=3, max_size=3).filter(
            lambda points: sum(points) > 0
        ),
        st.booleans(),  # use_saka
    ),
    min_size=1,
    max_size=4,
)


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(balance=st.integers(min_value=0, max_value=60), sequence=votes)
def test_stored_weights_and_spends_are_exact(make_user, balance, sequence):
    # given a member with some grains and a poll
    member = make_user()
    if balance:
        staff = make_user(staff=True, roles=["saka_adjuster"])
        manual(member.pk, balance, staff.pk, as_of=T0 - timedelta(days=2))
    poll = make_poll()
    ids = option_ids(poll)
    for intensity, points, use_saka in sequence:
        # when the member votes (or re-votes)
        result = poll_vote(
            member_id=member.pk,
            poll_id=poll.pk,
            ballots=[{"option_id": i, "points": p} for i, p in zip(ids, points, strict=True)],
            intensity=intensity,
            use_saka=use_saka,
            as_of=T0,
        )
        # then what is stored is exact, and what the pure functions say
        vote = Vote.objects.get(pk=result.vote_id)
        assert type(vote.spent) is int
        assert vote.spent in (0, vote_cost(intensity))
        assert type(vote.weight) is Decimal
        assert vote.weight.as_tuple().exponent == -6
        assert vote.weight == vote_weight(intensity, vote.spent)
        assert str(vote.weight) == result.weight
    for row in poll_results(poll_id=poll.pk):
        assert type(row.score) is Decimal
        assert row.score.as_tuple().exponent == -6
