"""Payment webhooks through the Python API: signatures and replays.

Only a correctly signed event books anything; a replay returns the original result and books
nothing; every refusal is a typed error and leaves the books exactly as they were."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

import pytest

from saka.core.clock import now
from saka.core.errors import MemberNotFound
from saka.euro.errors import EventConflict, InvalidSignature, WebhookNotConfigured
from saka.euro.models import AccountKind, EuroEntry, WebhookEvent, WebhookEventStatus
from saka.euro.payments.webhooks import signature_header, signature_verify
from tests.support.euro import (
    SECRET,
    body_of,
    deliver,
    euro_balance,
    external_total,
    handle,
    payment_event,
    sign,
    snapshot,
)

pytestmark = pytest.mark.django_db


# --- signatures ---------------------------------------------------------------------------------


def test_signature_is_stripes_scheme() -> None:
    # given a payload, a secret and a timestamp
    body, t = b'{"id":"evt_1"}', 1_700_000_000
    # when the header is built
    header = signature_header(payload=body, secret="s3cret", timestamp=t)
    # then v1 is the HMAC-SHA256 of "<t>.<body>" in hex
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t={t},v1={expected}"


def test_a_valid_signature_books_the_deposit(member: Any) -> None:
    # given a correctly signed event of 100.00 EUR with a 3.20 EUR fee
    event = payment_event(member_id=member.pk, amount=10_000, fee=320)
    # when it is delivered
    outcome = deliver(event)
    # then the wallet gets the amount net of the fee, the processor the fee
    assert not outcome.replayed
    assert outcome.body["status"] == "booked"
    assert outcome.body["amount"] == "100.00"
    assert outcome.body["fee"] == "3.20"
    assert outcome.body["wallet"]["net"] == "96.80"
    assert euro_balance(member) == 9_680
    assert external_total(AccountKind.FEES) == 320
    assert external_total(AccountKind.PROVIDER) == -10_000
    stored = WebhookEvent.objects.get(event_id=event["id"])
    assert stored.status == WebhookEventStatus.BOOKED
    assert stored.result == outcome.body
    assert len(stored.payload_hash) == 64


@pytest.mark.parametrize(
    ("make_header", "reason"),
    [
        (lambda body: sign(body, secret="whsec_wrong"), "no_matching_signature"),
        (lambda body: sign(body, at=now() - timedelta(seconds=301)), "timestamp_outside_tolerance"),
        (lambda body: sign(body, at=now() + timedelta(seconds=301)), "timestamp_outside_tolerance"),
        (lambda body: None, "missing_header"),
        (lambda body: "", "missing_header"),
        (lambda body: "garbage", "malformed_header"),
        (lambda body: "t=abc,v1=00", "malformed_header"),
        (lambda body: sign(body).split(",")[0], "malformed_header"),
        (lambda body: "v1=" + sign(body).split("v1=")[1], "malformed_header"),
        (lambda body: sign(body).replace("v1=", "v0="), "malformed_header"),
        (lambda body: sign(body) + "é", "malformed_header"),
        (lambda body: sign(body)[:-1] + "é", "malformed_header"),
        (lambda body: sign(b"another body"), "no_matching_signature"),
        (
            lambda body: sign(body).upper().replace("T=", "t=").replace("V1=", "v1="),
            "no_matching_signature",
        ),
    ],
    ids=[
        "wrong-secret",
        "stale",
        "future",
        "missing",
        "empty",
        "garbage",
        "bad-timestamp",
        "no-v1",
        "no-t",
        "v0-only",
        "non-ascii",
        "non-ascii-digest",
        "other-body",
        "uppercase-hex",
    ],
)
def test_a_bad_signature_books_nothing(member: Any, make_header: Any, reason: str) -> None:
    # given a well-formed event for a known member, signed wrongly
    body = body_of(payment_event(member_id=member.pk, amount=5_000))
    before = snapshot()
    # when it is delivered
    with pytest.raises(InvalidSignature) as refused:
        handle(body, make_header(body))
    # then it is refused with the reason, and nothing is booked or stored
    assert refused.value.data["reason"] == reason
    assert snapshot() == before


def test_the_signature_is_checked_before_the_body_is_parsed() -> None:
    # given a malformed body with a wrong signature
    # when it is delivered, then the signature is what fails
    with pytest.raises(InvalidSignature):
        handle(b"{not json", sign(b"{not json", secret="whsec_wrong"))


def test_any_of_several_v1_signatures_may_match(member: Any) -> None:
    # given a header with an old secret's signature and the current one (secret rotation)
    body = body_of(payment_event(member_id=member.pk, amount=1_000))
    t = int(now().timestamp())
    old = signature_header(payload=body, secret="whsec_old", timestamp=t).split(",")[1]
    header = (
        f"t={t},{old},{signature_header(payload=body, secret=SECRET, timestamp=t).split(',')[1]}"
    )
    # when it is delivered, then it is booked
    assert handle(body, header).body["status"] == "booked"


def test_the_tolerance_is_a_setting(member: Any, settings: Any) -> None:
    # given a tolerance of 10 minutes and a signature 9 minutes old
    settings.SAKA_PAYMENT_WEBHOOK_TOLERANCE_SECONDS = 600
    body = body_of(payment_event(member_id=member.pk, amount=1_000))
    # when it is delivered, then it is accepted
    assert handle(body, sign(body, at=now() - timedelta(minutes=9))).body["status"] == "booked"


@pytest.mark.parametrize("secret", ["", None])
def test_no_secret_configured_refuses_everything(member: Any, settings: Any, secret: Any) -> None:
    # given no webhook secret, and an event "signed" with the empty secret
    settings.SAKA_PAYMENT_WEBHOOK_SECRET = secret
    body = body_of(payment_event(member_id=member.pk, amount=1_000))
    before = snapshot()
    # when it is delivered signed, unsigned, or signed with the empty key
    for header in (sign(body), None, sign(body, secret="")):
        with pytest.raises(WebhookNotConfigured):
            handle(body, header)
    # then nothing is booked
    assert snapshot() == before


def test_signature_verify_returns_the_timestamp() -> None:
    at = now()
    body = b"{}"
    assert signature_verify(
        payload=body, header=sign(body, at=at), secret=SECRET, tolerance_seconds=300, at=at
    ) == int(at.timestamp())


# --- replays ------------------------------------------------------------------------------------


def test_a_replay_returns_the_original_result_and_books_nothing(member: Any) -> None:
    # given a booked event
    event = payment_event(member_id=member.pk, amount=2_500, fee=75)
    first = deliver(event)
    after_first = snapshot()
    # when the provider delivers it again (freshly signed), twice
    second = deliver(event)
    third = deliver(body_of(event).replace(b", ", b",  "))  # same JSON, other whitespace
    # then both replay the original 200 body and nothing more is booked
    assert second.replayed
    assert third.replayed
    assert second.body == first.body == third.body
    assert snapshot() == after_first
    assert euro_balance(member) == 2_425


def test_a_replay_with_another_content_is_a_conflict(member: Any) -> None:
    # given a booked event
    event = payment_event(member_id=member.pk, amount=2_500)
    deliver(event)
    before = snapshot()
    # when an event with the same id but another amount arrives
    event["data"]["object"]["amount"] = 250_000
    with pytest.raises(EventConflict):
        deliver(event)
    # then it is refused and nothing is booked
    assert snapshot() == before


def test_a_redelivery_differing_only_in_delivery_metadata_replays(member: Any) -> None:
    # given a booked event as Stripe first delivers it
    event = payment_event(member_id=member.pk, amount=2_500, fee=75, tip=100)
    event.update({"created": 1_700_000_000, "pending_webhooks": 2, "livemode": False})
    event["request"] = {"id": "req_first", "idempotency_key": "ik_1"}
    first = deliver(event)
    after_first = snapshot()
    # when Stripe redelivers it: fewer pending webhooks, another (or no) request, and a
    # field it added since, with the metadata strings now integers and the keys reordered
    again = dict(reversed(list(event.items())))
    again.update({"pending_webhooks": 1, "request": {"id": None}, "api_version": "2024-06-20"})
    meta = again["data"]["object"]["metadata"]
    meta.update({k: int(v) for k, v in meta.items()})
    second = deliver(again)
    # then it replays the original 200 body and books nothing
    assert second.replayed
    assert second.body == first.body
    assert snapshot() == after_first


@pytest.mark.parametrize(
    ("field", "value"),
    [("fee", 80), ("tip_cents", "200"), ("member_id", "other"), ("id", "pi_other")],
)
def test_a_redelivery_that_would_book_otherwise_is_a_conflict(
    member: Any, make_user: Any, field: str, value: Any
) -> None:
    # given a booked event
    event = payment_event(member_id=member.pk, amount=2_500, fee=75, tip=100)
    deliver(event)
    before = snapshot()
    # when the same event id comes with one booked field changed
    obj = event["data"]["object"]
    if value == "other":
        value = str(make_user().pk)
    if field in obj["metadata"]:
        obj["metadata"][field] = value
    else:
        obj[field] = value
    # then it is a conflict and nothing is booked
    with pytest.raises(EventConflict):
        deliver(event)
    assert snapshot() == before


def test_a_second_event_for_a_booked_payment_is_a_conflict(member: Any) -> None:
    # given a booked payment
    deliver(payment_event(member_id=member.pk, amount=2_500, payment_id="pi_same"))
    before = snapshot()
    # when another event id reports the same payment
    with pytest.raises(EventConflict):
        deliver(payment_event(member_id=member.pk, amount=2_500, payment_id="pi_same"))
    # then nothing is booked twice
    assert snapshot() == before


def test_a_refused_event_can_be_retried_after_the_cause_is_fixed(make_user: Any) -> None:
    # given an event for a member that is not active yet
    member = make_user(is_active=False)
    event = payment_event(member_id=member.pk, amount=1_000)
    with pytest.raises(MemberNotFound):
        deliver(event)
    assert not WebhookEvent.objects.filter(event_id=event["id"]).exists()
    # when the member is activated and the provider retries
    member.is_active = True
    member.save()
    # then the event is booked
    assert deliver(event).body["status"] == "booked"
    assert euro_balance(member) == 1_000


def test_other_event_types_are_stored_and_ignored(member: Any) -> None:
    # given a payment_failed event
    event = payment_event(
        member_id=member.pk, amount=1_000, event_type="payment_intent.payment_failed"
    )
    before_entries = EuroEntry.objects.count()
    # when it is delivered twice
    first, second = deliver(event), deliver(event)
    # then it is acknowledged, stored as ignored, and books nothing
    assert first.body == {"event_id": event["id"], "type": event["type"], "status": "ignored"}
    assert second.replayed
    assert second.body == first.body
    assert EuroEntry.objects.count() == before_entries
    assert WebhookEvent.objects.get(event_id=event["id"]).status == WebhookEventStatus.IGNORED
