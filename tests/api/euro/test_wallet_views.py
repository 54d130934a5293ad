"""The EUR wallet endpoints: the wallet, pockets and transfers between them, the history and
its pages, and the queries they cost."""

from __future__ import annotations

from typing import Any

import pytest

from saka.euro.models import CampaignStatus
from saka.euro.services.pledges import pledge_create
from saka.euro.services.pockets import pocket_create, pocket_transfer
from saka.euro.settlement import settlement_start
from tests.support.euro import close, deposit, open_campaign, seed_pledges
from tests.support.euro_api import V1, AssertError, patch_json, post_json

pytestmark = pytest.mark.django_db


# --- wallet, pockets, transfers, history --------------------------------------------------------


def test_wallet_shows_money_as_strings_with_two_places(api: Any, rich: Any, project: Any) -> None:
    # given 1000.00, a pocket holding 10.50 and a pledge of 0.05
    pocket = pocket_create(member_id=rich.pk, name="Rent", percentage="12.5")
    pocket_transfer(
        member_id=rich.pk, pocket_id=pocket.pocket_id, direction="to_pocket", amount=1_050
    )
    open_campaign(project)
    pledge_create(member_id=rich.pk, project_id=project.pk, amount=5)
    # when the member reads their wallet
    response = api(rich).get(f"{V1}/me/euro/wallet/")
    # then
    assert response.status_code == 200
    assert response.json() == {
        "member_id": rich.pk,
        "available": "989.45",
        "held": "0.05",
        "pockets_total": "10.50",
        "total": "1000.00",
        "allocated": "12.50",
        "pockets": [
            {
                "id": pocket.pocket_id,
                "name": "Rent",
                "percentage": "12.50",
                "balance": "10.50",
                "created_at": response.json()["pockets"][0]["created_at"],
            }
        ],
    }


def test_a_member_without_a_wallet_sees_zeros(api: Any, member: Any) -> None:
    body = api(member).get(f"{V1}/me/euro/wallet/").json()
    assert (body["available"], body["held"], body["total"], body["pockets"]) == (
        "0.00",
        "0.00",
        "0.00",
        [],
    )


