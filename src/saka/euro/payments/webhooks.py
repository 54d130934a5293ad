"""Payment-provider webhooks: the provider-independent handling of a delivery.

Each provider (``saka.euro.payments.providers``: Stripe's scheme, HelloAsso's) verifies its
signature and parses its payload into a ``ParsedEvent`` (event id, type, payment or none);
this module claims, replays or refuses the event and books the payment. See
docs/providers.md for the schemes.

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
(:class:`~saka.euro.models.WebhookEvent`: provider, id, type, payload hash, result).

**Providers never collide.** Event ids and payment ids are unique per provider (the
``provider`` column is part of both unique constraints): HelloAsso's payment ``42`` and a
Stripe payment ``42`` are two payments.
"""

from __future__ import annotations

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
from saka.euro.errors import EventConflict
from saka.euro.models import WebhookEvent, WebhookEventStatus
from saka.euro.payments.deposits import DepositResult, deposit_book
from saka.euro.payments.providers import (
    DEFAULT_PROVIDER,
    PROVIDERS,
    Payment,
    Provider,
    provider_get,
)
from saka.euro.payments.providers.base import MAX_HEADER_LENGTH, MAX_ID_LENGTH
from saka.euro.payments.providers.stripe import (
    PAYMENT_SUCCEEDED,
    SIGNATURE_HEADER,
    signature_header,
    signature_verify,
)
from saka.ledger.idempotency import request_hash
from saka.projects.selectors import project_get

__all__ = [
    "MAX_HEADER_LENGTH",
    "MAX_ID_LENGTH",
    "PAYMENT_SUCCEEDED",
    "SIGNATURE_HEADER",
    "Payment",
    "WebhookOutcome",
    "payment_webhook_handle",
    "signature_header",
    "signature_verify",
]


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


def _deposit_body(
    event_id: str, event_type: str, payment: Payment, result: DepositResult
) -> dict[str, Any]:
    s = payment.split
    return {
        "event_id": event_id,
        "type": event_type,
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
    *,
    payload: bytes,
    signature: str | None,
    as_of: datetime | None = None,
    provider: str = DEFAULT_PROVIDER,
) -> WebhookOutcome:
    """Verify, parse and process one webhook delivery of ``provider`` (a name of
    ``providers.PROVIDERS``; see the module docstring).

    Raises ``WebhookNotConfigured``, ``InvalidSignature``, ``InvalidEvent``,
    ``UnsupportedCurrency``, ``EventConflict``, ``MemberNotFound``, ``ProjectNotFound``,
    ``LockTimeout``; nothing is booked or stored when it raises. Each delivery counts once in
    ``saka_payment_webhook_events_total`` under its provider: its status (booked, ignored),
    ``replayed``, or the code of the error it raised.
    """
    label = provider if provider in PROVIDERS else "unknown"
    try:
        outcome = _handle(
            provider_get(name=provider), payload=payload, signature=signature, as_of=as_of
        )
    except DomainError as exc:
        webhook_events.labels(provider=label, outcome=str(exc.code)).inc()
        raise
    status = "replayed" if outcome.replayed else str(outcome.body.get("status", "booked"))
    webhook_events.labels(provider=label, outcome=status).inc()
    return outcome


def _handle(
    provider: Provider, *, payload: bytes, signature: str | None, as_of: datetime | None
) -> WebhookOutcome:
    at = ensure_aware(as_of or now())
    provider.verify(payload=payload, header=signature, at=at)
    parsed = provider.parse(payload=payload)
    event_id, event_type, payment = parsed.event_id, parsed.event_type, parsed.payment
    events = WebhookEvent.objects.filter(provider=provider.name)
    digest = request_hash(_booked_fields(event_type, payment))
    if payment is not None:
        if payment.project_id is not None:
            project_get(project_id=payment.project_id)
        accounts_ensure(project_id=payment.project_id)
    with durable():
        stored = events.filter(event_id=event_id).first()
        if stored is not None:
            return _replay(stored, digest)
        try:
            with transaction.atomic():
                claim = WebhookEvent.objects.create(
                    provider=provider.name,
                    event_id=event_id,
                    type=event_type[:100],
                    payload_hash=digest,
                    status=WebhookEventStatus.IGNORED,
                    received_at=at,
                )
        except IntegrityError:
            # a concurrent delivery of the same event committed first: replay it
            return _replay(events.get(event_id=event_id), digest)
        if payment is None:
            body = {"event_id": event_id, "type": event_type, "status": "ignored"}
            WebhookEvent.objects.filter(pk=claim.pk).update(result=body)
            return WebhookOutcome(body=body, replayed=False)
        member_require(payment.member_id)
        if events.filter(payment_id=payment.payment_id, status=WebhookEventStatus.BOOKED).exists():
            raise EventConflict(
                "This payment was already booked by another event.", payment_id=payment.payment_id
            )
        result = deposit_book(
            member_id=payment.member_id,
            split=payment.split,
            project_id=payment.project_id if payment.split.donation_gross else None,
            reference=provider.reference(payment.payment_id),
            at=at,
            provider=provider.name,
            payment_id=payment.payment_id,
        )
        body = _deposit_body(event_id, event_type, payment, result)
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
