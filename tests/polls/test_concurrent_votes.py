"""Double clicks and races on PostgreSQL (real threads, one connection each): identical votes
at once vote once; different votes at once end as one vote, every spend booked."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from saka.grains.models import EntryKind, SakaEntry
from saka.grains.votes import VoteResult, poll_vote
from saka.ledger.reconcile import reconcile
from saka.polls.models import Ballot, Vote
from tests.support.clock import T0
from tests.support.polls import make_poll, option_ids
from tests.support.saka import manual, saka_balance
from tests.support.threads import Worker, run_all

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _funded_member(make_user, amount=100):
    member = make_user()
    staff = make_user(staff=True, roles=["saka_adjuster"])
    manual(member.pk, amount, staff.pk, as_of=T0 - timedelta(days=2))
    return member


@pytest.mark.parametrize("wallet_exists", [True, False], ids=["funded", "new-wallet"])
def test_two_identical_votes_at_once_vote_once(make_user, wallet_exists):
    # given a member and a poll; two identical requests at the same instant (a double click)
    member = _funded_member(make_user) if wallet_exists else make_user()
    if not wallet_exists:
        _funded_member(make_user)  # the system accounts exist
    poll = make_poll()
    ballots = [{"option_id": option_ids(poll)[0], "points": 70}]
    start = threading.Barrier(2)

    def vote():
        return poll_vote(
            member_id=member.pk, poll_id=poll.pk, ballots=ballots, intensity=3, as_of=T0
        )

    workers = [Worker(vote, name=f"v{i}", barrier=start) for i in range(2)]
    # when
    run_all(workers)
    # then one vote, at most one plant, one harvest; the other answered the same vote
    outcomes = [w.outcome for w in workers]
    assert all(isinstance(o, VoteResult) for o in outcomes), outcomes
    assert sorted(o.replayed for o in outcomes) == [False, True]
    assert len({o.vote_id for o in outcomes}) == 1
    assert Vote.objects.count() == 1
    assert Ballot.objects.count() == 1
    plants = SakaEntry.objects.filter(kind=EntryKind.PLANT, reason="poll_vote").count()
    harvests = SakaEntry.objects.filter(kind=EntryKind.HARVEST, reason="poll_vote").count()
    assert (plants, harvests) == ((1, 1) if wallet_exists else (0, 1))
    assert saka_balance(member.pk) == (100 - 15 + 5 if wallet_exists else 5)
    assert reconcile().ok


def test_different_votes_at_once_leave_one_vote_and_every_spend(make_user):
    # given 6 different votes of one member at once
    member = _funded_member(make_user)
    poll = make_poll()
    ids = option_ids(poll)
    start = threading.Barrier(6)

    def vote(i):
        return lambda: poll_vote(
            member_id=member.pk,
            poll_id=poll.pk,
            ballots=[{"option_id": ids[i % 3], "points": 10 + i}],
            intensity=1,
            as_of=T0,
        )

    workers = [Worker(vote(i), name=f"v{i}", barrier=start) for i in range(6)]
    # when
    run_all(workers)
    # then all are booked in turn (each a re-vote of the previous one): one vote, 6 plants
    outcomes = [w.outcome for w in workers]
    assert all(isinstance(o, VoteResult) and not o.replayed for o in outcomes), outcomes
    assert Vote.objects.count() == 1
    assert Ballot.objects.count() == 1
    assert SakaEntry.objects.filter(kind=EntryKind.PLANT, reason="poll_vote").count() == 6
    assert saka_balance(member.pk) == 100 - 6 * 5 + 6 * 5
    vote = Vote.objects.get()
    last = max(outcomes, key=lambda o: o.plant_entry_id)
    assert vote.plant_entry_id == last.plant_entry_id
    assert reconcile().ok
