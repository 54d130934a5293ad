"""Staff roles in the admin: the campaigns' actions are offered to, and work for, the role
that holds their permission only; what they do is audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from saka.audit.models import AuditRecord, Outcome
from saka.euro.models import Campaign, CampaignStatus, SettlementRun
from tests.support.euro import close, open_campaign

pytestmark = pytest.mark.django_db

CAMPAIGNS = "/admin/euro/campaign/"


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_settler_closes_a_campaign_from_the_admin_and_it_is_audited(
    make_user: Any, project: Any
) -> None:
    # given an open campaign and a campaign settler in the admin
    campaign = open_campaign(project)
    settler = make_user(staff=True, roles=["campaign_settler"])
    client = _client(settler)
    # when they see the list and close the campaign with the action
    listed = client.get(CAMPAIGNS)
    client.post(CAMPAIGNS, {"action": "close_failed", "_selected_action": [campaign.pk]})
    # then the actions were offered, the campaign is closed and the change audited
    assert listed.status_code == 200
    assert "close_failed" in listed.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.FAILED
    record = AuditRecord.objects.get(action="euro.campaign.status")
    assert (record.actor_id, record.outcome, record.payload["status"]) == (
        settler.pk,
        Outcome.SUCCEEDED,
        "failed",
    )


@pytest.mark.parametrize("role", ["auditor", "run_operator"])
def test_other_roles_see_campaigns_but_cannot_close_or_settle_them(
    make_user: Any, project: Any, role: str
) -> None:
    # given an open and a closed campaign, and staff with a role without campaign permissions
    campaign = open_campaign(project)
    closed = close(open_campaign(make_user_project(make_user)), CampaignStatus.SUCCEEDED)
    client = _client(make_user(staff=True, roles=[role]))
    # when they open the list and post the close and settle actions anyway
    listed = client.get(CAMPAIGNS)
    client.post(CAMPAIGNS, {"action": "close_failed", "_selected_action": [campaign.pk]})
    client.post(CAMPAIGNS, {"action": "settle", "_selected_action": [closed.pk]})
    add = client.get(f"{CAMPAIGNS}add/")
    # then they see the list without the actions, and nothing changed
    assert listed.status_code == 200
    assert "close_failed" not in listed.content.decode()
    assert add.status_code == 403
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.OPEN
    assert not SettlementRun.objects.exists()


def make_user_project(make_user: Any) -> Any:
    from saka.projects.services import project_create

    return project_create(owner_id=make_user().pk, title="Orchard")
