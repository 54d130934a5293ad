"""The EUR statement: every line of a member's history carries its sentence and calculation,
stored when the entry was booked and never recomputed (``saka.euro.statements``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import given
from hypothesis import strategies as st

from saka.euro import settlement
from saka.euro.accounts import EURO_BOOK
from saka.euro.models import CampaignStatus, EntryKind, EuroAccount, EuroEntry
from saka.euro.selectors import wallet_history
from saka.euro.services.pledges import pledge_cancel, pledge_create, pledge_refund
from saka.euro.services.pockets import pocket_close, pocket_create, pocket_transfer, pocket_update
from saka.euro.statements import postings_explained, rate_percent
from saka.ledger.posting import entry_post
from saka.ledger.statements import Explained
from saka.projects.models import Project
from saka.projects.services import project_create
from tests.support.euro import close, deposit, open_campaign, seed_pledges

pytestmark = pytest.mark.django_db


def history(member: Any) -> list[tuple[str, str, Explained]]:
    """The member's lines, newest first: (entry kind, account kind, explained)."""
    postings = list(wallet_history(member_id=member.pk))
    return [
        (p.entry.kind, p.account.kind, e)
        for p, e in zip(postings, postings_explained(postings=postings), strict=True)
    ]


def eur_deposit(member: Any, project: Any) -> None:
    """100.00 EUR, 2.90 EUR fees, 10.00 EUR donation to the project, 1.00 EUR tip."""
    deposit(member, 10_000, fee=290, donation=1_000, tip=100, project_id=project.pk)


@given(st.decimals(min_value=0, max_value=1, places=6))
def test_a_rate_reads_as_its_exact_percentage(rate: Decimal) -> None:
    # when a frozen commission rate ("0.05", "0.025", "0.000001") is shown as a percentage
    shown = rate_percent(str(rate))
    # then it is exact, without trailing zeros
    assert shown.endswith("%")
    assert Decimal(shown[:-1]) / 100 == rate
    assert shown == "0%" or not shown[:-1].endswith("0") or "." not in shown


# --- deposits ------------------------------------------------------------------------------------


def test_a_deposit_explains_its_fees_donation_tip_and_pocket_split(
    member: Any, project: Any
) -> None:
    # given a pocket taking 10 % of deposits
    pocket = pocket_create(member_id=member.pk, name="Épargne", percentage="10")
    # when 100.00 EUR arrive with a 10.00 EUR donation, a 1.00 EUR tip and 2.90 EUR fees
    eur_deposit(member, project)
    # then the fee is split in proportion to the parts (89 : 10 : 1), the wallet's net part
    # 86.42 across the pocket (8.64) and the main balance (77.78)
    (pocket_line, main_line) = history(member)
    assert pocket_line[:2] == ("deposit", "pocket")
    assert main_line[:2] == ("deposit", "wallet")
    assert main_line[2].explanation == (
        "Deposit of 100.00 EUR by card (Stripe): 2.90 EUR fees (2.58 EUR on your part, "
        "0.29 EUR on the donation, 0.03 EUR on the tip), 9.71 EUR donation to «Community "
        "garden», 0.97 EUR tip; 86.42 EUR credited, of which 8.64 EUR to pocket «Épargne» "
        "(10.00%) and 77.78 EUR to your main balance."
    )
    assert pocket_line[2].explanation == (
        "Deposit of 100.00 EUR by card (Stripe): 8.64 EUR to pocket «Épargne» (10.00% of the "
        "86.42 EUR credited)."
    )
    calc = main_line[2].calculation
    assert calc is not None
    assert pocket_line[2].calculation == calc
    assert calc["payment_id"].startswith("pi_test_")
    account_id = EuroAccount.objects.get(pocket__pk=pocket.pocket_id).pk
    assert {k: v for k, v in calc.items() if k != "payment_id"} == {
        "provider": "stripe",
        "gross": 10_000,
        "fee": 290,
        "fee_split": {"wallet": 258, "donation": 29, "tip": 3},
        "donation": {
            "project_id": project.pk,
            "project": "Community garden",
            "gross": 1_000,
            "fee": 29,
            "net": 971,
        },
        "tip": {"gross": 100, "fee": 3, "net": 97},
        "credited": 8_642,
        "pockets": [
            {
                "pocket_id": pocket.pocket_id,
                "account_id": account_id,
                "name": "Épargne",
                "percentage": "10.00",
                "cents": 864,
            }
        ],
        "main": 7_778,
    }


