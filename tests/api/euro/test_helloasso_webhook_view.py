"""The HelloAsso webhook over HTTP, with real signatures: a signed notification books and
replays (flagged), every refusal is a typed 4xx/503 with the API's error body and books
nothing, other methods are refused, and the two providers' endpoints do not accept each
other's signatures."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.support.euro import euro_balance, snapshot
from tests.support.euro import sign as stripe_sign
from tests.support.euro_api import V1, WEBHOOK, AssertError
from tests.support.helloasso import HELLOASSO_SECRET, body_of, helloasso_event, hsign

pytestmark = pytest.mark.django_db

HELLOASSO = f"{V1}/webhooks/helloasso/"


@pytest.fixture(autouse=True)
def _helloasso_secret(settings: Any) -> None:
    settings.SAKA_HELLOASSO_WEBHOOK_SECRET = HELLOASSO_SECRET


def deliver(client: APIClient, body: bytes, signature: str | None, url: str = HELLOASSO) -> Any:
    headers = {} if signature is None else {"HTTP_X_HELLOASSO_SIGNATURE": signature}
    return client.post(url, data=body, content_type="application/json", **headers)


def test_a_signed_notification_is_booked_and_replayed(member: Any) -> None:
    # given a CSRF-enforcing anonymous client and a signed notification without a fee
    client = APIClient(enforce_csrf_checks=True)
    body = body_of(helloasso_event(member_id=member.pk, amount=5_000, payment_id=31))
    # when it is posted, then it is booked net of the estimated fee (0.40 + 0.25)
    response = deliver(client, body, hsign(body))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "booked"
    assert response.json()["event_id"] == "helloasso:payment:31"
    assert response.json()["wallet"]["net"] == "49.35"
    assert "Idempotent-Replayed" not in response
    # and a redelivery returns the same body, flagged, and books nothing
    replay = deliver(client, body, hsign(body))
    assert (replay.status_code, replay.json()) == (200, response.json())
    assert replay["Idempotent-Replayed"] == "true"
    assert euro_balance(member) == 4_935


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("wrong-secret", 400, "invalid_signature"),
        ("missing-header", 400, "invalid_signature"),
        ("stripe-header", 400, "invalid_signature"),
        ("no-secret-configured", 503, "webhook_not_configured"),
        ("malformed-json", 400, "invalid_event"),
        ("bad-amount", 400, "invalid_event"),
        ("unknown-member", 404, "member_not_found"),
        ("unknown-project", 404, "project_not_found"),
        ("conflict", 409, "event_conflict"),
    ],
)
def test_refusals_are_typed_and_book_nothing(
    member: Any, settings: Any, assert_error: AssertError, case: str, status: int, code: str
) -> None:
    event = helloasso_event(member_id=member.pk, amount=5_000, payment_id=8)
    if case == "unknown-member":
        event = helloasso_event(member_id=999_999_999, amount=5_000)
    elif case == "unknown-project":
        event = helloasso_event(member_id=member.pk, amount=5_000, donation=1, project_id=999_999)
    elif case == "bad-amount":
        event = helloasso_event(member_id=member.pk, amount="50.00")
    elif case == "conflict":
        booked = body_of(helloasso_event(member_id=member.pk, amount=4_000, payment_id=8))
        assert deliver(APIClient(), booked, hsign(booked)).status_code == 200
    body = b'{"eventType": ' if case == "malformed-json" else body_of(event)
    signature = {"wrong-secret": hsign(body, secret="other"), "missing-header": None}.get(
        case, hsign(body)
    )
    if case == "no-secret-configured":
        settings.SAKA_HELLOASSO_WEBHOOK_SECRET = ""
    before = snapshot()
    if case == "stripe-header":
        response = APIClient().post(
            HELLOASSO, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=hsign(body)
        )
    else:
        response = deliver(APIClient(), body, signature)
    assert_error(response, status, code)
    assert snapshot() == before


def test_each_endpoint_verifies_only_its_own_scheme(member: Any) -> None:
    # a HelloAsso body and signature posted to the Stripe endpoint, and the reverse
    body = body_of(helloasso_event(member_id=member.pk, amount=5_000))
    to_stripe = APIClient().post(
        WEBHOOK,
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=hsign(body),
        HTTP_X_HELLOASSO_SIGNATURE=hsign(body),
    )
    assert to_stripe.status_code == 400
    assert deliver(APIClient(), body, stripe_sign(body)).status_code == 400
    assert euro_balance(member) == 0


def test_other_methods_are_refused(assert_error: AssertError) -> None:
    assert_error(APIClient().get(HELLOASSO), 405, "method_not_allowed")


def test_the_schema_documents_the_helloasso_webhook(api: Any) -> None:
    response = api(None).get(reverse("saka_api:schema"), {"format": "json"})
    op = response.json()["paths"]["/api/v1/webhooks/helloasso/"]["post"]
    assert op["operationId"] == "webhooks_helloasso"
    assert [p["name"] for p in op["parameters"]] == ["X-HelloAsso-Signature"]
    assert {"200", "400", "404", "409", "503"} <= set(op["responses"])
    assert not any(op.get("security") or [{}])  # public: the signature is the credential
