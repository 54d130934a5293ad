"""Payment-provider webhooks: signature verification (Stripe's scheme), event parsing, handling.

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

**Booking.** The fee is split between the wallet, donation and tip parts in proportion to
their gross amounts (largest remainder, exact); each part is credited net of its fee share;
the wallet's net part is split across the member's pockets. See ``deposits.deposit_book``.

**Replays and failures.** An event id already processed returns its original 200 body (and
``Idempotent-Replayed: true`` in the REST view) and books nothing; the same id with another
content is ``event_conflict`` (409), and so is a second event for an already booked payment.
The content compared is the validated event (type, payment id, member, project, amounts,
currency), not its bytes: a redelivery differing only in delivery metadata (Stripe's
``pending_webhooks``, ``request``) or key order replays. A refused event (signature,
malformed JSON, wrong currency, inconsistent amounts, unknown member or project) is answered
4xx with a stable code, books nothing and is not stored, so the provider's retry is processed
afresh. Only processed events are stored
(:class:`~saka.euro.models.WebhookEvent`: id, type, payload hash, result).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from saka.core.clock import ensure_aware, now
from saka.core.db import durable
from saka.core.errors import DomainError
from saka.core.members import member_require
from saka.core.metrics import webhook_events
from saka.core.money import format_cents
from saka.euro.accounts import accounts_ensure
from saka.euro.conf import MAX_DEPOSIT_CENTS, get_settings
from saka.euro.errors import (
    EventConflict,
    InvalidEvent,
    InvalidSignature,
    UnsupportedCurrency,
    WebhookNotConfigured,
)
from saka.euro.models import WebhookEvent, WebhookEventStatus
from saka.euro.payments.deposits import DepositResult, deposit_book
from saka.euro.splits import PaymentSplit, payment_split
from saka.ledger.idempotency import request_hash
from saka.projects.selectors import project_get

SIGNATURE_HEADER = "Stripe-Signature"
PAYMENT_SUCCEEDED = "payment_intent.succeeded"
MAX_HEADER_LENGTH = 4096
MAX_ID_LENGTH = 255


# --- signatures ---------------------------------------------------------------------------------


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


# --- parsing ------------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _load(payload: bytes) -> dict[str, Any]:
    try:
        event = json.loads(payload.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidEvent("The body is not valid JSON.", reason="malformed_json") from exc
    if not isinstance(event, dict):
        raise InvalidEvent("The event must be a JSON object.", reason="malformed_event")
    return event


def _text(container: dict[str, Any], key: str, path: str) -> str:
    value = container.get(key)
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= MAX_ID_LENGTH
        or not value.isascii()
        or not value.isprintable()
    ):
        raise InvalidEvent(f"{path} must be a string of 1 to 255 printable characters.", field=path)
    return value


def _object(container: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = container.get(key)
    if not isinstance(value, dict):
        raise InvalidEvent(f"{path} must be an object.", field=path)
    return value


def _count(value: Any, path: str, *, positive: bool = False) -> int:
    """A non-negative integer given as a JSON integer or a string of ASCII digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        number = int(value)
    else:
        raise InvalidEvent(f"{path} must be a non-negative integer.", field=path)
    if number < 0 or number >= 2**63 or (positive and number == 0):
        raise InvalidEvent(f"{path} is out of range.", field=path)
    return number


def _optional_count(container: dict[str, Any], key: str, path: str) -> int | None:
    value = container.get(key)
    return None if value is None else _count(value, path, positive=key.endswith("_id"))


@dataclass(frozen=True)
class Payment:
    payment_id: str
    member_id: int
    project_id: int | None
    split: PaymentSplit