def test_pockets_crud_and_transfers(api: Any, rich: Any, assert_error: AssertError) -> None:
    client = api(rich)
    # create
    created = post_json(client, f"{V1}/me/euro/pockets/", {"name": "Trips", "percentage": "30"})
    assert created.status_code == 201, created.content
    pocket_id = created.json()["id"]
    assert created.json() == {
        "id": pocket_id,
        "name": "Trips",
        "percentage": "30.00",
        "balance": "0.00",
        "allocated": "30.00",
    }
    # too much allocated
    assert_error(
        post_json(client, f"{V1}/me/euro/pockets/", {"name": "X", "percentage": "70.01"}),
        409,
        "allocation_exceeded",
    )
    # update
    updated = patch_json(client, f"{V1}/me/euro/pockets/{pocket_id}/", {"percentage": "25.5"})
    assert updated.status_code == 200
    assert updated.json()["percentage"] == "25.50"
    # transfer in, with a key, replayed
    transfer = {"pocket_id": pocket_id, "direction": "to_pocket", "amount": "12.34"}
    first = post_json(client, f"{V1}/me/euro/transfers/", transfer, HTTP_IDEMPOTENCY_KEY="tr-1")
    again = post_json(client, f"{V1}/me/euro/transfers/", transfer, HTTP_IDEMPOTENCY_KEY="tr-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert (first.json()["wallet_balance"], first.json()["pocket_balance"]) == ("987.66", "12.34")
    assert_error(
        post_json(
            client,
            f"{V1}/me/euro/transfers/",
            {**transfer, "amount": "1.00"},
            HTTP_IDEMPOTENCY_KEY="tr-1",
        ),
        409,
        "idempotency_conflict",
    )
    # detail, list
    detail = client.get(f"{V1}/me/euro/pockets/{pocket_id}/").json()
    assert detail["balance"] == "12.34"
    assert [p["id"] for p in client.get(f"{V1}/me/euro/pockets/").json()] == [pocket_id]
    # close: the money comes back
    closed = client.delete(f"{V1}/me/euro/pockets/{pocket_id}/")
    assert closed.status_code == 200
    assert closed.json()["wallet_balance"] == "1000.00"
    assert_error(client.get(f"{V1}/me/euro/pockets/{pocket_id}/"), 404, "pocket_not_found")


def test_history_costs_the_same_queries_whatever_its_length(
    api: Any, rich: Any, django_assert_max_num_queries: Any
) -> None:
    pockets = [pocket_create(member_id=rich.pk, name=f"P{i}") for i in range(5)]
    for pocket in pockets:
        for _ in range(4):
            pocket_transfer(
                member_id=rich.pk, pocket_id=pocket.pocket_id, direction="to_pocket", amount=1
            )
    with django_assert_max_num_queries(6):
        response = api(rich).get(f"{V1}/me/euro/history/", {"page_size": 50})
    assert len(response.json()["results"]) == 41


def test_wallet_and_pledge_list_queries_are_bounded(
    api: Any, rich: Any, project: Any, django_assert_max_num_queries: Any
) -> None:
    open_campaign(project)
    for i in range(10):
        pocket_create(member_id=rich.pk, name=f"P{i}", percentage="1")
        pledge_create(member_id=rich.pk, project_id=project.pk, amount=100 + i)
    client = api(rich)
    with django_assert_max_num_queries(4):
        assert len(client.get(f"{V1}/me/euro/wallet/").json()["pockets"]) == 10
    with django_assert_max_num_queries(3):
        assert len(client.get(f"{V1}/me/euro/pledges/").json()["results"]) == 10
    with django_assert_max_num_queries(22):
        response = post_json(
            client, f"{V1}/me/euro/pledges/", {"project_id": project.pk, "amount": "1.00"}
        )
    assert response.status_code == 201


def test_history_is_mine_newest_first_with_cursor_pages(
    api: Any, rich: Any, other_member: Any
) -> None:
    # given a deposit, a pocket transfer, and another member's deposit
    pocket = pocket_create(member_id=rich.pk, name="P")
    pocket_transfer(
        member_id=rich.pk, pocket_id=pocket.pocket_id, direction="to_pocket", amount=250
    )
    deposit(other_member, 777)
    # when the member pages through their history two at a time
    first = api(rich).get(f"{V1}/me/euro/history/", {"page_size": 2}).json()
    second = api(rich).get(first["next"]).json()
    # then they see only their lines, newest first: transfer (pocket +, main -), deposit
    lines = first["results"] + second["results"]
    assert [(x["kind"], x["account"], x["amount"]) for x in lines] == [
        ("transfer", "pocket", "2.50"),
        ("transfer", "main", "-2.50"),
        ("deposit", "main", "1000.00"),
    ]
    assert lines[0]["pocket_id"] == pocket.pocket_id
    assert lines[1]["pocket_id"] is None
    assert second["next"] is None


def test_history_items_explain_themselves_and_show_released_pledges(
    api: Any, rich: Any, project: Any, settings: Any
) -> None:
    # given a pledge of 50.00 EUR released at 5 % commission
    settings.SAKA_PLATFORM_COMMISSION_RATE = "0.05"
    campaign = open_campaign(project)
    pledge = pledge_create(member_id=rich.pk, project_id=project.pk, amount=5_000)
    close(campaign, CampaignStatus.SUCCEEDED)
    run = settlement_start(campaign_id=campaign.pk)
    # when the member reads their history
    lines = api(rich).get(f"{V1}/me/euro/history/").json()["results"]
    # then the release is on top, on the pledge's escrow, with its sentence and figures
    release, pledged, deposited = lines
    assert (release["kind"], release["account"], release["amount"]) == (
        "release",
        "escrow",
        "-50.00",
    )
    assert release["pocket_id"] is None
    assert release["explanation"] == (
        "Your pledge of 50.00 EUR to «Community garden» was released to the project: "
        f"2.50 EUR commission (5%), 47.50 EUR to the project (campaign {campaign.pk} "
        f"succeeded, settlement run {run.pk})."
    )
    assert release["calculation"]["pledges"] == [
        {"pledge_id": pledge.pledge_id, "amount": 5_000, "commission": 250, "net": 4_750}
    ]
    assert release["calculation"]["commission_rate"] == "0.05"
    # and the pledge and the deposit explain themselves too
    assert (pledged["account"], pledged["calculation"]["available_after"]) == ("main", 95_000)
    assert pledged["explanation"].startswith("Your pledge of 50.00 EUR to «Community garden»")
    assert deposited["explanation"] == (
        "Deposit of 1000.00 EUR by card (Stripe): no fees; 1000.00 EUR credited to your main "
        "balance."
    )
    assert deposited["calculation"]["gross"] == 100_000


def test_history_with_releases_costs_the_same_queries_whatever_its_length(
    api: Any, make_user: Any, project: Any, django_assert_max_num_queries: Any
) -> None:
    # given a member with 12 pledges released by a settlement in chunks of 5
    member = make_user()
    deposit(member, 100_000)
    campaign = open_campaign(project)
    seed_pledges(campaign, [member], [100 + i for i in range(12)])
    close(campaign, CampaignStatus.SUCCEEDED)
    settlement_start(campaign_id=campaign.pk, chunk_size=5)
    # when they read it, then its queries do not grow with the page
    with django_assert_max_num_queries(6):
        response = api(member).get(f"{V1}/me/euro/history/", {"page_size": 50})
    results = response.json()["results"]
    assert [x["account"] for x in results].count("escrow") == 12
    assert all(x["calculation"] is not None for x in results if x["kind"] == "release")
