"""The polls admin: polls with their options inline; votes (and their ballots) read-only."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from saka.grains.votes import poll_vote
from saka.polls.models import Vote
from tests.support.clock import T0
from tests.support.polls import option_ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(django_user_model: Any) -> Client:
    admin = django_user_model.objects.create_superuser("boss", "boss@example.org", "pw")
    client = Client()
    client.force_login(admin)
    return client


def test_polls_and_votes_pages(admin_client_: Client, poll: Any, member: Any) -> None:
    # given a vote
    poll_vote(
        member_id=member.pk,
        poll_id=poll.pk,
        ballots=[{"option_id": option_ids(poll)[0], "points": 10}],
        as_of=T0,
    )
    vote = Vote.objects.get()
    # when / then the pages render
    for url in [
        reverse("admin:polls_poll_changelist"),
        reverse("admin:polls_poll_change", args=[poll.pk]),
        reverse("admin:polls_vote_changelist"),
        reverse("admin:polls_vote_change", args=[vote.pk]),
    ]:
        response = admin_client_.get(url)
        assert response.status_code == 200, url
    assert (
        b"option 1" in admin_client_.get(reverse("admin:polls_poll_change", args=[poll.pk])).content
    )
    # and a vote can be neither added, changed nor deleted
    assert admin_client_.get(reverse("admin:polls_vote_add")).status_code == 403
    assert admin_client_.get(reverse("admin:polls_vote_delete", args=[vote.pk])).status_code == 403
    response = admin_client_.post(
        reverse("admin:polls_vote_change", args=[vote.pk]), {"intensity": 5}
    )
    assert response.status_code == 403
    assert Vote.objects.get().intensity == 1
