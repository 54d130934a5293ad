"""Payment webhooks through the Python API: signatures, parsing, deposits, replays.

Only a correctly signed, well-formed event for a known member books anything; every refusal
is a typed error and leaves the books exactly as they were.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction

from saka.core.clock import now
from saka.core.errors import MemberNotFound
from saka.euro import signals
from saka.euro.errors import (
    EventConflict,
    InvalidEvent,
    InvalidSignature,
    UnsupportedCurrency,
    WebhookNotConfigured,
)
from saka.euro.models import AccountKind, EntryKind, EuroEntry, WebhookEvent, WebhookEventStatus
from saka.euro.payments.deposits import deposit_book
from saka.euro.payments.webhooks import payment_webhook_handle, signature_header, signature_verify
from saka.euro.splits import payment_split
from saka.projects.errors import ProjectNotFound
from tests.support.euro import (
    SECRET,
    account_balance,
    body_of,
    deliver,
    euro_balance,
    external_total,
    payment_event,
    sign,
    snapshot,
)

pytestmark = pytest.mark.django_db


def handle(body: bytes, signature: str | None) -> Any:
    return payment_webhook_handle(payload=body, signature=signature)


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


# --- bad events ---------------------------------------------------------------------------------


def _mutate(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, last = path.split(".")
    node = event
    for key in parents:
        node = node[key]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return event


BAD_EVENTS = [
    ("data.object.amount", 0, InvalidEvent),
    ("data.object.amount", -5, InvalidEvent),
    ("data.object.amount", 12.5, InvalidEvent),
    ("data.object.amount", "12.50", InvalidEvent),
    ("data.object.amount", True, InvalidEvent),
    ("data.object.amount", None, InvalidEvent),
    ("data.object.amount", 10**20, InvalidEvent),
    ("data.object.amount", 100_000_001, InvalidEvent),
    ("data.object.amount", KeyError, InvalidEvent),
    ("data.object.fee", 10_001, InvalidEvent),
    ("data.object.fee", -1, InvalidEvent),
    ("data.object.fee", KeyError, InvalidEvent),
    ("data.object.currency", "usd", UnsupportedCurrency),
    ("data.object.currency", "EUR", UnsupportedCurrency),
    ("data.object.currency", None, InvalidEvent),
    ("data.object.id", "", InvalidEvent),
    ("data.object.id", 42, InvalidEvent),
    ("data.object.metadata", "x", InvalidEvent),
    ("data.object.metadata", KeyError, InvalidEvent),
    ("data.object.metadata.member_id", "abc", InvalidEvent),
    ("data.object.metadata.member_id", "-3", InvalidEvent),
    ("data.object.metadata.member_id", "0", InvalidEvent),
    ("data.object.metadata.member_id", "٣", InvalidEvent),
    ("data.object.metadata.member_id", KeyError, InvalidEvent),
    ("data.object.metadata.donation_cents", "6000", InvalidEvent),  # + tip 5000 > 10000
    ("data.object.metadata.donation_cents", "1.5", InvalidEvent),
    ("data.object.metadata.tip_cents", "10001", InvalidEvent),
    ("data.object.metadata.project_id", KeyError, InvalidEvent),  # donation without project
    ("data.object", [], InvalidEvent),
    ("data", None, InvalidEvent),
    ("id", "", InvalidEvent),
    ("id", 7, InvalidEvent),
    ("id", "x" * 256, InvalidEvent),
    ("type", None, InvalidEvent),
]


@pytest.mark.parametrize(
    ("path", "value", "error"), BAD_EVENTS, ids=[f"{p}={v!r}"[:60] for p, v, _ in BAD_EVENTS]
)
def test_malformed_or_inconsistent_events_book_nothing(
    member: Any, project: Any, path: str, value: Any, error: type[Exception]
) -> None:
    # given a correctly signed event with one field wrong
    event = payment_event(
        member_id=member.pk,
        amount=10_000,
        fee=100,
        donation=1_000,
        tip=5_000,
        project_id=project.pk,
    )
    _mutate(event, path, value)
    before = snapshot()
    # when it is delivered
    with pytest.raises(error):
        deliver(event)
    # then it is refused with a typed error and nothing is booked or stored
    assert snapshot() == before


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[]",
        b'"text"',
        b"null",
        b"\xff\xfe",
        b'{"id": NaN}',
        b"[" * 100_000,
        b'{"id": 1e999}',
    ],
    ids=["empty", "truncated", "array", "string", "null", "not-utf8", "nan", "deep", "huge-float"],
)
def test_malformed_json_is_refused_not_crashed(body: bytes) -> None:
    before = snapshot()
    with pytest.raises(InvalidEvent):
        handle(body, sign(body))
    assert snapshot() == before


def test_unknown_member_or_project_books_nothing(member: Any, project: Any) -> None:
    before = snapshot()
    with pytest.raises(MemberNotFound):
        deliver(payment_event(member_id=10**9, amount=1_000))
    with pytest.raises(ProjectNotFound):
        deliver(payment_event(member_id=member.pk, amount=1_000, donation=500, project_id=10**9))
    assert snapshot() == before


# --- what a deposit books -----------------------------------------------------------------------


def test_the_fee_is_split_between_the_parts_in_proportion(member: Any, project: Any) -> None:
    # given 100.00 with 20.00 donated and 5.00 tipped, fee 2.90
    event = payment_event(
        member_id=member.pk, amount=10_000, fee=290, donation=2_000, tip=500, project_id=project.pk
    )
    # when it is booked
    body = deliver(event).body
    # then the fee is split 75 : 20 : 5 by largest remainder (217.5, 58, 14.5 -> 218, 58, 14)
    assert body["wallet"] == {
        "gross": "75.00",
        "fee": "2.18",
        "net": "72.82",
        "main": "72.82",
        "pockets": [],
    }
    assert body["donation"] == {
        "project_id": project.pk,
        "gross": "20.00",
        "fee": "0.58",
        "net": "19.42",
    }
    assert body["tip"] == {"gross": "5.00", "fee": "0.14", "net": "4.86"}
    assert euro_balance(member) == 7_282
    assert account_balance(AccountKind.PROJECT, project=project) == 1_942
    assert account_balance(AccountKind.COMMISSION) == 486
    assert external_total(AccountKind.FEES) == 290


def test_a_deposit_that_is_all_donation_leaves_the_wallet_alone(member: Any, project: Any) -> None:
    body = deliver(
        payment_event(
            member_id=member.pk, amount=1_000, fee=30, donation=1_000, project_id=project.pk
        )
    ).body
    assert body["wallet"]["net"] == "0.00"
    assert euro_balance(member) == 0
    assert account_balance(AccountKind.PROJECT, project=project) == 970


def test_a_fee_equal_to_the_amount_books_only_the_fee(member: Any) -> None:
    deliver(payment_event(member_id=member.pk, amount=30, fee=30))
    assert euro_balance(member) == 0
    assert external_total(AccountKind.FEES) == 30


def test_a_deposit_notifies_only_after_commit(
    member: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given a receiver of deposit_booked
    seen: list[Any] = []

    def receiver(**kwargs: Any) -> None:
        seen.append(kwargs["result"])

    signals.deposit_booked.connect(receiver)
    try:
        # when a deposit is booked
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            deliver(payment_event(member_id=member.pk, amount=1_000))
        # then nothing was sent inside the transaction, and the commit hook sends it
        assert seen == []
        assert len(callbacks) == 1
        callbacks[0]()
        assert [r.amount for r in seen] == [1_000]
    finally:
        signals.deposit_booked.disconnect(receiver)


def _book_then_fail(member: Any) -> None:
    try:
        with transaction.atomic():
            deposit_book(
                member_id=member.pk,
                split=payment_split(amount=100, fee=0),
                project_id=None,
                reference="pi_x",
                at=now(),
            )
            raise RuntimeError("the caller fails after booking")
    except RuntimeError:
        pass


def test_a_rolled_back_deposit_notifies_nobody(
    member: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given a receiver of deposit_booked
    seen: list[Any] = []
    signals.deposit_booked.connect(lambda **kw: seen.append(kw), weak=False, dispatch_uid="t")
    try:
        # when a deposit is booked inside a transaction that then fails
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            _book_then_fail(member)
        # then no commit hook remains and nobody heard of it
        assert callbacks == []
        assert seen == []
        assert not EuroEntry.objects.filter(kind=EntryKind.DEPOSIT).exists()
    finally:
        signals.deposit_booked.disconnect(dispatch_uid="t")
