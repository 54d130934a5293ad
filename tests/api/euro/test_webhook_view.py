"""The payment webhook over HTTP, with real signatures: a signed event books, every refusal
books nothing, other methods, media types and oversized bodies are refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from saka.core.clock import now
from tests.support.euro import body_of, euro_balance, payment_event, sign, snapshot
from tests.support.euro_api import WEBHOOK, AssertError

pytestmark = pytest.mark.django_db


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
