"""Seasons in the admin: the list, the add form calling ``season_create`` (its refusals shown
on the form, nothing saved), the activate action (``manage_policy`` only)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from saka.grains.models import Season
from saka.grains.seasons.services import season_create
from tests.support.clock import A

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)
CHANGELIST = reverse("admin:grains_season_changelist")
ADD = reverse("admin:grains_season_add")


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _form(name: str, start: Any, end: Any) -> dict[str, str]:
    return {
        "name": name,
        "starts_at_0": start.strftime("%Y-%m-%d"),
        "starts_at_1": start.strftime("%H:%M:%S"),
        "ends_at_0": end.strftime("%Y-%m-%d"),
        "ends_at_1": end.strftime("%H:%M:%S"),
    }


@pytest.fixture
def maker(make_user: Any) -> Any:
    return make_user(staff=True, roles=["policy_maker"])


def test_a_policy_maker_adds_and_activates_seasons(maker: Any) -> None:
    client = _client(maker)
    # when a policy maker adds a season through the form
    response = client.post(ADD, _form("Spring", A, A + 90 * DAY))
    # then the service created it (slugged, by them)
    assert response.status_code == 302, response.content[:800]
    season = Season.objects.get()
    assert (season.slug, season.created_by_id, season.is_active) == ("spring", maker.pk, False)
    # and the list shows it; the activate action makes it the active one
    assert "Spring" in client.get(CHANGELIST).content.decode()
    client.post(CHANGELIST, {"action": "activate", "_selected_action": [season.pk]})
    season.refresh_from_db()
    assert season.is_active


def test_an_overlapping_season_is_refused_on_the_form(maker: Any) -> None:
    # given a season
    season_create(name="Spring", starts_at=A, ends_at=A + 90 * DAY, created_by_id=None)
    # when an overlapping one is added
    response = _client(maker).post(ADD, _form("Other", A + DAY, A + 2 * DAY))
    # then the form shows the service's refusal and nothing is saved
    assert response.status_code == 200
    assert "Seasons may not overlap" in response.content.decode()
    assert Season.objects.count() == 1


def test_an_auditor_sees_the_list_but_cannot_add_or_activate(make_user: Any) -> None:
    season = season_create(name="Spring", starts_at=A, ends_at=A + 90 * DAY, created_by_id=None)
    client = _client(make_user(staff=True, roles=["auditor"]))
    assert client.get(CHANGELIST).status_code == 200
    assert client.get(ADD).status_code == 403
    client.post(CHANGELIST, {"action": "activate", "_selected_action": [season.pk]})
    season.refresh_from_db()
    assert not season.is_active