def test_a_fee_free_deposit_without_pockets_reads_simply(member: Any) -> None:
    # when 10.00 EUR arrive with no fee
    deposit(member, 1_000)
    # then
    ((_, _, line),) = history(member)
    assert line.explanation == (
        "Deposit of 10.00 EUR by card (Stripe): no fees; 10.00 EUR credited to your main balance."
    )


def test_the_history_is_never_recomputed(member: Any, project: Any, settings: Any) -> None:
    # given a deposit split over two pockets, explained
    first = pocket_create(member_id=member.pk, name="Épargne", percentage="10")
    second = pocket_create(member_id=member.pk, name="Vacances", percentage="25.5")
    eur_deposit(member, project)
    before = history(member)
    assert "8.64 EUR to pocket «Épargne» (10.00%)" in before[-1][2].explanation
    # when the pockets are renamed and re-weighted, the project renamed, one pocket closed,
    # and the settings changed
    pocket_update(member_id=member.pk, pocket_id=first.pocket_id, name="Other", percentage="50")
    pocket_update(member_id=member.pk, pocket_id=second.pocket_id, percentage="1")
    Project.objects.filter(pk=project.pk).update(title="Renamed")
    settings.SAKA_PLATFORM_COMMISSION_RATE = "0.50"
    pocket_close(member_id=member.pk, pocket_id=second.pocket_id)
    # then the deposit's lines read exactly as they did (the close is a new line on top)
    after = history(member)
    assert after[-len(before) :] == before
    assert [line[0] for line in after[: -len(before)]] == ["transfer", "transfer"]


def test_entries_booked_before_statements_read_generically(member: Any) -> None:
    # given an entry booked without a calculation (as every entry before this change)
    deposit(member, 1_000)
    wallet = EuroAccount.objects.get(kind="wallet", member_id=member.pk)
    pocket = pocket_create(member_id=member.pk, name="P")
    pocket_account = EuroAccount.objects.get(pocket__pk=pocket.pocket_id)
    with transaction.atomic():
        entry_post(
            book=EURO_BOOK,
            entry=EuroEntry(kind=EntryKind.TRANSFER, amount=250, member_id=member.pk),
            postings=[(wallet.pk, -250), (pocket_account.pk, 250)],
        )
    # then its lines have a generic sentence and no calculation
    (credit, debit, _) = history(member)
    assert credit[2] == Explained(
        "Transfer between a wallet and its pocket: credited 2.50 EUR.", None
    )
    assert debit[2] == Explained(
        "Transfer between a wallet and its pocket: debited 2.50 EUR.", None
    )


# --- pockets -------------------------------------------------------------------------------------


def test_pocket_transfers_and_closing_explain_themselves(member: Any) -> None:
    # given 10.00 EUR and a pocket
    deposit(member, 1_000)
    pocket = pocket_create(member_id=member.pk, name="Rent")
    # when 3.00 EUR go to the pocket, 1.00 EUR comes back, then the pocket is closed
    pocket_transfer(
        member_id=member.pk, pocket_id=pocket.pocket_id, direction="to_pocket", amount=300
    )
    pocket_transfer(
        member_id=member.pk, pocket_id=pocket.pocket_id, direction="to_wallet", amount=100
    )
    pocket_close(member_id=member.pk, pocket_id=pocket.pocket_id)
    # then both lines of each transfer say the same, newest first
    lines = [(account, e.explanation) for kind, account, e in history(member) if kind == "transfer"]
    closed = "Pocket «Rent» closed: its 2.00 EUR went back to your main balance."
    back = "Moved 1.00 EUR from pocket «Rent» back to your main balance."
    moved = "Moved 3.00 EUR from your main balance to pocket «Rent»."
    assert lines == [
        ("pocket", closed),
        ("wallet", closed),
        ("pocket", back),
        ("wallet", back),
        ("pocket", moved),
        ("wallet", moved),
    ]
    calc = history(member)[0][2].calculation
    assert calc == {
        "pocket_id": pocket.pocket_id,
        "pocket": "Rent",
        "direction": "to_wallet",
        "amount": 200,
        "main_after": 1_000,
        "pocket_after": 0,
        "closing": True,
    }


# --- pledges -------------------------------------------------------------------------------------


