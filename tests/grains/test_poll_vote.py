"""A poll vote boosted by SAKA (saka.grains.votes.poll_vote): spending for weight, the
poll_vote harvest, re-votes, double clicks, insufficient balance, SAKA off, results."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from saka.grains.models import EntryKind, SakaEntry
from saka.grains.votes import VoteResult, poll_vote
from saka.ledger.errors import IdempotencyConflict
from saka.polls.errors import InvalidBallot, PollClosed
from saka.polls.models import Ballot, Vote
from saka.polls.selectors import poll_results, vote_get
from tests.support.clock import T0
from tests.support.polls import make_poll, option_ids
from tests.support.saka import harvest, manual, saka_balance

pytestmark = pytest.mark.django_db


def _fund(member, amount, make_user):
    staff = make_user(staff=True, roles=["saka_adjuster"])
    manual(member.pk, amount, staff.pk, as_of=T0 - timedelta(days=2))


def _vote(member, poll, points=None, **kwargs):
    ids = option_ids(poll)
    points = points or {0: 100}
    kwargs.setdefault("as_of", T0)
    kwargs.setdefault("intensity", 1)
    return poll_vote(
        member_id=member.pk,
        poll_id=poll.pk,
        ballots=[{"option_id": ids[i], "points": p} for i, p in points.items()],
        **kwargs,
    )


def test_the_original_platform_case_balance_50_intensity_3(member, poll, make_user):
    # given a member with 50 grains
    _fund(member, 50, make_user)
    # when they vote with intensity 3
    result = _vote(member, poll, {0: 60, 1: 40}, intensity=3)
    # then 15 are spent, 5 harvested, 40 left, the weight is above 1
    assert result.spent == 15
    assert result.harvested == 5
    assert result.balance == 40
    assert saka_balance(member.pk) == 40
    assert Decimal(result.weight) > 1
    assert result.weight == "1.861954"
    assert result.spend_skipped is None
    assert result.harvest_skipped is None
    plant = SakaEntry.objects.get(pk=result.plant_entry_id)
    assert (plant.kind, plant.reason, plant.amount, plant.project_id) == (
        EntryKind.PLANT,
        "poll_vote",
        15,
        None,
    )
    harvested = SakaEntry.objects.get(pk=result.harvest_entry_id)
    assert (harvested.kind, harvested.reason, harvested.amount) == (
        EntryKind.HARVEST,
        "poll_vote",
        5,
    )
    vote = Vote.objects.get()
    assert vote.weight == Decimal("1.861954")
    assert isinstance(vote.weight, Decimal)


@pytest.mark.parametrize("intensity", [1, 2, 3, 4, 5])
def test_cost_and_weight_at_every_intensity(member, poll, make_user, intensity):
    # given enough grains
    _fund(member, 100, make_user)
    # when
    result = _vote(member, poll, intensity=intensity)
    # then
    expected = {1: "1.025000", 2: "1.484924", 3: "1.861954", 4: "2.200000", 5: "2.515576"}
    assert result.spent == 5 * intensity
    assert result.weight == expected[intensity]
    assert saka_balance(member.pk) == 100 - 5 * intensity + 5


def test_too_little_balance_still_counts_without_spending(member, poll):
    # given a member with 4 grains (less than 5 x 1)
    harvest(member.pk, "content_read", as_of=T0 - timedelta(days=2))  # 10
    # when they vote with intensity 3 (cost 15)
    result = _vote(member, poll, intensity=3)
    # then nothing is spent, weight sqrt(3), the harvest still comes
    assert result.spent == 0
    assert result.plant_entry_id is None
    assert result.spend_skipped == "insufficient_balance"
    assert result.weight == "1.732050"
    assert result.harvested == 5
    assert saka_balance(member.pk) == 15


def test_use_saka_false_and_saka_voting_off_spend_nothing(member, poll, make_user, settings):
    _fund(member, 100, make_user)
    assert _vote(member, poll, intensity=4, use_saka=False).spend_skipped == "not_requested"
    settings.SAKA_POLLS_SAKA_VOTING = False
    result = _vote(member, poll, intensity=4)
    assert (result.spend_skipped, result.spent, result.weight) == ("saka_voting_off", 0, "2.000000")
    assert not SakaEntry.objects.filter(kind=EntryKind.PLANT).exists()


def test_saka_disabled_counts_the_vote_and_books_nothing(member, poll, settings):
    # given SAKA switched off entirely
    settings.SAKA_ENABLED = False
    # when
    result = _vote(member, poll, intensity=2)
    # then
    assert (result.spent, result.harvested, result.weight) == (0, 0, "1.414213")
    assert (result.spend_skipped, result.harvest_skipped) == ("saka_disabled", "saka_disabled")
    assert not SakaEntry.objects.exists()
    assert Vote.objects.count() == 1


def test_a_re_vote_replaces_the_ballots_and_spends_again(member, poll, make_user):
    # given a first vote
    _fund(member, 100, make_user)
    first = _vote(member, poll, {0: 100}, intensity=2)
    # when the member votes again, differently
    second = _vote(member, poll, {1: 30, 2: 70}, intensity=4)
    # then one vote, the new ballots, spent again, harvested again
    assert second.vote_id == first.vote_id
    ids = option_ids(poll)
    assert second.ballots == [
        {"option_id": ids[1], "points": 30},
        {"option_id": ids[2], "points": 70},
    ]
    assert Ballot.objects.count() == 2
    assert second.spent == 20
    assert saka_balance(member.pk) == 100 - 10 + 5 - 20 + 5
    assert SakaEntry.objects.filter(kind=EntryKind.PLANT, reason="poll_vote").count() == 2
    vote = vote_get(member_id=member.pk, poll_id=poll.pk)
    assert vote is not None
    assert (vote.intensity, vote.spent, vote.weight) == (4, 20, Decimal("2.200000"))


def test_an_identical_vote_is_a_double_click(member, poll, make_user):
    # given a vote
    _fund(member, 100, make_user)
    first = _vote(member, poll, {0: 50, 1: 50}, intensity=3)
    # when the very same vote comes again
    again = _vote(member, poll, {1: 50, 0: 50}, intensity=3)
    # then nothing is booked: the current vote is answered
    assert again.replayed is True
    assert again.vote_id == first.vote_id
    assert (again.spent, again.weight, again.harvested) == (15, first.weight, 0)
    assert saka_balance(member.pk) == 90
    assert SakaEntry.objects.filter(reason="poll_vote").count() == 2
    # but another use_saka is a re-vote
    assert _vote(member, poll, {0: 50, 1: 50}, intensity=3, use_saka=False).replayed is False


def test_an_idempotency_key_replays_and_conflicts(member, poll, make_user):
    _fund(member, 100, make_user)
    first = _vote(member, poll, intensity=2, idempotency_key="k1")
    again = _vote(member, poll, intensity=2, idempotency_key="k1")
    assert again == first
    with pytest.raises(IdempotencyConflict):
        _vote(member, poll, intensity=3, idempotency_key="k1")
    assert isinstance(again, VoteResult)


def test_the_daily_harvest_limit_still_counts_the_vote(member, make_user):
    # given 10 poll_vote harvests today already (the daily limit)
    _fund(member, 200, make_user)
    polls = [make_poll() for _ in range(11)]
    for poll in polls[:10]:
        assert _vote(member, poll).harvested == 5
    # when an 11th vote comes the same day
    result = _vote(member, polls[10], intensity=2)
    # then it counts and spends, harvests nothing, says why
    assert result.harvested == 0
    assert result.harvest_entry_id is None
    assert result.harvest_skipped == "daily_limit_reached"
    assert result.spent == 10
    assert Vote.objects.filter(poll=polls[10]).exists()
    # the next day harvests again
    assert _vote(member, polls[10], intensity=3, as_of=T0 + timedelta(days=1)).harvested == 5


def test_invalid_or_closed_votes_book_nothing(member, poll, make_user):
    _fund(member, 100, make_user)
    with pytest.raises(InvalidBallot):
        _vote(member, poll, {0: 101})
    with pytest.raises(PollClosed):
        _vote(member, poll, as_of=T0 + timedelta(days=30))
    with pytest.raises(InvalidBallot):
        _vote(member, poll, use_saka="yes")
    assert not Vote.objects.exists()
    assert not SakaEntry.objects.filter(reason="poll_vote").exists()


def test_a_vote_booked_after_the_poll_closed_is_refused(member, make_user, monkeypatch):
    # given a poll that closes at T0, a funded member, and a vote checked just before T0
    # whose booking (after waiting for the member's lock) happens at T0
    import saka.grains.votes as votes

    poll = make_poll(opens_at=T0 - timedelta(days=1), closes_at=T0)
    _fund(member, 100, make_user)
    monkeypatch.setattr("saka.polls.services.as_of_or_now", lambda as_of: T0 - timedelta(seconds=1))
    monkeypatch.setattr(votes, "now", lambda: T0)
    # when the member votes (no as_of: the instant is read under the lock)
    with pytest.raises(PollClosed):
        _vote(member, poll, as_of=None, intensity=2)
    # then nothing is booked: no vote, no plant, no harvest
    assert not Vote.objects.exists()
    assert not SakaEntry.objects.filter(reason="poll_vote").exists()
    assert saka_balance(member.pk) == 100


def test_results_are_points_times_weight(member, other_member, poll, make_user):
    # given two votes with different weights
    _fund(member, 100, make_user)
    _vote(member, poll, {0: 60, 1: 40}, intensity=3)  # weight 1.861954
    _vote(other_member, poll, {1: 100}, intensity=1)  # no grains: weight 1
    # when
    results = poll_results(poll_id=poll.pk)
    # then
    assert [(r.points, r.voters, r.score) for r in results] == [
        (60, 1, Decimal("111.717240")),
        (140, 2, Decimal("174.478160")),
        (0, 0, Decimal("0.000000")),
    ]
    assert all(isinstance(r.score, Decimal) for r in results)


def test_vote_query_count(member, poll, make_user, django_assert_max_num_queries):
    # given a first vote
    _fund(member, 100, make_user)
    _vote(member, poll, intensity=1)
    ballots = [{"option_id": option_ids(poll)[0], "points": 100}]
    # when a re-vote spends and harvests: member, poll + options, 2 system accounts, lock,
    # current vote + ballots, plant (3), limit, harvest (3), vote update, ballots (2) and the
    # transaction's savepoint/release statements
    with django_assert_max_num_queries(21):
        poll_vote(member_id=member.pk, poll_id=poll.pk, ballots=ballots, intensity=2, as_of=T0)


@pytest.mark.corrupts_books
def test_reconcile_finds_a_vote_whose_spend_has_no_plant(member, poll, make_user):
    from saka.ledger.reconcile import reconcile

    # given a vote that spent 15
    _fund(member, 100, make_user)
    _vote(member, poll, intensity=3)
    assert reconcile().ok
    # when its record is corrupted (another spend, then no plant at all)
    Vote.objects.update(spent=16)
    # then reconcile names it
    found = [d for d in reconcile().discrepancies if d.check == "poll_votes_match_entries"]
    assert len(found) == 1
    assert found[0].data["spent"] == 16
    Vote.objects.update(spent=15, plant_entry_id=None)
    assert [d.check for d in reconcile().discrepancies] == ["poll_votes_match_entries"]
    Vote.objects.update(spent=0)
    assert reconcile().ok
