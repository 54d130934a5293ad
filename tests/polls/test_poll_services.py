"""Poll creation (staff, audited) and the validation of ballots, results."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from saka.audit.errors import RoleRequired
from saka.audit.models import AuditRecord
from saka.core.errors import ValidationError
from saka.polls.errors import InvalidBallot, PollClosed, PollNotFound
from saka.polls.models import Poll
from saka.polls.selectors import poll_results
from saka.polls.services import ballot_validate, poll_create
from tests.support.clock import T0
from tests.support.polls import make_poll, option_ids

pytestmark = pytest.mark.django_db


def _create(actor_id, **kwargs):
    kwargs.setdefault("title", "Next project")
    kwargs.setdefault("method", "quadratic")
    kwargs.setdefault("options", ["a", "b"])
    kwargs.setdefault("opens_at", T0)
    kwargs.setdefault("closes_at", T0 + timedelta(days=1))
    return poll_create(actor_id=actor_id, **kwargs)


def test_a_poll_manager_creates_a_poll_audited(make_user):
    # given a poll manager
    manager = make_user(staff=True, roles=["poll_manager"])
    # when
    poll = _create(manager.pk, options=[" a ", "b", "c"])
    # then
    assert poll.max_points == 100
    assert poll.created_by_id == manager.pk
    assert list(poll.options.values_list("label", "position")) == [("a", 1), ("b", 2), ("c", 3)]
    record = AuditRecord.objects.get(action="polls.poll.create")
    assert record.actor_id == manager.pk
    assert record.target_id == str(poll.pk)


def test_staff_without_the_role_is_refused_and_recorded(make_user):
    # given staff holding another role
    adjuster = make_user(staff=True, roles=["saka_adjuster"])
    # when / then
    with pytest.raises(RoleRequired):
        _create(adjuster.pk)
    assert not Poll.objects.exists()
    assert AuditRecord.objects.filter(action="polls.poll.create", outcome="refused").count() == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"title": " "}, "title"),
        ({"method": "ranked"}, "method"),
        ({"options": ["only"]}, "options"),
        ({"options": ["a", "a"]}, "options"),
        ({"options": ["a", ""]}, "options"),
        ({"max_points": 0}, "max_points"),
        ({"max_points": True}, "max_points"),
        ({"closes_at": T0}, "closes_at"),
    ],
)
def test_bad_polls_are_refused(kwargs, field):
    with pytest.raises(ValidationError) as caught:
        _create(None, **kwargs)
    assert caught.value.data["field"] == field


def test_quadratic_ballots_are_checked(poll):
    a, b, c = option_ids(poll)
    ok = ballot_validate(
        poll_id=poll.pk,
        ballots=[{"option_id": c, "points": 60}, {"option_id": a, "points": 40}],
        intensity=5,
        as_of=T0,
    )
    assert ok.ballots == ((a, 40), (c, 60))
    other = make_poll()
    cases = [
        ([{"option_id": a, "points": 101}], 1, "points"),
        ([{"option_id": a, "points": 60}, {"option_id": b, "points": 41}], 1, "points"),
        ([{"option_id": a, "points": 0}], 1, "points"),
        ([{"option_id": a, "points": -1}], 1, "points"),
        ([{"option_id": a, "points": 1.5}], 1, "points"),
        ([{"option_id": a, "points": 1}, {"option_id": a, "points": 1}], 1, "option_id"),
        ([{"option_id": option_ids(other)[0], "points": 1}], 1, "option_id"),
        ([{"option_id": a, "points": 1}], 6, "intensity"),
        ([{"option_id": a, "points": 1}], 0, "intensity"),
        ([], 1, "ballots"),
        ("a", 1, "ballots"),
    ]
    for ballots, intensity, field in cases:
        with pytest.raises(InvalidBallot) as caught:
            ballot_validate(poll_id=poll.pk, ballots=ballots, intensity=intensity, as_of=T0)
        assert caught.value.data["field"] == field, (ballots, intensity)


def test_single_choice_is_one_option_one_point_intensity_one(single_poll):
    a, b, _ = option_ids(single_poll)
    assert ballot_validate(
        poll_id=single_poll.pk, ballots=[{"option_id": a}], intensity=1, as_of=T0
    ).ballots == ((a, 1),)
    for ballots, intensity in [
        ([{"option_id": a}, {"option_id": b}], 1),
        ([{"option_id": a, "points": 2}], 1),
        ([{"option_id": a}], 2),
    ]:
        with pytest.raises(InvalidBallot):
            ballot_validate(poll_id=single_poll.pk, ballots=ballots, intensity=intensity, as_of=T0)


def test_votes_outside_the_window_or_unknown_polls_are_refused(poll):
    a = option_ids(poll)[0]
    ballots = [{"option_id": a, "points": 1}]
    with pytest.raises(PollClosed):
        ballot_validate(poll_id=poll.pk, ballots=ballots, intensity=1, as_of=T0 + timedelta(days=7))
    with pytest.raises(PollClosed):
        ballot_validate(poll_id=poll.pk, ballots=ballots, intensity=1, as_of=T0 - timedelta(days=2))
    with pytest.raises(PollNotFound):
        ballot_validate(poll_id=987654, ballots=ballots, intensity=1, as_of=T0)


def test_results_of_a_poll_without_votes(poll, django_assert_num_queries):
    with django_assert_num_queries(1):
        results = poll_results(poll_id=poll.pk)
    assert [(r.points, r.voters, r.score) for r in results] == [(0, 0, Decimal("0.000000"))] * 3
    with pytest.raises(PollNotFound):
        poll_results(poll_id=987654)
