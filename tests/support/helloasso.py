"""Helpers of the HelloAsso tests: events in HelloAsso's shape, signed deliveries."""

from __future__ import annotations

import itertools
import json
from typing import Any

from saka.euro.payments.providers.helloasso import signature_hex
from saka.euro.payments.webhooks import WebhookOutcome, payment_webhook_handle

HELLOASSO_SECRET = "helloasso_test_secret_0123456789"
_ids = itertools.count(700_000)
ABSENT = object()


def helloasso_event(
    *,
    member_id: Any,
    amount: Any,
    fee: Any = ABSENT,
    donation: Any = None,
    tip: Any = None,
    project_id: Any = None,
    payment_id: Any = None,
    state: Any = "Authorized",
    event_type: Any = "Payment",
) -> dict[str, Any]:
    """A ``Payment`` notification as HelloAsso sends it (metadata as strings; no fee unless
    given: the receiver estimates it)."""
    metadata: dict[str, Any] = {"member_id": str(member_id)}
    if donation is not None:
        metadata["donation_cents"] = str(donation)
    if tip is not None:
        metadata["tip_cents"] = str(tip)
    if project_id is not None:
        metadata["project_id"] = str(project_id)
    payment: dict[str, Any] = {
        "id": next(_ids) if payment_id is None else payment_id,
        "amount": amount,
        "state": state,
        "date": "2026-12-02T10:00:00+01:00",
        "metadata": metadata,
    }
    if fee is not ABSENT:
        payment["fee"] = fee
    return {"eventType": event_type, "data": {"payment": payment}}


def body_of(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


def hsign(body: bytes, *, secret: str = HELLOASSO_SECRET) -> str:
    return signature_hex(payload=body, secret=secret)


def handle(body: bytes, signature: str | None) -> WebhookOutcome:
    return payment_webhook_handle(payload=body, signature=signature, provider="helloasso")


def hdeliver(event: dict[str, Any] | bytes, *, secret: str = HELLOASSO_SECRET) -> WebhookOutcome:
    """Deliver one correctly signed HelloAsso event through the Python API."""
    body = event if isinstance(event, bytes) else body_of(event)
    return handle(body, hsign(body, secret=secret))
