"""The EUR admin: the ledger is read-only; campaigns close through services and settle through
the settlement task (``saka.jobs.settlement_admin``: ``test_settlement_admin.py``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from saka.core.clock import now
from saka.euro.models import (
    Campaign,
    CampaignStatus,
    MemberProfile,
    Pledge,
    PledgeStatus,
    SettlementRun,
)
from saka.euro.services.pledges import pledge_create
from saka.euro.services.pockets import pocket_create
from tests.support.euro import deposit, open_campaign

pytestmark = pytest.mark.django_db

READ_ONLY = [
    "euroaccount",
    "euroentry",
    "europosting",
    "pocket",
    "pledge",
    "settlementrun",
    "webhookevent",
]


@pytest.fixture
def admin_client_(django_user_model: Any) -> Client:
    admin = django_user_model.objects.create_superuser("boss", "boss@example.org", "pw")
    client = Client()
    client.force_login(admin)
    return client


@pytest.fixture
def some_books(make_user: Any, project: Any) -> Any:
    member = make_user()
    deposit(member, 5_000, fee=50)
    pocket_create(member_id=member.pk, name="P", percentage="10")
    campaign = open_campaign(project)
    pledge_create(member_id=member.pk, project_id=project.pk, amount=1_000)
    return campaign


@pytest.mark.parametrize("model", READ_ONLY)
def test_ledger_pages_are_read_only(admin_client_: Client, some_books: Any, model: str) -> None:
    listing = admin_client_.get(f"/admin/euro/{model}/")
    assert listing.status_code == 200
    assert admin_client_.get(f"/admin/euro/{model}/add/").status_code == 403


def test_campaigns_are_created_closed_and_settled_through_services(
    admin_client_: Client, some_books: Any, project: Any, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = some_books
    assert admin_client_.get("/admin/euro/campaign/").status_code == 200
    # closing through the action
    response = admin_client_.post(
        "/admin/euro/campaign/",
        {"action": "close_succeeded", "_selected_action": [campaign.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.SUCCEEDED
    # settling through the action: its workers (a Celery task, eager here) run on commit
    with django_capture_on_commit_callbacks(execute=True) as sent:
        admin_client_.post(
            "/admin/euro/campaign/", {"action": "settle", "_selected_action": [campaign.pk]}
        )
    assert len(sent) >= 1
    assert SettlementRun.objects.get(campaign=campaign).status == "done"
    assert Pledge.objects.get().status == PledgeStatus.RELEASED
    # a new campaign through the add form
    deadline = now() + timedelta(days=5)
    response = admin_client_.post(
        "/admin/euro/campaign/add/",
        {
            "project": project.pk,
            "goal_cents": 1234,
            "deadline_0": deadline.strftime("%Y-%m-%d"),
            "deadline_1": deadline.strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert Campaign.objects.filter(status=CampaignStatus.OPEN, goal_cents=1234).count() == 1


def test_kyc_is_set_through_the_admin(admin_client_: Client, member: Any) -> None:
    response = admin_client_.post(
        "/admin/euro/memberprofile/add/", {"member": member.pk, "kyc_verified": "on"}
    )
    assert response.status_code == 302, response.content[:2000]
    profile = member.euro_profile
    assert profile.kyc_verified
    assert profile.kyc_verified_at is not None


# --- a service's typed refusal is a form error, never a 500 ----------------------------------


def _campaign_form(project: Any, deadline: Any) -> dict[str, Any]:
    return {
        "project": project.pk,
        "goal_cents": 1234,
        "deadline_0": deadline.strftime("%Y-%m-%d"),
        "deadline_1": deadline.strftime("%H:%M:%S"),
    }


def _form_errors(response: Any) -> list[str]:
    form = response.context["adminform"].form
    return [str(e) for errors in form.errors.values() for e in errors]


def test_a_campaign_with_a_past_deadline_is_a_form_error(
    admin_client_: Client, project: Any
) -> None:
    # when staff opens a campaign whose deadline has passed
    response = admin_client_.post(
        "/admin/euro/campaign/add/", _campaign_form(project, now() - timedelta(days=1))
    )
    # then the form comes back with the service's message (it was a 500), nothing created
    assert response.status_code == 200
    assert "deadline must be in the future." in _form_errors(response)
    assert "deadline" in response.context["adminform"].form.errors
    assert not Campaign.objects.exists()


def test_a_second_open_campaign_is_a_form_error(admin_client_: Client, project: Any) -> None:
    # given a project with an open campaign
    open_campaign(project)
    # when staff opens another one through the add form
    response = admin_client_.post(
        "/admin/euro/campaign/add/", _campaign_form(project, now() + timedelta(days=5))
    )
    # then a form error (it was a 500), and still one campaign
    assert response.status_code == 200
    assert "The project already has an open campaign." in _form_errors(response)
    assert Campaign.objects.count() == 1


def test_kyc_for_an_inactive_member_is_a_form_error(admin_client_: Client, make_user: Any) -> None:
    # given a member who left
    gone = make_user(is_active=False)
    # when staff records their KYC
    response = admin_client_.post(
        "/admin/euro/memberprofile/add/", {"member": gone.pk, "kyc_verified": "on"}
    )
    # then a form error (it was a 500), no profile
    assert response.status_code == 200
    assert _form_errors(response)
    assert not MemberProfile.objects.exists()
