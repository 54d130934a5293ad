"""Bad input on the EUR endpoints, members' and staff's: always a 4xx with a code, never a 500
(malformed JSON, bad idempotency keys, a settled pledge's refund)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from saka.core.clock import now
from saka.euro.models import CampaignStatus, Pledge, PledgeStatus
from saka.euro.services.pledges import pledge_create, pledge_refund
from saka.euro.services.pockets import pocket_create
from tests.support.euro import close, open_campaign, snapshot
from tests.support.euro_api import V1, AssertError, post_json

pytestmark = pytest.mark.django_db


# --- bad input matrix ---------------------------------------------------------------------------

BAD_INPUTS = [
    # (method, route, body, status, code)
    ("post", "/me/euro/pockets/", [], 400, "validation_error"),
    ("post", "/me/euro/pockets/", {}, 400, "validation_error"),
    ("post", "/me/euro/pockets/", {"name": ""}, 400, "validation_error"),
    ("post", "/me/euro/pockets/", {"name": "x" * 61}, 400, "validation_error"),
    # padded past 60 characters: refused as sent, not once trimmed (the schema's maxLength)
    ("post", "/me/euro/pockets/", {"name": " 0" + " " * 59}, 400, "validation_error"),
    ("patch", "/me/euro/pockets/{pocket}/", {"name": " 0" + " " * 59}, 400, "validation_error"),
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
    ("get", "/me/euro/pledges/?cursor=garbage", None, 400, "invalid_cursor"),
    ("get", "/me/euro/history/?cursor=garbage", None, 400, "invalid_cursor"),
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
    ("/staff/euro/campaigns/{campaign}/settlement/", {"chunk_size": 0}, 400, "validation_error"),
    ("/staff/euro/campaigns/{campaign}/settlement/", {"chunk_size": 2.5}, 400, "validation_error"),
    ("/staff/euro/campaigns/{campaign}/settlement/", {"chunk_size": True}, 400, "validation_error"),
    (
        "/staff/euro/campaigns/{campaign}/settlement/",
        {"chunk_size": 10_001},
        400,
        "validation_error",
    ),
    (
        "/staff/euro/campaigns/{campaign}/settlement/",
        {"as_of": "tomorrow"},
        400,
        "validation_error",
    ),
    (
        "/staff/euro/campaigns/{campaign}/settlement/",
        {"as_of": "2026-11-23T03:00:00"},  # naive
        400,
        "validation_error",
    ),
    (
        "/staff/euro/campaigns/{campaign}/settlement/",
        {"as_of": 1_700_000_000},
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