def test_a_pledge_its_cancellation_and_a_staff_refund_explain_themselves(
    member: Any, project: Any, staff_user: Any
) -> None:
    # given 100.00 EUR and an open campaign
    deposit(member, 10_000)
    campaign = open_campaign(project)
    # when the member pledges 50.00 and 20.00, cancels the first, and staff refund the second
    first = pledge_create(member_id=member.pk, project_id=project.pk, amount=5_000)
    second = pledge_create(member_id=member.pk, project_id=project.pk, amount=2_000)
    pledge_cancel(member_id=member.pk, pledge_id=first.pledge_id)
    pledge_refund(pledge_id=second.pledge_id, actor_id=staff_user.pk)
    # then
    refund, cancel, pledge_2, pledge_1, _ = history(member)
    c = campaign.pk
    assert pledge_1[2].explanation == (
        f"Your pledge of 50.00 EUR to «Community garden» (campaign {c}) is held in escrow "
        "until the campaign closes; 50.00 EUR left available."
    )
    assert pledge_2[2].calculation == {
        "pledge_id": second.pledge_id,
        "pledge_kind": "donation",
        "project_id": project.pk,
        "project": "Community garden",
        "campaign_id": c,
        "amount": 2_000,
        "available_after": 3_000,
    }
    assert cancel[:2] == ("cancel", "wallet")
    assert cancel[2].explanation == (
        f"You cancelled your pledge of 50.00 EUR to «Community garden» (campaign {c}): "
        "50.00 EUR back to your main balance."
    )
    assert refund[:2] == ("refund", "wallet")
    assert refund[2].explanation == (
        f"Your pledge of 20.00 EUR to «Community garden» (campaign {c}) was refunded: "
        "20.00 EUR back to your main balance."
    )
    assert refund[2].calculation is not None
    assert refund[2].calculation["pledge_id"] == second.pledge_id


# --- settlement ----------------------------------------------------------------------------------


def test_a_released_pledge_shows_in_the_history_as_its_escrow_line(
    member: Any, project: Any, settings: Any
) -> None:
    # given a pledge of 50.00 EUR to a campaign that succeeds, at 5 % commission
    settings.SAKA_PLATFORM_COMMISSION_RATE = "0.05"
    deposit(member, 10_000)
    campaign = open_campaign(project)
    pledge = pledge_create(member_id=member.pk, project_id=project.pk, amount=5_000)
    close(campaign, CampaignStatus.SUCCEEDED)
    # when it is settled, then the project renamed and the rate changed
    run = settlement.settlement_start(campaign_id=campaign.pk)
    Project.objects.filter(pk=project.pk).update(title="Renamed")
    settings.SAKA_PLATFORM_COMMISSION_RATE = "0.50"
    # then the member reads the release on top of their history, as it was settled
    release = history(member)[0]
    assert release[:2] == ("release", "escrow")
    assert release[2].explanation == (
        "Your pledge of 50.00 EUR to «Community garden» was released to the project: "
        f"2.50 EUR commission (5%), 47.50 EUR to the project (campaign {campaign.pk} "
        f"succeeded, settlement run {run.pk})."
    )
    assert release[2].calculation == {
        "run_id": run.pk,
        "campaign_id": campaign.pk,
        "campaign_status": "succeeded",
        "project_id": project.pk,
        "project": "Community garden",
        "commission_rate": "0.05",
        "pledges": [
            {"pledge_id": pledge.pledge_id, "amount": 5_000, "commission": 250, "net": 4_750}
        ],
    }
    # and the chunk's entry keeps the chunk's frozen figures
    entry = EuroEntry.objects.get(kind=EntryKind.RELEASE)
    assert entry.calculation is not None
    assert entry.calculation["chunk"] == {
        "pledges": 1,
        "amount": 5_000,
        "commission": 250,
        "net": 4_750,
        "refunded": 0,
    }
    assert entry.explanation == (
        "Settlement of 1 pledge (50.00 EUR) released to «Community garden»: 2.50 EUR "
        f"commission (5%), 47.50 EUR to the project (campaign {campaign.pk} succeeded, "
        f"settlement run {run.pk})."
    )


def test_a_refund_settlement_line_names_each_of_the_member_s_pledges(
    member: Any, project: Any
) -> None:
    # given two pledges of one member to a campaign that fails
    deposit(member, 10_000)
    campaign = open_campaign(project)
    a = pledge_create(member_id=member.pk, project_id=project.pk, amount=2_000)
    b = pledge_create(member_id=member.pk, project_id=project.pk, amount=3_000)
    close(campaign, CampaignStatus.FAILED)
    # when it is settled in one chunk
    run = settlement.settlement_start(campaign_id=campaign.pk)
    # then one wallet line (one credit per wallet and chunk) names both pledges
    refund = history(member)[0]
    assert refund[:2] == ("refund", "wallet")
    assert refund[2].explanation == (
        "Your 2 pledges to «Community garden» (20.00 EUR and 30.00 EUR) were refunded to your "
        f"main balance: campaign {campaign.pk} failed (settlement run {run.pk})."
    )
    assert refund[2].calculation is not None
    assert refund[2].calculation["pledges"] == [
        {"pledge_id": a.pledge_id, "amount": 2_000},
        {"pledge_id": b.pledge_id, "amount": 3_000},
    ]


