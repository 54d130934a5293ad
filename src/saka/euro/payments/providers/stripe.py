"""Stripe's scheme (the first provider).

**Signature.** Header ``Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`` where
``v1 = HMAC-SHA256(secret, "<t>.<raw request body>")`` in lowercase hex. Verified against
``SAKA_PAYMENT_WEBHOOK_SECRET`` with ``hmac.compare_digest``, and ``t`` must be within
``SAKA_PAYMENT_WEBHOOK_TOLERANCE_SECONDS`` (default 300) of now, both ways. No secret
configured: every event is refused (``webhook_not_configured``, 503); an unsigned event is
never accepted.

**Event** (JSON, modelled on Stripe's ``payment_intent.succeeded``)::

    {
      "id": "evt_1PqX8Z2eZvKYlo2C",            # unique event id (replays share it)
      "type": "payment_intent.succeeded",      # other types are stored and ignored
      "data": {"object": {
        "id": "pi_3PqX8Z2eZvKYlo2C",           # payment id: booked at most once
        "amount": 10000,                       # gross, integer cents
        "currency": "eur",
        "fee": 320,                            # processor fee, integer cents, 0..amount
        "metadata": {
          "member_id": "42",                   # whose wallet is credited
          "donation_cents": "2000",            # optional: part to the project
          "project_id": "7",                   # required when donation_cents > 0
          "tip_cents": "500"                   # optional: part to the platform
        }
      }}
    }

Integers may be JSON integers or strings of digits (Stripe's metadata values are strings).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any

from saka.core.clock import ensure_aware
from saka.euro.conf import get_settings
from saka.euro.errors import (
    InvalidEvent,
    InvalidSignature,
    UnsupportedCurrency,
    WebhookNotConfigured,
)
from saka.euro.payments.providers.base import (
    MAX_HEADER_LENGTH,
    ParsedEvent,
    Payment,
    Provider,
    count,
    load_event,
    object_field,
    payment_build,
    saka_metadata,
    text_field,
)

SIGNATURE_HEADER = "Stripe-Signature"
PAYMENT_SUCCEEDED = "payment_intent.succeeded"


def signature_header(*, payload: bytes, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` value for ``payload`` at ``timestamp`` (for senders and tests)."""
    digest = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


def signature_verify(
    *, payload: bytes, header: str | None, secret: str, tolerance_seconds: int, at: datetime
) -> int:
    """Verify a ``Stripe-Signature`` header; return its timestamp.

    Raises ``WebhookNotConfigured`` (no secret) or ``InvalidSignature`` with ``data.reason``
    one of ``missing_header``, ``malformed_header``, ``no_matching_signature``,
    ``timestamp_outside_tolerance``.
    """
    if not secret:
        raise WebhookNotConfigured()
    if not header:
        raise InvalidSignature(reason="missing_header")
    if len(header) > MAX_HEADER_LENGTH or not header.isascii():
        raise InvalidSignature(reason="malformed_header")
    timestamp: str | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise InvalidSignature(reason="malformed_header")
        if key == "t":
            timestamp = value
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not timestamp.isdigit() or len(timestamp) > 12 or not signatures:
        raise InvalidSignature(reason="malformed_header")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    expected_hex = expected.hexdigest()
    if not any(hmac.compare_digest(expected_hex, candidate) for candidate in signatures):
        raise InvalidSignature(reason="no_matching_signature")
    if abs(ensure_aware(at).timestamp() - int(timestamp)) > tolerance_seconds:
        raise InvalidSignature(
            reason="timestamp_outside_tolerance", tolerance_seconds=tolerance_seconds
        )
    return int(timestamp)


def payment_parse(event: dict[str, Any]) -> Payment:
    """The payment of a ``payment_intent.succeeded`` event."""
    data = object_field(event, "data", "data")
    obj = object_field(data, "object", "data.object")
    payment_id = text_field(obj, "id", "data.object.id")
    amount = count(obj.get("amount"), "data.object.amount", positive=True)
    fee = count(obj.get("fee"), "data.object.fee")
    currency = obj.get("currency")
    if not isinstance(currency, str):
        raise InvalidEvent("data.object.currency must be a string.", field="data.object.currency")
    if currency != "eur":
        raise UnsupportedCurrency(currency=currency[:16])
    meta = object_field(obj, "metadata", "data.object.metadata")
    return payment_build(
        payment_id=payment_id, amount=amount, fee=fee, meta=meta, amount_path="data.object.amount"
    )


class StripeProvider(Provider):
    name = "stripe"
    signature_header = SIGNATURE_HEADER

    def secret(self) -> str:
        return get_settings().webhook_secret

    def verify(self, *, payload: bytes, header: str | None, at: datetime) -> None:
        signature_verify(
            payload=payload,
            header=header,
            secret=self.secret(),
            tolerance_seconds=get_settings().webhook_tolerance_seconds,
            at=at,
        )

    def parse(self, *, payload: bytes) -> ParsedEvent:
        event = load_event(payload)
        event_id = text_field(event, "id", "id")
        event_type = text_field(event, "type", "type")
        payment = payment_parse(event) if event_type == PAYMENT_SUCCEEDED else None
        return ParsedEvent(event_id=event_id, event_type=event_type, payment=payment)

    def reference(self, payment_id: str) -> str:
        return payment_id  # Stripe's ids are prefixed already (pi_...): kept as they were

    def build_event(
        self,
        *,
        member_id: int,
        amount: int,
        fee: int | None,
        donation: int,
        tip: int,
        project_id: int | None,
        event_id: str | None,
        payment_id: str | None,
        created: datetime,
    ) -> dict[str, Any]:
        return {
            "id": event_id or f"evt_saka_{secrets.token_hex(12)}",
            "object": "event",
            "type": PAYMENT_SUCCEEDED,
            "created": int(ensure_aware(created).timestamp()),
            "data": {
                "object": {
                    "id": payment_id or f"pi_saka_{secrets.token_hex(12)}",
                    "object": "payment_intent",
                    "amount": amount,
                    "currency": "eur",
                    "fee": fee or 0,
                    "metadata": saka_metadata(
                        member_id=member_id, donation=donation, tip=tip, project_id=project_id
                    ),
                }
            },
        }

    def sign(self, *, payload: bytes, secret: str, at: datetime) -> str:
        return signature_header(
            payload=payload, secret=secret, timestamp=int(ensure_aware(at).timestamp())
        )
