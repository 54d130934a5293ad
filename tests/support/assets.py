"""The assets overview's scenario, booked with the real services: deposits through signed
webhooks, a pocket, held, cancelled, released and refunded pledges (and optionally an equity
pledge), another member's money; SAKA harvests, a plant and a live compost run.

``euro_scenario(make_user, equity=...)`` and ``saka_scenario(member)`` return what a reader
should then see (EUR in cents, SAKA in grains)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from saka.euro.models import CampaignStatus, PledgeKind
from saka.euro.services.members import member_kyc_set
from saka.euro.services.pledges import pledge_cancel, pledge_create
from saka.euro.services.pockets import pocket_create
from saka.euro.settlement import settlement_start
from saka.grains.runs.compost import compost_run_start
from saka.grains.services import wallet_harvest, wallet_plant
from saka.projects.services import project_create
from tests.support.clock import A
from tests.support.euro import close, deposit, open_campaign


@dataclass(frozen=True)
class EuroScenario:
    member: Any
    other: Any
    garden: Any  # open campaign: the member's donation of 50.00 held (and 40.00 equity)
    school: Any  # succeeded and settled: the member's 30.00 + 20.00 released
    pond: Any  # failed and settled: the member's 15.00 refunded
    pocket_id: int


def euro_scenario(make_user: Any, *, equity: bool = False) -> EuroScenario:
    """The member deposits 1000.00 with a 10 % pocket (100.00 to it), pledges 50.00 to the
    garden (held), 5.00 to it (cancelled), 30.00 and 20.00 to the school (released), 15.00 to
    the pond (refunded) and, with ``equity``, 40.00 of equity to the garden (held; the flag
    must be on). Available: 800.00 (760.00 with equity). The other member deposits 500.00 and
    pledges 70.00 to the school and 10.00 to the garden."""
    member, other, owner = make_user(), make_user(), make_user()
    garden = project_create(owner_id=owner.pk, title="Community garden")
    school = project_create(owner_id=owner.pk, title="School roof")
    pond = project_create(owner_id=owner.pk, title="Village pond")
    pocket = pocket_create(member_id=member.pk, name="Rent", percentage="10")
    deposit(member, 1000_00)
    deposit(other, 500_00)
    open_campaign(garden)
    school_campaign, pond_campaign = open_campaign(school), open_campaign(pond)
    pledge_create(member_id=member.pk, project_id=garden.pk, amount=50_00)
    cancelled = pledge_create(member_id=member.pk, project_id=garden.pk, amount=5_00)
    pledge_cancel(member_id=member.pk, pledge_id=cancelled.pledge_id)
    pledge_create(member_id=member.pk, project_id=school.pk, amount=30_00)
    pledge_create(member_id=member.pk, project_id=school.pk, amount=20_00)
    pledge_create(member_id=member.pk, project_id=pond.pk, amount=15_00)
    pledge_create(member_id=other.pk, project_id=school.pk, amount=70_00)
    pledge_create(member_id=other.pk, project_id=garden.pk, amount=10_00)
    if equity:
        member_kyc_set(member_id=member.pk, verified=True)
        pledge_create(
            member_id=member.pk, project_id=garden.pk, amount=40_00, kind=PledgeKind.EQUITY
        )
    close(school_campaign, CampaignStatus.SUCCEEDED)
    settlement_start(campaign_id=school_campaign.pk)
    close(pond_campaign, CampaignStatus.FAILED)
    settlement_start(campaign_id=pond_campaign.pk)
    return EuroScenario(member, other, garden, school, pond, pocket.pocket_id)


def saka_scenario(member: Any, project: Any) -> None:
    """Three harvests of 50 (150) and a boost of 10 on ``project``, 120 and 119 days before
    ``A``; the compost run of ``A`` takes floor(140 x 10 %) = 14: balance 126, harvested 150,
    planted 10, composted 14; composted at ``A``, so eligible again 90 days later."""
    for _ in range(3):
        wallet_harvest(member_id=member.pk, reason="invite_accepted", as_of=A - timedelta(120))
    wallet_plant(member_id=member.pk, amount=10, project_id=project.pk, as_of=A - timedelta(119))
    assert compost_run_start(as_of=A).outcome == "completed"