def _payment(event: dict[str, Any]) -> Payment:
    data = _object(event, "data", "data")
    obj = _object(data, "object", "data.object")
    payment_id = _text(obj, "id", "data.object.id")
    amount = _count(obj.get("amount"), "data.object.amount", positive=True)
    fee = _count(obj.get("fee"), "data.object.fee")
    currency = obj.get("currency")
    if not isinstance(currency, str):
        raise InvalidEvent("data.object.currency must be a string.", field="data.object.currency")
    if currency != "eur":
        raise UnsupportedCurrency(currency=currency[:16])
    meta = _object(obj, "metadata", "data.object.metadata")
    member_id = _count(meta.get("member_id"), "metadata.member_id", positive=True)
    donation = _optional_count(meta, "donation_cents", "metadata.donation_cents") or 0
    tip = _optional_count(meta, "tip_cents", "metadata.tip_cents") or 0
    project_id = _optional_count(meta, "project_id", "metadata.project_id")
    if amount > MAX_DEPOSIT_CENTS:
        raise InvalidEvent(
            f"data.object.amount is above {format_cents(MAX_DEPOSIT_CENTS)}.",
            field="data.object.amount",
        )
    if fee > amount:
        raise InvalidEvent(
            "The fee cannot exceed the amount.",
            reason="inconsistent_amounts",
            amount=amount,
            fee=fee,
        )
    if donation + tip > amount:
        raise InvalidEvent(
            "donation_cents + tip_cents cannot exceed the amount.",
            reason="inconsistent_amounts",
            amount=amount,
            donation_cents=donation,
            tip_cents=tip,
        )
    if donation and project_id is None:
        raise InvalidEvent("A donation needs metadata.project_id.", field="metadata.project_id")
    return Payment(
        payment_id=payment_id,
        member_id=member_id,
        project_id=project_id,
        split=payment_split(amount=amount, fee=fee, donation=donation, tip=tip),
    )


# --- handling -----------------------------------------------------------------------------------


def _booked_fields(event_type: str, payment: Payment | None) -> dict[str, Any]:
    """What an event's hash covers: the validated fields that decide what is booked, never the
    delivery's metadata (Stripe changes ``pending_webhooks`` and ``request`` between deliveries
    of one event; ``created``, ``livemode``, ``api_version`` and unknown fields book nothing),
    so a redelivery replays and an event whose booking would differ is ``event_conflict``."""
    if payment is None:
        return {"type": event_type}  # stored and ignored: nothing is booked
    s = payment.split
    return {
        "type": event_type,
        "payment_id": payment.payment_id,
        "member_id": payment.member_id,
        "project_id": payment.project_id,
        "currency": "eur",
        "amount": s.amount,
        "fee": s.fee,
        "donation": s.donation_gross,
        "tip": s.tip_gross,
    }


@dataclass(frozen=True)
class WebhookOutcome:
    body: dict[str, Any]
    replayed: bool


def _replay(stored: WebhookEvent, digest: str) -> WebhookOutcome:
    if stored.payload_hash != digest:
        raise EventConflict(
            "This event id was already processed with another content.", event_id=stored.event_id
        )
    return WebhookOutcome(body=stored.result, replayed=True)


def _deposit_body(event_id: str, payment: Payment, result: DepositResult) -> dict[str, Any]:
    s = payment.split
    return {
        "event_id": event_id,
        "type": PAYMENT_SUCCEEDED,
        "status": WebhookEventStatus.BOOKED.value,
        "payment_id": payment.payment_id,
        "member_id": payment.member_id,
        "entry_id": result.entry_id,
        "amount": format_cents(s.amount),
        "fee": format_cents(s.fee),
        "wallet": {
            "gross": format_cents(s.wallet_gross),
            "fee": format_cents(s.wallet_fee),
            "net": format_cents(s.wallet_net),
            "main": format_cents(result.main),
            "pockets": [
                {"pocket_id": pid, "amount": format_cents(cents)} for pid, cents in result.pockets
            ],
        },
        "donation": {
            "project_id": payment.project_id if s.donation_gross else None,
            "gross": format_cents(s.donation_gross),
            "fee": format_cents(s.donation_fee),
            "net": format_cents(s.donation_net),
        },
        "tip": {
            "gross": format_cents(s.tip_gross),
            "fee": format_cents(s.tip_fee),
            "net": format_cents(s.tip_net),
        },
    }