def test_explaining_a_page_of_settled_lines_costs_one_query(
    make_user: Any, project: Any, django_assert_max_num_queries: Any
) -> None:
    # given 3 members with 12 pledges each, released in chunks of 5 and refunded elsewhere
    members = [make_user() for _ in range(3)]
    for m in members:
        deposit(m, 100_000)
    released = open_campaign(project)
    seed_pledges(released, members, [100 + i for i in range(36)])
    close(released, CampaignStatus.SUCCEEDED)
    settlement.settlement_start(campaign_id=released.pk, chunk_size=5)
    other = project_create(owner_id=members[0].pk, title="Other")
    refunded = open_campaign(other)
    seed_pledges(refunded, members, [200 + i for i in range(36)])
    close(refunded, CampaignStatus.CANCELLED)
    settlement.settlement_start(campaign_id=refunded.pk, chunk_size=5)
    postings = list(wallet_history(member_id=members[0].pk))
    assert {p.entry.kind for p in postings} == {"deposit", "pledge", "release", "refund"}
    # when the whole history is explained
    with django_assert_max_num_queries(1):
        lines = postings_explained(postings=postings)
    # then every settled line found its pledges: 12 released, 12 refunded
    settled = [line for p, line in zip(postings, lines, strict=True) if p.entry.run_id]
    assert all(line.calculation is not None for line in settled)
    assert sum(len(line.calculation["pledges"]) for line in settled) == 24  # type: ignore[index]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_settlement_by_concurrent_workers_explains_every_pledge(
    make_user: Any, project: Any
) -> None:
    # given 4 members with 10 pledges each to a campaign that succeeds
    members = [make_user() for _ in range(4)]
    for m in members:
        deposit(m, 100_000)
    campaign = open_campaign(project)
    ids = seed_pledges(campaign, members, [1_000 + i for i in range(40)])
    close(campaign, CampaignStatus.SUCCEEDED)
    # when two worker threads settle it in chunks of 3
    run = settlement.settlement_start(campaign_id=campaign.pk, chunk_size=3, workers=2)
    # then each pledge's release reads its own figures, each chunk's entry the run's
    seen = []
    for m in members:
        postings = [p for p in wallet_history(member_id=m.pk) if p.entry.kind == "release"]
        for posting, line in zip(postings, postings_explained(postings=postings), strict=True):
            assert line.calculation is not None
            ((figures),) = line.calculation["pledges"]
            assert figures["pledge_id"] == posting.pledge_id
            assert figures["commission"] + figures["net"] == -posting.amount
            assert line.calculation["run_id"] == run.pk
            seen.append(posting.pledge_id)
    assert sorted(seen) == sorted(ids)
    chunks = EuroEntry.objects.filter(run=run)
    assert chunks.count() == run.chunks_done == 14
    assert sum(e.calculation["chunk"]["pledges"] for e in chunks) == 40  # type: ignore[index]


@pytest.mark.postgres
def test_the_history_with_releases_is_read_by_the_account_index(
    make_user: Any, project: Any
) -> None:
    # given a member with one released pledge among 6,000 of other members
    from django.db import connection

    members = [make_user() for _ in range(6)]
    for m in members:
        deposit(m, 1_000_000)
    campaign = open_campaign(project)
    seed_pledges(campaign, members, [100 + i % 50 for i in range(3_000)])
    small = make_user()
    deposit(small, 1_000)
    pledge_create(member_id=small.pk, project_id=project.pk, amount=500)
    seed_pledges(campaign, members, [100 + i % 50 for i in range(3_000)])
    close(campaign, CampaignStatus.SUCCEEDED)
    settlement.settlement_start(campaign_id=campaign.pk, chunk_size=2_000)
    # when the planner reads a page of their history
    sql, params = wallet_history(member_id=small.pk)[:50].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE euro_posting")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # then both branches (wallet, released escrows) go through the (account, id) index
    assert plan.count("euro_posting_account_id") == 2, plan
    assert "Seq Scan on euro_posting" not in plan, plan
    assert [p.entry.kind for p in wallet_history(member_id=small.pk)] == [
        "release",
        "pledge",
        "deposit",
    ]
