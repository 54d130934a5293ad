"""The EUR book's own reconcile checks find what they are meant to find (each scenario
breaks the books on purpose, so the autouse reconcile is skipped)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.models import F

from saka.euro import settlement
from saka.euro.models import (
    AccountKind,
    CampaignStatus,
    EuroAccount,
    Pledge,
    Pocket,
    SettlementRun,
    WebhookEvent,
)
from saka.euro.services.pledges import pledge_create
from saka.euro.services.pockets import pocket_create
from saka.ledger.reconcile import reconcile
from tests.support.euro import close, deposit, open_campaign

pytestmark = pytest.mark.django_db


def checks_failing() -> set[str]:
    return {d.check for d in reconcile().discrepancies if d.book == "eur"}


@pytest.fixture
def settled(funded: Any, project: Any) -> tuple[Any, Any]:
    member = funded(10_000)
    campaign = open_campaign(project)
    kept = pledge_create(member_id=member.pk, project_id=project.pk, amount=1_000)
    pledge_create(member_id=member.pk, project_id=project.pk, amount=2_000)
    close(campaign, CampaignStatus.SUCCEEDED)
    run = settlement.settlement_start(campaign_id=campaign.pk)
    return member, (run, kept)


def test_clean_books_pass_every_eur_check(settled: Any) -> None:
    report = reconcile()
    assert report.ok, report.discrepancies
    assert {
        "eur.escrows_match_pledges",
        "eur.pockets_within_limits",
        "eur.settlements_match_bookings",
        "eur.deposits_match_events",
        "eur.balance_matches_postings",
    } <= set(report.checks)


@pytest.mark.corrupts_books
def test_a_run_reporting_more_than_it_booked_is_found(settled: Any) -> None:
    _, (run, _) = settled
    SettlementRun.objects.filter(pk=run.pk).update(
        commission_done=F("commission_done") + 1, amount_done=F("amount_done") + 1
    )
    assert checks_failing() == {"settlements_match_bookings"}


@pytest.mark.corrupts_books
def test_a_held_pledge_whose_escrow_differs_is_found(funded: Any, project: Any) -> None:
    member = funded(1_000)
    open_campaign(project)
    made = pledge_create(member_id=member.pk, project_id=project.pk, amount=500)
    Pledge.objects.filter(pk=made.pledge_id).update(amount_cents=499)
    assert checks_failing() == {"escrows_match_pledges"}


@pytest.mark.corrupts_books
def test_a_released_pledge_with_money_left_in_escrow_is_found(settled: Any) -> None:
    _, (_, kept) = settled
    escrow_id = Pledge.objects.get(pk=kept.pledge_id).escrow_id
    EuroAccount.objects.filter(pk=escrow_id).update(balance=5)
    assert "escrows_match_pledges" in checks_failing()


@pytest.mark.corrupts_books
def test_pockets_over_100_percent_are_found(member: Any) -> None:
    a = pocket_create(member_id=member.pk, name="A", percentage="60")
    pocket_create(member_id=member.pk, name="B", percentage="40")
    Pocket.objects.filter(pk=a.pocket_id).update(percentage_bp=6001)
    assert checks_failing() == {"pockets_within_limits"}


@pytest.mark.corrupts_books
def test_a_deposit_without_its_event_is_found(member: Any) -> None:
    deposit(member, 1_000)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM euro_webhook_event")
    assert not WebhookEvent.objects.exists()
    assert checks_failing() == {"deposits_match_events"}


@pytest.mark.corrupts_books
def test_a_cached_balance_off_its_postings_is_found(member: Any) -> None:
    deposit(member, 1_000)
    EuroAccount.objects.filter(kind=AccountKind.WALLET, member=member).update(balance=999)
    assert checks_failing() == {"balance_matches_postings"}