def payment_webhook_handle(
    *, payload: bytes, signature: str | None, as_of: datetime | None = None
) -> WebhookOutcome:
    """Verify, parse and process one webhook delivery (see the module docstring).

    Raises ``WebhookNotConfigured``, ``InvalidSignature``, ``InvalidEvent``,
    ``UnsupportedCurrency``, ``EventConflict``, ``MemberNotFound``, ``ProjectNotFound``,
    ``LockTimeout``; nothing is booked or stored when it raises. Each delivery counts once in
    ``saka_payment_webhook_events_total``: its status (booked, ignored), ``replayed``, or the
    code of the error it raised.
    """
    try:
        outcome = _handle(payload=payload, signature=signature, as_of=as_of)
    except DomainError as exc:
        webhook_events.labels(outcome=str(exc.code)).inc()
        raise
    status = "replayed" if outcome.replayed else str(outcome.body.get("status", "booked"))
    webhook_events.labels(outcome=status).inc()
    return outcome


def _handle(*, payload: bytes, signature: str | None, as_of: datetime | None) -> WebhookOutcome:
    cfg = get_settings()
    at = ensure_aware(as_of or now())
    signature_verify(
        payload=payload,
        header=signature,
        secret=cfg.webhook_secret,
        tolerance_seconds=cfg.webhook_tolerance_seconds,
        at=at,
    )
    event = _load(payload)
    event_id = _text(event, "id", "id")
    event_type = _text(event, "type", "type")
    payment = _payment(event) if event_type == PAYMENT_SUCCEEDED else None
    digest = request_hash(_booked_fields(event_type, payment))
    if payment is not None:
        if payment.project_id is not None:
            project_get(project_id=payment.project_id)
        accounts_ensure(project_id=payment.project_id)
    with durable():
        stored = WebhookEvent.objects.filter(event_id=event_id).first()
        if stored is not None:
            return _replay(stored, digest)
        try:
            with transaction.atomic():
                claim = WebhookEvent.objects.create(
                    event_id=event_id,
                    type=event_type[:100],
                    payload_hash=digest,
                    status=WebhookEventStatus.IGNORED,
                    received_at=at,
                )
        except IntegrityError:
            # a concurrent delivery of the same event committed first: replay it
            return _replay(WebhookEvent.objects.get(event_id=event_id), digest)
        if payment is None:
            body = {"event_id": event_id, "type": event_type, "status": "ignored"}
            WebhookEvent.objects.filter(pk=claim.pk).update(result=body)
            return WebhookOutcome(body=body, replayed=False)
        member_require(payment.member_id)
        if WebhookEvent.objects.filter(
            payment_id=payment.payment_id, status=WebhookEventStatus.BOOKED
        ).exists():
            raise EventConflict(
                "This payment was already booked by another event.", payment_id=payment.payment_id
            )
        result = deposit_book(
            member_id=payment.member_id,
            split=payment.split,
            project_id=payment.project_id if payment.split.donation_gross else None,
            reference=payment.payment_id,
            at=at,
        )
        body = _deposit_body(event_id, payment, result)
        try:
            with transaction.atomic():
                WebhookEvent.objects.filter(pk=claim.pk).update(
                    status=WebhookEventStatus.BOOKED,
                    payment_id=payment.payment_id,
                    member_id=payment.member_id,
                    amount_cents=payment.split.amount,
                    entry_id=result.entry_id,
                    result=body,
                )
        except IntegrityError as exc:
            raise EventConflict(
                "This payment was already booked by another event.",
                payment_id=payment.payment_id,
            ) from exc
    return WebhookOutcome(body=body, replayed=False)
