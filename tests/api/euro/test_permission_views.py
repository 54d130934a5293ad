"""Who may call the EUR endpoints: a permission matrix over every member and staff endpoint
(anonymous 401, members 403 on staff endpoints, inactive members refused, only one's own
things), and the schema that documents every one of them."""

from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from saka.euro.services.pledges import pledge_create
from saka.euro.services.pockets import pocket_create
from tests.support.euro import open_campaign, snapshot
from tests.support.euro_api import V1, WEBHOOK, AssertError, patch_json, post_json

pytestmark = pytest.mark.django_db


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
    ("get", "/euro/campaigns/"),
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
