"""The staff services refuse an actor without the permission, whoever calls them (not only
through the API), record the refusal, and change nothing; the system (``None``) is allowed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from saka.audit.errors import RoleRequired, SelfActionForbidden
from saka.audit.models import AuditRecord, Outcome
from saka.core.clock import now
from saka.euro.models import Campaign, CampaignStatus, Pledge, PledgeStatus, SettlementRun
from saka.euro.services.campaigns import campaign_create, campaign_set_status
from saka.euro.services.pledges import pledge_create, pledge_refund
from saka.grains.models import Run, RunKind
from saka.grains.runs.compost import COMPOST, compost_run_start
from saka.grains.runs.redistribution import redistribution_run_start
from saka.jobs.runs import live_run_request, run_resume, settlement_request
from saka.projects.services import project_create
from tests.support.api import promote
from tests.support.euro import SECRET, close, deposit, open_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(settings: Any, make_user: Any, project: Any) -> dict[str, Any]:
    settings.SAKA_PAYMENT_WEBHOOK_SECRET = SECRET
    rich = make_user()
    deposit(rich, 10_000)
    campaign = open_campaign(project)
    pledge = pledge_create(member_id=rich.pk, project_id=project.pk, amount=100)
    closed = close(open_campaign(project_create(owner_id=rich.pk, title="B")))
    return {"campaign": campaign, "pledge": pledge, "closed": closed, "project": project}


CALLS: dict[str, tuple[str, Callable[[dict[str, Any], int | None], Any]]] = {
    "dry compost": (
        "operate_runs",
        lambda s, a: compost_run_start(dry_run=True, triggered_by_id=a),
    ),
    "dry redistribution": (
        "operate_runs",
        lambda s, a: redistribution_run_start(dry_run=True, triggered_by_id=a),
    ),
    "live run": (
        "operate_runs",
        lambda s, a: live_run_request(
            kind=RunKind.COMPOST, at=now(), trigger="api", triggered_by_id=a
        ),
    ),
    "settlement": (
        "settle_campaigns",
        lambda s, a: settlement_request(
            campaign_id=s["closed"].pk, as_of=None, trigger="api", triggered_by_id=a
        ),
    ),
    "campaign status": (
        "manage_campaigns",
        lambda s, a: campaign_set_status(
            campaign_id=s["campaign"].pk, status=CampaignStatus.CANCELLED, actor_id=a
        ),
    ),
    "campaign create": (
        "manage_campaigns",
        lambda s, a: campaign_create(
            project_id=project_create(owner_id=s["project"].owner_id, title="C").pk,
            goal=1000,
            deadline=now().replace(year=now().year + 1),
            created_by_id=a,
        ),
    ),
    "refund": (
        "refund_pledges",
        lambda s, a: pledge_refund(pledge_id=s["pledge"].pledge_id, actor_id=a),
    ),
}


def _state() -> tuple[Any, ...]:
    return (
        Run.objects.count(),
        SettlementRun.objects.count(),
        sorted(Campaign.objects.values_list("pk", "status")),
        sorted(Pledge.objects.values_list("pk", "status")),
    )


@pytest.mark.parametrize("name", list(CALLS))
def test_a_staff_user_without_the_permission_is_refused_by_the_service(
    name: str, scene: dict[str, Any], make_user: Any
) -> None:
    # given a staff user whose only role is the adjuster's (or the auditor's for adjustments)
    permission, call = CALLS[name]
    user = make_user(staff=True, roles=["saka_adjuster", "auditor"])
    before = _state()
    succeeded = AuditRecord.objects.filter(outcome=Outcome.SUCCEEDED).count()
    # when they call the service directly
    with pytest.raises(RoleRequired) as refused:
        call(scene, user.pk)
    # then it is refused naming the permission, nothing changed, the refusal recorded
    assert refused.value.data["permission"] == f"audit.{permission}"
    assert _state() == before
    assert AuditRecord.objects.filter(outcome=Outcome.SUCCEEDED).count() == succeeded
    assert AuditRecord.objects.get(actor=user).outcome == Outcome.REFUSED


@pytest.mark.parametrize("name", list(CALLS))
def test_the_role_with_the_permission_and_the_system_are_allowed(
    name: str, scene: dict[str, Any], make_user: Any
) -> None:
    # given a staff user who is run operator and campaign settler
    _, call = CALLS[name]
    user = make_user(staff=True, roles=["run_operator", "campaign_settler"])
    # when they call the service, then it works and the action is audited as theirs
    call(scene, user.pk)
    assert AuditRecord.objects.filter(actor=user, outcome=Outcome.SUCCEEDED).exists()


def test_the_system_may_refund_and_is_audited_without_an_actor(scene: dict[str, Any]) -> None:
    pledge_refund(pledge_id=scene["pledge"].pledge_id)
    assert Pledge.objects.get(pk=scene["pledge"].pledge_id).status == PledgeStatus.REFUNDED
    record = AuditRecord.objects.get(action="euro.pledge.refund")
    assert (record.actor_id, record.outcome) == (None, Outcome.SUCCEEDED)


def test_a_refund_of_ones_own_pledge_is_refused_by_the_service(
    settings: Any, make_user: Any, project: Any
) -> None:
    settings.SAKA_PAYMENT_WEBHOOK_SECRET = SECRET
    settler = make_user()  # a member who pledged, then joined the staff
    deposit(settler, 10_000)
    open_campaign(project)
    pledge = pledge_create(member_id=settler.pk, project_id=project.pk, amount=100)
    promote(settler, "campaign_settler")
    with pytest.raises(SelfActionForbidden):
        pledge_refund(pledge_id=pledge.pledge_id, actor_id=settler.pk)
    assert Pledge.objects.get(pk=pledge.pledge_id).status == PledgeStatus.HELD


def test_a_resume_is_checked_and_audited(make_user: Any) -> None:
    # given a live run opened by the system
    run, _ = live_run_request(kind=RunKind.COMPOST, at=now(), trigger="beat", triggered_by_id=None)
    auditor = make_user(staff=True, roles=["auditor"])
    operator = make_user(staff=True, roles=["run_operator"])
    # when an auditor, then an operator, resume it
    with pytest.raises(RoleRequired):
        run_resume(COMPOST, run.pk, actor_id=auditor.pk)
    run_resume(COMPOST, run.pk, actor_id=operator.pk)
    # then only the operator's resume is recorded as done
    outcomes = dict(
        AuditRecord.objects.filter(action="saka.run.resume").values_list("actor_id", "outcome")
    )
    assert outcomes == {auditor.pk: Outcome.REFUSED, operator.pk: Outcome.SUCCEEDED}
