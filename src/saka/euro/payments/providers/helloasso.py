"""HelloAsso's scheme (the provider French associations use).

**Signature.** Header ``X-HelloAsso-Signature: <hex>`` where ``hex = HMAC-SHA256(secret,
<raw request body>)`` in lowercase hex (upper case accepted), compared with
``hmac.compare_digest`` against ``SAKA_HELLOASSO_WEBHOOK_SECRET``. No secret configured: every
event is refused (``webhook_not_configured``, 503). The scheme carries no timestamp, so an old
delivery verifies: replays are safe because processing is idempotent (a processed event replays
its original answer and books nothing; a payment is booked at most once).

**Event** (JSON, modelled on HelloAsso's notifications)::

    {
      "eventType": "Payment",                  # other types are stored and ignored
      "data": {"payment": {
        "id": 123456,                          # payment id (integer or digit string)
        "amount": 10000,                       # gross, integer cents
        "fee": 320,                            # optional: processor fee, integer cents
        "state": "Authorized",                 # other states are stored and ignored
        "metadata": {"member_id": "42", "donation_cents": "2000", "project_id": "7",
                     "tip_cents": "500"}       # as for Stripe
      }}
    }

**Event ids.** HelloAsso sends none, so the id is derived: ``helloasso:payment:<id>`` for an
``Authorized`` payment (a redelivery replays; the payment is booked once),
``helloasso:payment:<id>:<state>`` for another state of a payment, and
``helloasso:<eventType>:<sha256 of the canonical JSON>`` for another event type (stable across
redeliveries and key order).

**Fee estimate.** When ``fee`` is absent (or null): ``amount x SAKA_HELLOASSO_FEE_RATE``
(default 0.008) ``+ SAKA_HELLOASSO_FEE_FIXED_CENTS`` (default 25), the product rounded to the
cent half up on the exact value (integer arithmetic, never a float), capped at the amount.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime
from decimal import Decimal
from typing import Any

from saka.euro.conf import get_settings
from saka.euro.errors import InvalidSignature, WebhookNotConfigured
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

SIGNATURE_HEADER = "X-HelloAsso-Signature"
PAYMENT_EVENT = "Payment"
AUTHORIZED = "Authorized"


def fee_estimate(*, amount: int, rate: Decimal, fixed_cents: int) -> int:
    """``round_half_up(amount x rate) + fixed_cents``, at most ``amount`` (exact integers)."""
    numerator, denominator = rate.as_integer_ratio()
    variable = (2 * amount * numerator + denominator) // (2 * denominator)
    return min(amount, variable + fixed_cents)


def signature_hex(*, payload: bytes, secret: str) -> str:
    """The ``X-HelloAsso-Signature`` value for ``payload`` (for senders and tests)."""
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def signature_verify(*, payload: bytes, header: str | None, secret: str) -> None:
    """Raises ``WebhookNotConfigured`` (no secret) or ``InvalidSignature`` with ``data.reason``
    one of ``missing_header``, ``malformed_header``, ``no_matching_signature``."""
    if not secret:
        raise WebhookNotConfigured()
    if not header:
        raise InvalidSignature(reason="missing_header")
    candidate = header.strip()
    if len(candidate) > MAX_HEADER_LENGTH or not candidate.isascii():
        raise InvalidSignature(reason="malformed_header")
    if not hmac.compare_digest(signature_hex(payload=payload, secret=secret), candidate.lower()):
        raise InvalidSignature(reason="no_matching_signature")


def _payment_id(value: Any) -> str:
    return str(count(value, "data.payment.id", positive=True))


def _canonical_digest(event: dict[str, Any]) -> str:
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def payment_parse(payment: dict[str, Any], *, payment_id: str) -> Payment:
    amount = count(payment.get("amount"), "data.payment.amount", positive=True)
    raw_fee = payment.get("fee")
    if raw_fee is None:
        cfg = get_settings()
        fee = fee_estimate(
            amount=amount, rate=cfg.helloasso_fee_rate, fixed_cents=cfg.helloasso_fee_fixed_cents
        )
    else:
        fee = count(raw_fee, "data.payment.fee")
    meta = object_field(payment, "metadata", "data.payment.metadata")
    return payment_build(
        payment_id=payment_id, amount=amount, fee=fee, meta=meta, amount_path="data.payment.amount"
    )


class HelloAssoProvider(Provider):
    name = "helloasso"
    signature_header = SIGNATURE_HEADER

    def secret(self) -> str:
        return get_settings().helloasso_webhook_secret

    def verify(self, *, payload: bytes, header: str | None, at: datetime) -> None:
        signature_verify(payload=payload, header=header, secret=self.secret())

    def parse(self, *, payload: bytes) -> ParsedEvent:
        event = load_event(payload)
        event_type = text_field(event, "eventType", "eventType")
        if event_type != PAYMENT_EVENT:
            event_id = f"helloasso:{event_type}:{_canonical_digest(event)}"
            return ParsedEvent(event_id=event_id[:255], event_type=event_type, payment=None)
        data = object_field(event, "data", "data")
        payment = object_field(data, "payment", "data.payment")
        payment_id = _payment_id(payment.get("id"))
        state = text_field(payment, "state", "data.payment.state")
        if state != AUTHORIZED:
            event_id = f"helloasso:payment:{payment_id}:{state}"
            return ParsedEvent(event_id=event_id[:255], event_type=event_type, payment=None)
        return ParsedEvent(
            event_id=f"helloasso:payment:{payment_id}",
            event_type=event_type,
            payment=payment_parse(payment, payment_id=payment_id),
        )

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
        # HelloAsso carries no event id: a given event_id is ignored (the payment id replays)
        payment: dict[str, Any] = {
            "id": int(payment_id) if payment_id else secrets.randbelow(10**12) + 1,
            "amount": amount,
            "state": AUTHORIZED,
            "date": created.isoformat(),
            "metadata": saka_metadata(
                member_id=member_id, donation=donation, tip=tip, project_id=project_id
            ),
        }
        if fee is not None:
            payment["fee"] = fee
        return {"eventType": PAYMENT_EVENT, "data": {"payment": payment}}

    def sign(self, *, payload: bytes, secret: str, at: datetime) -> str:
        return signature_hex(payload=payload, secret=secret)
