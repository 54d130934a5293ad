"""Pledges: into escrow from the available balance, for a project with an open campaign;
limits, idempotency, equity behind a flag and KYC; cancellation and staff refunds;
campaigns."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from saka.core.clock import now
from saka.core.errors import InvalidAmount, ValidationError
from saka.euro import selectors
from saka.euro.errors import (
    CampaignAlreadyOpen,
    CampaignNotFound,
    CampaignNotOpen,
    EquityPledgesDisabled,
    KycRequired,
    PledgeNotFound,
    PledgeNotHeld,
)
from saka.euro.models import (
    AccountKind,
    CampaignStatus,
    EntryKind,
    EuroAccount,
    EuroEntry,
    Pledge,
    PledgeStatus,
)
from saka.euro.services.campaigns import campaign_create, campaign_set_status
from saka.euro.services.members import member_kyc_set
from saka.euro.services.pledges import PledgeResult, pledge_cancel, pledge_create, pledge_refund
from saka.euro.services.pockets import pocket_create, pocket_transfer
from saka.ledger.errors import IdempotencyConflict, InsufficientBalance
from saka.projects.errors import ProjectNotFound
from tests.support.euro import close, euro_balance, open_campaign, snapshot

pytestmark = pytest.mark.django_db


def pledge(member: Any, project: Any, amount: int, **kwargs: Any) -> PledgeResult:
    return pledge_create(member_id=member.pk, project_id=project.pk, amount=amount, **kwargs)


def test_a_pledge_moves_money_into_its_own_escrow(funded: Any, project: Any) -> None:
    # given 100.00 available and an open campaign
    member = funded(10_000)
    campaign = open_campaign(project)
    # when the member pledges 25.00
    result = pledge(member, project, 2_500)
    # then 25.00 sits in the pledge's escrow account, 75.00 stays available
    assert (result.status, result.amount, result.available) == ("held", 2_500, 7_500)
    assert result.campaign_id == campaign.pk
    row = Pledge.objects.get(pk=result.pledge_id)
    escrow = EuroAccount.objects.get(pk=row.escrow_id)
    assert (escrow.kind, escrow.member_id, escrow.balance) == (AccountKind.ESCROW, member.pk, 2_500)
    view = selectors.wallet_summary(member_id=member.pk)
    assert (view.available, view.held, view.total) == (7_500, 2_500, 10_000)


def test_pledges_come_from_the_available_balance_only(funded: Any, project: Any) -> None:
    # given 10.00 available and 5.00 moved to a pocket
    member = funded(1_000)
    open_campaign(project)
    pocket = pocket_create(member_id=member.pk, name="Savings")
    pocket_transfer(
        member_id=member.pk, pocket_id=pocket.pocket_id, direction="to_pocket", amount=500
    )
    before = snapshot()
    # when more than the main balance is pledged, then it is refused
    with pytest.raises(InsufficientBalance) as refused:
        pledge(member, project, 501)
    assert refused.value.data == {"available": "5.00", "requested": "5.01"}
    assert snapshot() == before
    # exactly the main balance is fine
    assert pledge(member, project, 500).available == 0


def test_a_member_without_a_wallet_cannot_pledge(member: Any, project: Any) -> None:
    open_campaign(project)
    with pytest.raises(InsufficientBalance):
        pledge(member, project, 1)


@pytest.mark.parametrize("amount", [0, -1, 10_000_001, 1.5, "12.34", True, None])
def test_pledge_limits(funded: Any, project: Any, amount: Any) -> None:
    member = funded(100)
    open_campaign(project)
    before = snapshot()
    with pytest.raises(InvalidAmount):
        pledge(member, project, amount)
    assert snapshot() == before


def test_the_largest_pledge_is_100000_eur(make_user: Any, project: Any) -> None:
    from tests.support.euro import deposit

    member = make_user()
    deposit(member, 20_000_000)
    open_campaign(project)
    assert pledge(member, project, 10_000_000).amount == 10_000_000


def test_pledges_need_an_open_campaign_before_its_deadline(funded: Any, project: Any) -> None:
    member = funded(1_000)
    before = snapshot()
    # no campaign at all
    with pytest.raises(CampaignNotOpen):
        pledge(member, project, 100)
    # a closed one
    close(open_campaign(project), CampaignStatus.FAILED)
    with pytest.raises(CampaignNotOpen):
        pledge(member, project, 100)
    # an open one past its deadline
    campaign_create(project_id=project.pk, goal=1_000, deadline=now() + timedelta(days=1))
    with pytest.raises(CampaignNotOpen) as late:
        pledge(member, project, 100, as_of=now() + timedelta(days=2))
    assert "deadline" in late.value.data
    # an unknown project
    with pytest.raises(ProjectNotFound):
        pledge_create(member_id=member.pk, project_id=10**9, amount=100)
    assert snapshot().entries == before.entries


def test_a_pledge_key_books_once_and_conflicts_on_another_payload(
    funded: Any, project: Any
) -> None:
    # given a pledge made with a key
    member = funded(10_000)
    open_campaign(project)
    first = pledge(member, project, 1_000, idempotency_key="pledge-1")
    # when the client retries it, then the original result comes back and nothing is booked
    again = pledge(member, project, 1_000, idempotency_key="pledge-1")
    assert again == first
    assert Pledge.objects.filter(member=member).count() == 1
    assert euro_balance(member) == 9_000
    # another payload under the same key is a conflict
    with pytest.raises(IdempotencyConflict):
        pledge(member, project, 2_000, idempotency_key="pledge-1")
    # keys are per member: another member may use the same key
    other = funded(5_000)
    assert pledge(other, project, 1_000, idempotency_key="pledge-1").member_id == other.pk


def test_a_refused_pledge_leaves_its_key_free(funded: Any, project: Any) -> None:
    member = funded(500)
    open_campaign(project)
    with pytest.raises(InsufficientBalance):
        pledge(member, project, 1_000, idempotency_key="k")
    from tests.support.euro import deposit

    deposit(member, 1_000)
    assert pledge(member, project, 1_000, idempotency_key="k").amount == 1_000


def test_equity_pledges_are_off_by_default(funded: Any, project: Any) -> None:
    member = funded(1_000)
    open_campaign(project)
    member_kyc_set(member_id=member.pk, verified=True)
    with pytest.raises(EquityPledgesDisabled):
        pledge(member, project, 100, kind="equity")


def test_equity_pledges_need_kyc(funded: Any, project: Any, settings: Any) -> None:
    # given equity pledges enabled
    settings.SAKA_EQUITY_PLEDGES_ENABLED = True
    member = funded(1_000)
    open_campaign(project)
    # when a member without KYC pledges equity, then it is refused
    with pytest.raises(KycRequired):
        pledge(member, project, 100, kind="equity")
    # once verified it is accepted; a revoked KYC refuses again
    member_kyc_set(member_id=member.pk, verified=True)
    assert pledge(member, project, 100, kind="equity").kind == "equity"
    member_kyc_set(member_id=member.pk, verified=False)
    with pytest.raises(KycRequired):
        pledge(member, project, 100, kind="equity")


def test_unknown_pledge_kind(funded: Any, project: Any) -> None:
    member = funded(1_000)
    open_campaign(project)
    with pytest.raises(ValidationError):
        pledge(member, project, 100, kind="loan")


# --- cancel and refund --------------------------------------------------------------------------


def test_a_member_cancels_a_held_pledge_while_the_campaign_is_open(
    funded: Any, project: Any
) -> None:
    member = funded(1_000)
    open_campaign(project)
    made = pledge(member, project, 400)
    # when the member cancels it
    cancelled = pledge_cancel(member_id=member.pk, pledge_id=made.pledge_id)
    # then the money is back, the escrow empty, and it cannot be cancelled twice
    assert (cancelled.status, cancelled.available) == ("cancelled", 1_000)
    assert euro_balance(member) == 1_000
    row = Pledge.objects.get(pk=made.pledge_id)
    assert row.status == PledgeStatus.CANCELLED
    assert row.settled_at is not None
    assert EuroEntry.objects.filter(kind=EntryKind.CANCEL).count() == 1
    with pytest.raises(PledgeNotHeld):
        pledge_cancel(member_id=member.pk, pledge_id=made.pledge_id)


def test_cancel_is_refused_once_the_campaign_is_closed(funded: Any, project: Any) -> None:
    member = funded(1_000)
    campaign = open_campaign(project)
    made = pledge(member, project, 400)
    close(campaign, CampaignStatus.SUCCEEDED)
    with pytest.raises(CampaignNotOpen):
        pledge_cancel(member_id=member.pk, pledge_id=made.pledge_id)
    assert Pledge.objects.get(pk=made.pledge_id).status == PledgeStatus.HELD


def test_members_only_cancel_their_own_pledges(funded: Any, project: Any) -> None:
    member, intruder = funded(1_000), funded(0)
    open_campaign(project)
    made = pledge(member, project, 400)
    for pledge_id in (made.pledge_id, 10**9, 2**70, "1", None, True):
        with pytest.raises(PledgeNotFound):
            pledge_cancel(member_id=intruder.pk, pledge_id=pledge_id)
    assert Pledge.objects.get(pk=made.pledge_id).status == PledgeStatus.HELD


def test_staff_refund_a_pledge_whatever_the_campaign(funded: Any, project: Any) -> None:
    member = funded(1_000)
    campaign = open_campaign(project)
    made = pledge(member, project, 400)
    close(campaign, CampaignStatus.SUCCEEDED)
    refunded = pledge_refund(pledge_id=made.pledge_id)
    assert (refunded.status, refunded.available) == ("refunded", 1_000)
    with pytest.raises(PledgeNotHeld):
        pledge_refund(pledge_id=made.pledge_id)
    with pytest.raises(PledgeNotFound):
        pledge_refund(pledge_id=10**9)


# --- campaigns ----------------------------------------------------------------------------------


def test_one_open_campaign_per_project(project: Any) -> None:
    campaign = open_campaign(project)
    with pytest.raises(CampaignAlreadyOpen):
        open_campaign(project)
    close(campaign, CampaignStatus.CANCELLED)
    assert open_campaign(project).status == CampaignStatus.OPEN


def test_campaign_input_rules(project: Any) -> None:
    with pytest.raises(ValidationError):
        campaign_create(project_id=project.pk, goal=100, deadline=now() - timedelta(1))
    with pytest.raises(InvalidAmount):
        campaign_create(project_id=project.pk, goal=0, deadline=now() + timedelta(1))
    with pytest.raises(ProjectNotFound):
        campaign_create(project_id=10**9, goal=100, deadline=now() + timedelta(1))


def test_campaign_status_transitions(project: Any) -> None:
    campaign = open_campaign(project)
    with pytest.raises(ValidationError):
        campaign_set_status(campaign_id=campaign.pk, status="open")
    closed = close(campaign, CampaignStatus.SUCCEEDED)
    assert closed.closed_at is not None
    # the same status again is a no-op; another one is refused
    assert close(campaign, CampaignStatus.SUCCEEDED).status == CampaignStatus.SUCCEEDED
    with pytest.raises(CampaignNotOpen):
        close(campaign, CampaignStatus.FAILED)
    for campaign_id in (10**9, 2**70, "1", None):
        with pytest.raises(CampaignNotFound):
            campaign_set_status(campaign_id=campaign_id, status="failed")


def test_campaign_view_totals(funded: Any, project: Any) -> None:
    a, b = funded(1_000), funded(1_000)
    campaign = open_campaign(project, goal=5_000)
    pledge(a, project, 300)
    pledge(b, project, 200)
    pledge_cancel(member_id=b.pk, pledge_id=pledge(b, project, 100).pledge_id)
    view = selectors.campaign_summary(campaign_id=campaign.pk)
    assert (view.totals["held_count"], view.totals["held_cents"]) == (2, 500)
    assert (view.totals["cancelled_count"], view.totals["cancelled_cents"]) == (1, 100)
    assert view.goal == 5_000
    assert view.settlement_status is None


def test_as_of_must_be_a_sensible_instant(funded: Any, project: Any) -> None:
    from datetime import UTC, datetime

    member = funded(1_000)
    open_campaign(project)
    for as_of in (datetime(1900, 1, 1, tzinfo=UTC), datetime(3001, 1, 1, tzinfo=UTC)):
        with pytest.raises(ValidationError):
            pledge(member, project, 100, as_of=as_of)
    with pytest.raises(ValidationError):
        pledge(member, project, 100, as_of=datetime(2026, 1, 1))  # noqa: DTZ001 - naive on purpose
