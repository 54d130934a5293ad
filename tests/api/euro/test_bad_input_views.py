"""The EUR REST endpoints: happy paths, the webhook over HTTP with real signatures, a
permission matrix and a bad-input matrix (always a 4xx with a code, never a 500).

The routes come from ``saka.api.euro.urls``, included by ``saka.api.urls`` under ``/api/v1/``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from saka.core.clock import now
from saka.euro.models import CampaignStatus, Pledge, PledgeStatus
from saka.euro.services.pledges import pledge_create, pledge_refund
from saka.euro.services.pockets import pocket_create, pocket_transfer
from tests.support.euro import (
    SECRET,
    body_of,
    close,
    deposit,
    euro_balance,
    open_campaign,
    payment_event,
    sign,
    snapshot,
)

pytestmark = pytest.mark.django_db

V1 = "/api/v1"
WEBHOOK = f"{V1}/webhooks/payments/"
AssertError = Callable[[Any, int, str], dict[str, Any]]


@pytest.fixture(autouse=True)
def _secret(settings: Any) -> None:
    settings.SAKA_PAYMENT_WEBHOOK_SECRET = SECRET


@pytest.fixture
def rich(make_user: Any) -> Any:
    user = make_user()
    deposit(user, 100_000)
    return user


def post_json(client: APIClient, url: str, data: Any, **headers: Any) -> Any:
    return client.post(url, data=json.dumps(data), content_type="application/json", **headers)


def patch_json(client: APIClient, url: str, data: Any) -> Any:
    return client.patch(url, data=json.dumps(data), content_type="application/json")


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


# --- pledges and campaigns ----------------------------------------------------------------------


def test_pledge_with_an_idempotency_key(
    api: Any, rich: Any, project: Any, assert_error: AssertError
) -> None:
    campaign = open_campaign(project)
    client = api(rich)
    data = {"project_id": project.pk, "amount": "25.00"}
    first = post_json(client, f"{V1}/me/euro/pledges/", data, HTTP_IDEMPOTENCY_KEY="p-1")
    again = post_json(client, f"{V1}/me/euro/pledges/", data, HTTP_IDEMPOTENCY_KEY="p-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    body = first.json()
    assert (body["amount"], body["available"], body["status"], body["campaign_id"]) == (
        "25.00",
        "975.00",
        "held",
        campaign.pk,
    )
    assert Pledge.objects.filter(member=rich).count() == 1
    assert_error(
        post_json(
            client,
            f"{V1}/me/euro/pledges/",
            {**data, "amount": "26.00"},
            HTTP_IDEMPOTENCY_KEY="p-1",
        ),
        409,
        "idempotency_conflict",
    )
    # list and filter
    listed = client.get(f"{V1}/me/euro/pledges/", {"status": "held"}).json()
    assert [(p["id"], p["amount"], p["status"]) for p in listed["results"]] == [
        (body["pledge_id"], "25.00", "held")
    ]
    assert client.get(f"{V1}/me/euro/pledges/", {"status": "released"}).json()["results"] == []
    # campaign detail
    view = client.get(f"{V1}/euro/campaigns/{campaign.pk}/").json()
    assert view["pledged"]["held"] == {"count": 1, "amount": "25.00"}
    assert view["goal"] == "1000.00"
    # cancel
    cancelled = client.post(f"{V1}/me/euro/pledges/{body['pledge_id']}/cancel/")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert_error(
        client.post(f"{V1}/me/euro/pledges/{body['pledge_id']}/cancel/"), 409, "pledge_not_held"
    )


def test_pledge_refusals(api: Any, rich: Any, project: Any, assert_error: AssertError) -> None:
    client = api(rich)
    url = f"{V1}/me/euro/pledges/"
    assert_error(
        post_json(client, url, {"project_id": project.pk, "amount": "1.00"}),
        409,
        "campaign_not_open",
    )
    open_campaign(project)
    assert_error(
        post_json(client, url, {"project_id": project.pk, "amount": "1000.01"}),
        409,
        "insufficient_balance",
    )
    assert_error(
        post_json(client, url, {"project_id": project.pk, "amount": "100000.01"}),
        400,
        "invalid_amount",
    )
    assert_error(
        post_json(client, url, {"project_id": 999_999_999, "amount": "1.00"}),
        404,
        "project_not_found",
    )
    assert_error(
        post_json(client, url, {"project_id": project.pk, "amount": "1.00", "kind": "equity"}),
        403,
        "equity_pledges_disabled",
    )


# --- staff --------------------------------------------------------------------------------------


def test_staff_campaign_lifecycle_and_settlement(
    api: Any, staff_user: Any, rich: Any, project: Any, assert_error: AssertError
) -> None:
    staff = api(staff_user)
    deadline = (now() + timedelta(days=10)).isoformat()
    created = post_json(
        staff,
        f"{V1}/staff/euro/campaigns/",
        {"project_id": project.pk, "goal": "500.00", "deadline": deadline},
    )
    assert created.status_code == 201, created.content
    campaign_id = created.json()["id"]
    assert (created.json()["status"], created.json()["goal"]) == ("open", "500.00")
    pledge_create(member_id=rich.pk, project_id=project.pk, amount=10_000)
    settle_url = f"{V1}/staff/euro/campaigns/{campaign_id}/settlement/"
    assert_error(staff.get(settle_url), 404, "settlement_not_found")
    assert_error(post_json(staff, settle_url, {}), 409, "campaign_not_closed")
    closed = post_json(
        staff, f"{V1}/staff/euro/campaigns/{campaign_id}/status/", {"status": "succeeded"}
    )
    assert closed.status_code == 200
    assert closed.json()["status"] == "succeeded"
    started = post_json(staff, settle_url, {"batch_size": 10})
    assert started.status_code == 200, started.content
    run = started.json()
    assert (
        run["status"],
        run["kind"],
        run["amount"],
        run["commission"],
        run["net_to_project"],
    ) == ("done", "release", "100.00", "5.00", "95.00")
    assert staff.get(settle_url).json() == run
    assert_error(
        post_json(staff, f"{V1}/staff/euro/campaigns/{campaign_id}/status/", {"status": "failed"}),
        409,
        "campaign_not_open",
    )


def test_staff_refund_of_one_pledge(api: Any, staff_user: Any, rich: Any, project: Any) -> None:
    open_campaign(project)
    made = pledge_create(member_id=rich.pk, project_id=project.pk, amount=300)
    response = api(staff_user).post(f"{V1}/staff/euro/pledges/{made.pledge_id}/refund/")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["available"]) == ("refunded", "1000.00")


# --- the webhook over HTTP ----------------------------------------------------------------------


def deliver(client: APIClient, body: bytes, signature: str | None) -> Any:
    headers = {} if signature is None else {"HTTP_STRIPE_SIGNATURE": signature}
    return client.post(WEBHOOK, data=body, content_type="application/json", **headers)


def test_webhook_books_a_correctly_signed_event(member: Any) -> None:
    # given a CSRF-enforcing anonymous client and a signed event
    client = APIClient(enforce_csrf_checks=True)
    body = body_of(payment_event(member_id=member.pk, amount=5_000, fee=145))
    # when it is posted, then it is booked
    response = deliver(client, body, sign(body))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "booked"
    assert response.json()["wallet"]["net"] == "48.55"
    assert "Idempotent-Replayed" not in response
    assert euro_balance(member) == 4_855
    # and a replay returns the same body, flagged, and books nothing
    replay = deliver(client, body, sign(body))
    assert replay.status_code == 200
    assert replay.json() == response.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert euro_balance(member) == 4_855


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("wrong-secret", 400, "invalid_signature"),
        ("stale", 400, "invalid_signature"),
        ("missing-header", 400, "invalid_signature"),
        ("no-secret-configured", 503, "webhook_not_configured"),
        ("malformed-json", 400, "invalid_event"),
        ("unknown-member", 404, "member_not_found"),
        ("wrong-currency", 400, "unsupported_currency"),
        ("inconsistent-amounts", 400, "invalid_event"),
        ("unknown-project", 404, "project_not_found"),
    ],
)
def test_webhook_refusals_book_nothing(
    member: Any, settings: Any, assert_error: AssertError, case: str, status: int, code: str
) -> None:
    event = payment_event(member_id=member.pk, amount=5_000)
    if case == "unknown-member":
        event = payment_event(member_id=999_999_999, amount=5_000)
    elif case == "wrong-currency":
        event = payment_event(member_id=member.pk, amount=5_000, currency="gbp")
    elif case == "inconsistent-amounts":
        event = payment_event(member_id=member.pk, amount=5_000, fee=5_001)
    elif case == "unknown-project":
        event = payment_event(member_id=member.pk, amount=5_000, donation=1, project_id=999_999_999)
    body = b'{"id": "evt_1", "type": ' if case == "malformed-json" else body_of(event)
    signature = {
        "wrong-secret": sign(body, secret="whsec_other"),
        "stale": sign(body, at=now() - timedelta(minutes=6)),
        "missing-header": None,
    }.get(case, sign(body))
    if case == "no-secret-configured":
        settings.SAKA_PAYMENT_WEBHOOK_SECRET = ""
    before = snapshot()
    assert_error(deliver(APIClient(), body, signature), status, code)
    assert snapshot() == before


def test_webhook_other_methods_and_media(assert_error: AssertError) -> None:
    client = APIClient()
    assert_error(client.get(WEBHOOK), 405, "method_not_allowed")
    body = b"amount=5"
    response = client.post(
        WEBHOOK,
        data=body,
        content_type="application/x-www-form-urlencoded",
        HTTP_STRIPE_SIGNATURE=sign(body),
    )
    assert_error(response, 400, "invalid_event")


def test_webhook_body_too_large(settings: Any, assert_error: AssertError) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = b'{"id": "' + b"x" * 200 + b'"}'
    assert_error(deliver(APIClient(), body, sign(body)), 400, "invalid_event")


# --- permission matrix --------------------------------------------------------------------------

MEMBER_ENDPOINTS = [
    ("get", "/me/euro/wallet/"),
    ("get", "/me/euro/history/"),
    ("get", "/me/euro/pockets/"),
    ("post", "/me/euro/pockets/"),
    ("get", "/me/euro/pockets/1/"),
    ("patch", "/me/euro/pockets/1/"),
    ("delete", "/me/euro/pockets/1/"),
    ("post", "/me/euro/transfers/"),
    ("get", "/me/euro/pledges/"),
    ("post", "/me/euro/pledges/"),
    ("post", "/me/euro/pledges/1/cancel/"),
    ("get", "/euro/campaigns/1/"),
]
STAFF_ENDPOINTS = [
    ("post", "/staff/euro/campaigns/"),
    ("post", "/staff/euro/campaigns/1/status/"),
    ("get", "/staff/euro/campaigns/1/settlement/"),
    ("post", "/staff/euro/campaigns/1/settlement/"),
    ("post", "/staff/euro/pledges/1/refund/"),
]


@pytest.mark.parametrize(("method", "route"), MEMBER_ENDPOINTS + STAFF_ENDPOINTS)
def test_anonymous_callers_are_401(
    api: Any, assert_error: AssertError, method: str, route: str
) -> None:
    response = getattr(api(None), method)(f"{V1}{route}", data={}, format="json")
    body = assert_error(response, 401, "not_authenticated")
    assert body["message"]


@pytest.mark.parametrize(("method", "route"), STAFF_ENDPOINTS)
def test_members_are_403_on_staff_endpoints(
    api: Any, member: Any, assert_error: AssertError, method: str, route: str
) -> None:
    before = snapshot()
    response = getattr(api(member), method)(f"{V1}{route}", data={}, format="json")
    assert_error(response, 403, "permission_denied")
    assert snapshot() == before


def test_inactive_members_are_refused(api: Any, make_user: Any) -> None:
    user = make_user(is_active=False)
    client = APIClient()
    client.force_authenticate(user=user)
    assert client.get(f"{V1}/me/euro/wallet/").status_code in (401, 403)


def test_members_only_reach_their_own_things(
    api: Any, rich: Any, other_member: Any, project: Any, assert_error: AssertError
) -> None:
    # given the rich member's pocket and pledge
    pocket = pocket_create(member_id=rich.pk, name="Mine")
    open_campaign(project)
    made = pledge_create(member_id=rich.pk, project_id=project.pk, amount=100)
    intruder = api(other_member)
    before = snapshot()
    # when another member aims at them, then they do not exist for them
    assert_error(intruder.get(f"{V1}/me/euro/pockets/{pocket.pocket_id}/"), 404, "pocket_not_found")
    assert_error(
        patch_json(intruder, f"{V1}/me/euro/pockets/{pocket.pocket_id}/", {"name": "x"}),
        404,
        "pocket_not_found",
    )
    assert_error(
        intruder.delete(f"{V1}/me/euro/pockets/{pocket.pocket_id}/"), 404, "pocket_not_found"
    )
    assert_error(
        post_json(
            intruder,
            f"{V1}/me/euro/transfers/",
            {"pocket_id": pocket.pocket_id, "direction": "to_wallet", "amount": "0.01"},
        ),
        404,
        "pocket_not_found",
    )
    assert_error(
        intruder.post(f"{V1}/me/euro/pledges/{made.pledge_id}/cancel/"), 404, "pledge_not_found"
    )
    assert intruder.get(f"{V1}/me/euro/pledges/").json()["results"] == []
    assert intruder.get(f"{V1}/me/euro/history/").json()["results"] == []
    assert snapshot() == before


# --- bad input matrix ---------------------------------------------------------------------------

BAD_INPUTS = [
    # (method, route, body, status, code)
    ("post", "/me/euro/pockets/", [], 400, "validation_error"),
    ("post", "/me/euro/pockets/", {}, 400, "validation_error"),
    ("post", "/me/euro/pockets/", {"name": ""}, 400, "validation_error"),
    ("post", "/me/euro/pockets/", {"name": "x" * 61}, 400, "validation_error"),
    ("post", "/me/euro/pockets/", {"name": "A", "percentage": 12.5}, 400, "validation_error"),
    ("post", "/me/euro/pockets/", {"name": "A", "percentage": "100.01"}, 400, "validation_error"),
    ("post", "/me/euro/pockets/", {"name": "A", "percentage": "1e2"}, 400, "validation_error"),
    ("post", "/me/euro/pockets/", {"name": "A", "percentage": True}, 400, "validation_error"),
    ("post", "/me/euro/pockets/", {"name": "A", "percentage": None}, 400, "validation_error"),
    ("patch", "/me/euro/pockets/{pocket}/", {}, 400, "validation_error"),
    ("patch", "/me/euro/pockets/{pocket}/", {"percentage": "-1"}, 400, "validation_error"),
    ("patch", "/me/euro/pockets/99999999999999999999999/", {"name": "x"}, 404, "pocket_not_found"),
    ("get", "/me/euro/pockets/99999999999999999999999/", None, 404, "pocket_not_found"),
    ("delete", "/me/euro/pockets/99999999999999999999999/", None, 404, "pocket_not_found"),
    (
        "post",
        "/me/euro/transfers/",
        {"pocket_id": "{pocket}", "direction": "to_pocket", "amount": 5},
        400,
        "invalid_amount",
    ),
    (
        "post",
        "/me/euro/transfers/",
        {"pocket_id": "{pocket}", "direction": "to_pocket", "amount": 5.5},
        400,
        "invalid_amount",
    ),
    (
        "post",
        "/me/euro/transfers/",
        {"pocket_id": "{pocket}", "direction": "to_pocket", "amount": "5.555"},
        400,
        "invalid_amount",
    ),
    (
        "post",
        "/me/euro/transfers/",
        {"pocket_id": "{pocket}", "direction": "to_pocket", "amount": "-5"},
        400,
        "invalid_amount",
    ),
    (
        "post",
        "/me/euro/transfers/",
        {"pocket_id": "{pocket}", "direction": "to_pocket", "amount": "0"},
        400,
        "invalid_amount",
    ),
    (
        "post",
        "/me/euro/transfers/",
        {"pocket_id": "{pocket}", "direction": "up", "amount": "1"},
        400,
        "validation_error",
    ),
    (
        "post",
        "/me/euro/transfers/",
        {"pocket_id": 1.5, "direction": "to_pocket", "amount": "1"},
        400,
        "validation_error",
    ),
    (
        "post",
        "/me/euro/transfers/",
        {"pocket_id": 2**70, "direction": "to_pocket", "amount": "1"},
        400,
        "validation_error",
    ),
    (
        "post",
        "/me/euro/transfers/",
        {"pocket_id": "{pocket}", "direction": "to_pocket", "amount": "2000.00"},
        409,
        "insufficient_balance",
    ),
    (
        "post",
        "/me/euro/pledges/",
        {"project_id": "{project}", "amount": 100},
        400,
        "invalid_amount",
    ),
    (
        "post",
        "/me/euro/pledges/",
        {"project_id": "{project}", "amount": "1,00"},
        400,
        "invalid_amount",
    ),
    (
        "post",
        "/me/euro/pledges/",
        {"project_id": "{project}", "amount": "NaN"},
        400,
        "invalid_amount",
    ),
    (
        "post",
        "/me/euro/pledges/",
        {"project_id": "{project}", "amount": "0.00"},
        400,
        "invalid_amount",
    ),
    (
        "post",
        "/me/euro/pledges/",
        {"project_id": "{project}", "amount": "1", "kind": "loan"},
        400,
        "validation_error",
    ),
    ("post", "/me/euro/pledges/", {"project_id": "x", "amount": "1"}, 400, "validation_error"),
    ("post", "/me/euro/pledges/", {"project_id": True, "amount": "1"}, 400, "validation_error"),
    ("post", "/me/euro/pledges/", "a string", 400, "validation_error"),
    ("get", "/me/euro/pledges/?status=lost", None, 400, "validation_error"),
    ("get", "/me/euro/pledges/?cursor=garbage", None, 404, "not_found"),
    ("get", "/me/euro/history/?cursor=garbage", None, 404, "not_found"),
    ("post", "/me/euro/pledges/99999999999999999999999/cancel/", None, 404, "pledge_not_found"),
    ("get", "/euro/campaigns/99999999999999999999999/", None, 404, "campaign_not_found"),
    ("get", "/euro/campaigns/999999999/", None, 404, "campaign_not_found"),
]


@pytest.mark.parametrize(
    ("method", "route", "body", "status", "code"),
    BAD_INPUTS,
    ids=[f"{m}-{r}-{json.dumps(b)[:40]}" for m, r, b, _, _ in BAD_INPUTS],
)
def test_member_bad_input_is_a_4xx_with_a_code(
    api: Any,
    rich: Any,
    project: Any,
    assert_error: AssertError,
    method: str,
    route: str,
    body: Any,
    status: int,
    code: str,
) -> None:
    pocket = pocket_create(member_id=rich.pk, name="P")
    open_campaign(project)

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return {"{pocket}": pocket.pocket_id, "{project}": project.pk}.get(value, value)
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    url = f"{V1}{route.replace('{pocket}', str(pocket.pocket_id))}"
    before = snapshot()
    client = api(rich)
    if body is None:
        response = getattr(client, method)(url)
    else:
        response = getattr(client, method)(
            url, data=json.dumps(fill(body)), content_type="application/json"
        )
    assert_error(response, status, code)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("route", "body", "status", "code"),
    [
        ("/me/euro/pockets/", b'{"name": ', 400, "parse_error"),
        ("/me/euro/transfers/", b"[1, 2", 400, "parse_error"),
        ("/me/euro/pledges/", b"\xff", 400, "parse_error"),
    ],
)
def test_malformed_json_bodies(
    api: Any, rich: Any, assert_error: AssertError, route: str, body: bytes, status: int, code: str
) -> None:
    response = api(rich).post(f"{V1}{route}", data=body, content_type="application/json")
    assert_error(response, status, code)


def test_bad_idempotency_keys(api: Any, rich: Any, project: Any, assert_error: AssertError) -> None:
    open_campaign(project)
    data = {"project_id": project.pk, "amount": "1.00"}
    before = snapshot()
    for key in ("", "x" * 201, "é", "tab\there"):
        response = post_json(api(rich), f"{V1}/me/euro/pledges/", data, HTTP_IDEMPOTENCY_KEY=key)
        assert_error(response, 400, "invalid_idempotency_key")
    assert snapshot() == before


STAFF_BAD_INPUTS = [
    (
        "/staff/euro/campaigns/",
        {"project_id": "{project}", "goal": "1.00", "deadline": "3500-01-01T00:00:00Z"},
        400,
        "validation_error",
    ),
    (
        "/staff/euro/campaigns/",
        {"project_id": "{project}", "goal": "1.00", "deadline": "0001-01-01T00:00:00+14:00"},
        400,
        "validation_error",
    ),
    (
        "/staff/euro/campaigns/",
        {"project_id": "{project}", "goal": "1.00", "deadline": "9999-12-31T23:59:59-14:00"},
        400,
        "validation_error",
    ),
    (
        "/staff/euro/campaigns/",
        {"project_id": "{project}", "goal": "0", "deadline": "{future}"},
        400,
        "invalid_amount",
    ),
    (
        "/staff/euro/campaigns/",
        {"project_id": "{project}", "goal": 100, "deadline": "{future}"},
        400,
        "invalid_amount",
    ),
    (
        "/staff/euro/campaigns/",
        {"project_id": "{project}", "goal": "1.00", "deadline": "{past}"},
        400,
        "validation_error",
    ),
    (
        "/staff/euro/campaigns/",
        {"project_id": "{project}", "goal": "1.00", "deadline": "tomorrow"},
        400,
        "validation_error",
    ),
    (
        "/staff/euro/campaigns/",
        {"project_id": 999999999, "goal": "1.00", "deadline": "{future}"},
        404,
        "project_not_found",
    ),
    (
        "/staff/euro/campaigns/",
        {"project_id": "{project}", "goal": "1.00", "deadline": "{future}"},
        409,
        "campaign_already_open",
    ),
    ("/staff/euro/campaigns/{campaign}/status/", {"status": "open"}, 400, "validation_error"),
    ("/staff/euro/campaigns/{campaign}/status/", {}, 400, "validation_error"),
    ("/staff/euro/campaigns/999999999/status/", {"status": "failed"}, 404, "campaign_not_found"),
    (
        "/staff/euro/campaigns/99999999999999999999999/status/",
        {"status": "failed"},
        404,
        "campaign_not_found",
    ),
    ("/staff/euro/campaigns/{campaign}/settlement/", {"batch_size": 0}, 400, "validation_error"),
    ("/staff/euro/campaigns/{campaign}/settlement/", {"batch_size": 2.5}, 400, "validation_error"),
    ("/staff/euro/campaigns/{campaign}/settlement/", {"batch_size": True}, 400, "validation_error"),
    (
        "/staff/euro/campaigns/{campaign}/settlement/",
        {"batch_size": 10_001},
        400,
        "validation_error",
    ),
    ("/staff/euro/campaigns/{campaign}/settlement/", [], 400, "validation_error"),
    ("/staff/euro/campaigns/{campaign}/settlement/", {}, 409, "campaign_not_closed"),
    ("/staff/euro/campaigns/999999999/settlement/", {}, 404, "campaign_not_found"),
    ("/staff/euro/pledges/999999999/refund/", None, 404, "pledge_not_found"),
    ("/staff/euro/pledges/99999999999999999999999/refund/", None, 404, "pledge_not_found"),
]


@pytest.mark.parametrize(
    ("route", "body", "status", "code"),
    STAFF_BAD_INPUTS,
    ids=[f"{r}-{json.dumps(b)[:40]}" for r, b, _, _ in STAFF_BAD_INPUTS],
)
def test_staff_bad_input_is_a_4xx_with_a_code(
    api: Any,
    staff_user: Any,
    project: Any,
    assert_error: AssertError,
    route: str,
    body: Any,
    status: int,
    code: str,
) -> None:
    campaign = open_campaign(project)
    values = {
        "{project}": project.pk,
        "{future}": (now() + timedelta(days=3)).isoformat(),
        "{past}": (now() - timedelta(days=3)).isoformat(),
    }
    if isinstance(body, dict):
        body = {k: values.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    url = f"{V1}{route.replace('{campaign}', str(campaign.pk))}"
    before = snapshot()
    client = api(staff_user)
    if body is None:
        response = client.post(url)
    else:
        response = client.post(url, data=json.dumps(body), content_type="application/json")
    assert_error(response, status, code)
    assert snapshot() == before


def test_settlement_of_a_settled_pledge_refund_is_409(
    api: Any, staff_user: Any, rich: Any, project: Any, assert_error: AssertError
) -> None:
    campaign = open_campaign(project)
    made = pledge_create(member_id=rich.pk, project_id=project.pk, amount=100)
    close(campaign, CampaignStatus.FAILED)
    pledge_refund(pledge_id=made.pledge_id)
    assert Pledge.objects.get(pk=made.pledge_id).status == PledgeStatus.REFUNDED
    assert_error(
        api(staff_user).post(f"{V1}/staff/euro/pledges/{made.pledge_id}/refund/"),
        409,
        "pledge_not_held",
    )


# --- schema -------------------------------------------------------------------------------------


def test_the_schema_documents_every_eur_endpoint(api: Any) -> None:
    response = api(None).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    routes = {f"/api/v1{route}" for _, route in MEMBER_ENDPOINTS + STAFF_ENDPOINTS} | {WEBHOOK}
    documented = {
        p.replace("{pocket_id}", "1").replace("{pledge_id}", "1").replace("{campaign_id}", "1")
        for p in schema["paths"]
    }
    assert routes <= documented
    webhook = schema["paths"][WEBHOOK]["post"]
    assert webhook.get("security", []) in ([], [{}])  # no authentication: the signature is
    assert any(p["name"] == "Stripe-Signature" for p in webhook["parameters"])
    pledge = schema["paths"]["/api/v1/me/euro/pledges/"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in pledge["parameters"])
