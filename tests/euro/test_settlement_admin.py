"""The settlements in the admin (``saka.jobs.settlement_admin``): the campaigns' "settle" action
opens the settlement and enqueues its task on commit (run eagerly here); the settlements'
list filters the stalled ones and resumes them."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.test import Client

from saka.euro.models import CampaignStatus, Pledge, PledgeStatus, SettlementRun
from saka.jobs import tasks
from tests.support.euro import (
    close,
    deposit,
    open_campaign,
    seed_pledges,
    settlement_interrupted_in_second_chunk,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(django_user_model: Any) -> Client:
    boss = django_user_model.objects.create_superuser("boss", "boss@example.org", "pw")
    client = Client()
    client.force_login(boss)
    return client


@pytest.fixture
def closed(make_user: Any, project: Any) -> Any:
    members = [make_user() for _ in range(2)]
    for m in members:
        deposit(m, 100_000)
    campaign = open_campaign(project)
    seed_pledges(campaign, members, [100 + i for i in range(9)])
    return close(campaign, CampaignStatus.SUCCEEDED)


def _messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_settle_action_enqueues_the_settlement(
    admin_client_: Client, closed: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # when the admin's "settle" action runs on the campaign (workers run once it commits)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_.post(
            "/admin/euro/campaign/",
            {"action": "settle", "_selected_action": [closed.pk]},
            follow=True,
        )
    # then it opened the settlement, said so, and its task settled it
    run = SettlementRun.objects.get(campaign=closed)
    expected = f"settlement #{run.pk} (release) opened, workers sent"
    assert any(expected in m for m in _messages(response)), _messages(response)
    assert (run.status, run.trigger, run.pledges_done) == ("done", "admin", 9)
    assert Pledge.objects.filter(status=PledgeStatus.RELEASED).count() == 9
    # and a second time it sends nothing and says how the settlement ended
    with mock.patch.object(tasks.settlement_run, "delay") as delay:
        again = admin_client_.post(
            "/admin/euro/campaign/",
            {"action": "settle", "_selected_action": [closed.pk]},
            follow=True,
        )
    delay.assert_not_called()
    assert any("already done (completed, 9 pledges)" in m for m in _messages(again))


def test_the_settle_action_reports_a_refusal(admin_client_: Client, project: Any) -> None:
    campaign = open_campaign(project)
    response = admin_client_.post(
        "/admin/euro/campaign/",
        {"action": "settle", "_selected_action": [campaign.pk]},
        follow=True,
    )
    assert any("still open" in m for m in _messages(response)), _messages(response)
    assert not SettlementRun.objects.exists()


def test_stalled_settlements_are_listed_and_resumed(
    admin_client_: Client,
    closed: Any,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a settlement interrupted in its second chunk
    run = settlement_interrupted_in_second_chunk(monkeypatch, closed.pk, 3)
    # then the list shows it among the stalled ones
    listing = admin_client_.get("/admin/euro/settlementrun/?stalled=yes")
    assert listing.status_code == 200
    assert [r.pk for r in listing.context["cl"].result_list] == [run.pk]
    # when the resume action runs on it (its task runs once the action commits)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_.post(
            "/admin/euro/settlementrun/",
            {"action": "resume_settlements", "_selected_action": [run.pk]},
            follow=True,
        )
    # then workers were sent and finished it; it is no longer stalled
    assert any(f"Workers sent to 1 settlement(s) [{run.pk}]" in m for m in _messages(response))
    run = SettlementRun.objects.get(pk=run.pk)
    assert (run.status, run.attempts, run.pledges_done) == ("done", 2, 9)
    listing = admin_client_.get("/admin/euro/settlementrun/?stalled=yes")
    assert list(listing.context["cl"].result_list) == []
