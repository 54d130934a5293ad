"""The API under the host's prefix (``/wallets/api/``), with the host's user model (e-mail as
``USERNAME_FIELD``): log-in, a harvest granted by the platform, a boost, a signed payment
webhook, the schema, errors, the admin."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.conftest import API, PASSWORD, client_for, post_json

pytestmark = pytest.mark.django_db


def reconcile_ok() -> bool:
    out = StringIO()
    call_command("saka_reconcile", stdout=out)
    return "saka_reconcile: OK" in out.getvalue()


def test_a_member_logs_in_with_the_email_and_reads_the_wallet(api: APIClient, member: Any) -> None:
    # when the member logs in with its USERNAME_FIELD (the e-mail) and reads its SAKA wallet
    token = post_json(api, f"{API}/auth/token/", {"username": member.email, "password": PASSWORD})
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    wallet = api.get(f"{API}/me/saka/wallet/")
    # then
    assert token.status_code == 200
    assert wallet.status_code == 200
    assert wallet.json()["member_id"] == member.pk
    assert wallet.json()["balance"] == 0


def test_a_wrong_password_is_the_api_error_body(api: APIClient, member: Any) -> None:
    response = post_json(api, f"{API}/auth/token/", {"username": member.email, "password": "no"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def test_the_platform_harvests_on_behalf_and_the_member_boosts_a_project(
    member: Any, platform: Any, superuser: Any
) -> None:
    # given a project and the member's harvests, granted by the platform's service account
    from saka.projects.services import project_create

    project = project_create(owner_id=superuser.pk, title="Community garden")
    harvester = client_for(platform)
    granted = [
        post_json(
            harvester,
            f"{API}/platform/saka/harvests/",
            {"member_id": member.pk, "reason": "invite_accepted"},
            HTTP_IDEMPOTENCY_KEY=f"invite-{i}",
        )
        for i in range(2)
    ]
    # when the member boosts the project
    own = client_for(member)
    boost = post_json(own, f"{API}/projects/{project.pk}/boost/", {})
    # then 2 x 50 grains were harvested, 10 planted on the project
    assert [g.status_code for g in granted] == [201, 201]
    assert boost.status_code == 201, boost.content
    assert own.get(f"{API}/me/saka/wallet/").json()["balance"] == 90
    detail = own.get(f"{API}/projects/{project.pk}/").json()
    assert (detail["saka_score"], detail["saka_supporters"]) == (10, 1)
    assert reconcile_ok()


def test_a_member_cannot_harvest_for_itself(member: Any) -> None:
    response = post_json(
        client_for(member),
        f"{API}/platform/saka/harvests/",
        {"member_id": member.pk, "reason": "poll_vote"},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def _signed(body: bytes) -> str:
    at = int(time.time())
    secret = settings.SAKA_PAYMENT_WEBHOOK_SECRET.encode()
    digest = hmac.new(secret, f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def test_a_signed_payment_webhook_credits_the_member_in_eur(api: APIClient, member: Any) -> None:
    # given a payment of 100.00 EUR with a 3.20 EUR processor fee
    event = {
        "id": "evt_embed_1",
        "type": "payment_intent.succeeded",
        "data": {
            "object": {
                "id": "pi_embed_1",
                "amount": 10000,
                "currency": "eur",
                "fee": 320,
                "metadata": {"member_id": str(member.pk)},
            }
        },
    }
    body = json.dumps(event).encode()
    # when the provider delivers it, signed, and a forged copy
    response = api.post(
        f"{API}/webhooks/payments/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=_signed(body),
    )
    forged = api.post(
        f"{API}/webhooks/payments/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE="t=1,v1=" + "0" * 64,
    )
    # then the wallet holds the net 96.80 EUR, once
    assert response.status_code == 200, response.content
    assert forged.status_code == 400
    wallet = client_for(member).get(f"{API}/me/euro/wallet/").json()
    assert wallet["available"] == "96.80"
    assert reconcile_ok()


def test_the_schema_and_its_docs_are_served_under_the_prefix(api: APIClient) -> None:
    schema = api.get("/wallets/api/schema/", HTTP_ACCEPT="application/json")
    docs = api.get("/wallets/api/docs/")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/wallets/api/v1/me/saka/wallet/" in paths
    assert "/wallets/api/v1/auth/token/" in paths
    assert schema.json()["info"]["title"] == "Embed example: wallets API"
    assert docs.status_code == 200


def test_an_unknown_url_under_the_prefix_is_a_json_404_elsewhere_the_host_page(
    api: APIClient,
) -> None:
    inside = api.post("/wallets/api/v1/nothing/here/")
    outside = api.get("/no/such/page/")
    assert inside.status_code == 404
    assert inside.json()["code"] == "not_found"
    assert outside.status_code == 404
    assert outside["Content-Type"].startswith("text/html")


def test_staff_stats_name_members_by_their_email(
    member: Any, platform: Any, superuser: Any
) -> None:
    # given a member with grains
    post_json(
        client_for(platform),
        f"{API}/platform/saka/harvests/",
        {"member_id": member.pk, "reason": "content_read"},
    )
    # when staff read the stats
    stats = client_for(superuser).get(f"{API}/staff/saka/stats/")
    # then the top member is named by the USERNAME_FIELD
    assert stats.status_code == 200, stats.content
    assert stats.json()["top_members"] == [
        {"member_id": member.pk, "username": member.email, "balance": 10}
    ]


@pytest.mark.parametrize(
    "page",
    [
        "/backoffice/",
        "/backoffice/grains/sakaaccount/?q=ada",
        "/backoffice/euro/euroaccount/?q=ada",
        "/backoffice/euro/pledge/?q=ada",
        "/backoffice/grains/run/",
    ],
)
def test_admin_pages_load_and_search_by_the_user_model(
    page: str, member: Any, superuser: Any
) -> None:
    client = APIClient()
    client.force_login(superuser)
    response = client.get(page)
    assert response.status_code == 200, response.content[:500]


def test_the_python_api_grants_a_harvest_in_process(member: Any, platform: Any) -> None:
    # when the platform's own code (same Django process) grants a harvest, twice with one key
    from saka.grains.services import wallet_harvest

    first = wallet_harvest(
        member_id=member.pk, reason="poll_vote", granted_by_id=platform.pk, idempotency_key="v-1"
    )
    again = wallet_harvest(
        member_id=member.pk, reason="poll_vote", granted_by_id=platform.pk, idempotency_key="v-1"
    )
    # then it is booked once
    assert (first.amount, first.balance) == (5, 5)
    assert again.entry_id == first.entry_id
    assert client_for(member).get(f"{API}/me/saka/wallet/").json()["balance"] == 5
