"""The HelloAsso provider: its signature, its payload, the fee estimate when the event carries
none, replays, the missing secret, bad payloads (typed 4xx, nothing booked), the fee split to
the cent, and no collision with the Stripe provider's ids."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from saka.core.errors import MemberNotFound
from saka.euro.conf import load_settings
from saka.euro.errors import EventConflict, InvalidEvent, InvalidSignature, WebhookNotConfigured
from saka.euro.models import AccountKind, EuroEntry, WebhookEvent, WebhookEventStatus
from saka.euro.payments.providers import PROVIDERS
from saka.euro.payments.providers.helloasso import HelloAssoProvider, fee_estimate
from saka.projects.errors import ProjectNotFound
from tests.support.euro import account_balance, deliver, euro_balance, payment_event, snapshot
from tests.support.helloasso import (
    HELLOASSO_SECRET,
    body_of,
    handle,
    hdeliver,
    helloasso_event,
    hsign,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _helloasso_secret(settings: Any) -> None:
    settings.SAKA_HELLOASSO_WEBHOOK_SECRET = HELLOASSO_SECRET


# --- signature ----------------------------------------------------------------------------------


def test_a_correctly_signed_payment_is_booked(member: Any) -> None:
    # given an Authorized payment of 50.00 with its fee 1.45
    event = helloasso_event(member_id=member.pk, amount=5_000, fee=145, payment_id=123456)
    # when it is delivered signed
    outcome = hdeliver(event)
    # then it is booked net of the fee, under an event id derived from the payment id
    assert outcome.replayed is False
    assert outcome.body["status"] == "booked"
    assert outcome.body["event_id"] == "helloasso:payment:123456"
    assert (outcome.body["type"], outcome.body["payment_id"]) == ("Payment", "123456")
    assert outcome.body["wallet"]["net"] == "48.55"
    assert euro_balance(member) == 4_855
    stored = WebhookEvent.objects.get()
    assert (stored.provider, stored.status) == ("helloasso", WebhookEventStatus.BOOKED)
    assert EuroEntry.objects.get(pk=outcome.body["entry_id"]).reference == "helloasso:123456"


def test_the_signature_may_be_upper_case_hex_and_the_id_a_digit_string(member: Any) -> None:
    body = body_of(helloasso_event(member_id=member.pk, amount=1_000, fee=0, payment_id="987"))
    outcome = handle(body, hsign(body).upper())
    assert outcome.body["event_id"] == "helloasso:payment:987"
    assert euro_balance(member) == 1_000


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("wrong-secret", "no_matching_signature"),
        ("other-body", "no_matching_signature"),
        ("missing-header", "missing_header"),
        ("empty-header", "missing_header"),
        ("non-ascii", "malformed_header"),
        ("too-long", "malformed_header"),
        ("stripe-style", "no_matching_signature"),
    ],
)
def test_a_bad_signature_is_refused_and_books_nothing(member: Any, case: str, reason: str) -> None:
    # given a valid event under a bad signature
    body = body_of(helloasso_event(member_id=member.pk, amount=5_000))
    signature: str | None = {
        "wrong-secret": hsign(body, secret="other"),
        "other-body": hsign(body + b" "),
        "missing-header": None,
        "empty-header": "",
        "non-ascii": "é" * 64,
        "too-long": "a" * 5_000,
        "stripe-style": f"t=1,v1={hsign(body)}",
    }[case]
    before = snapshot()
    # when it is delivered, then it is refused with the reason, and nothing is stored
    with pytest.raises(InvalidSignature) as err:
        handle(body, signature)
    assert err.value.data["reason"] == reason
    assert snapshot() == before


def test_no_secret_configured_refuses_every_event(member: Any, settings: Any) -> None:
    # given no HelloAsso secret (the Stripe one is configured)
    settings.SAKA_HELLOASSO_WEBHOOK_SECRET = ""
    body = body_of(helloasso_event(member_id=member.pk, amount=5_000))
    before = snapshot()
    # when a delivery comes, even signed with the empty secret
    with pytest.raises(WebhookNotConfigured) as err:
        handle(body, hsign(body, secret=""))
    # then it is refused 503, nothing stored
    assert (err.value.http_status, str(err.value.code)) == (503, "webhook_not_configured")
    assert snapshot() == before


def test_a_stripe_secret_does_not_sign_helloasso_events(member: Any, settings: Any) -> None:
    body = body_of(helloasso_event(member_id=member.pk, amount=5_000))
    with pytest.raises(InvalidSignature):
        handle(body, hsign(body, secret=settings.SAKA_PAYMENT_WEBHOOK_SECRET))


# --- fee estimate -------------------------------------------------------------------------------


def test_the_fee_is_estimated_when_the_event_carries_none(member: Any) -> None:
    # given 100.00 without a fee: 0.8 % + 0.25 = 1.05
    outcome = hdeliver(helloasso_event(member_id=member.pk, amount=10_000))
    assert outcome.body["fee"] == "1.05"
    assert euro_balance(member) == 10_000 - 105


def test_a_null_fee_is_estimated_and_an_explicit_zero_is_kept(member: Any) -> None:
    assert hdeliver(helloasso_event(member_id=member.pk, amount=10_000, fee=None)).body["fee"] == (
        "1.05"
    )
    assert (
        hdeliver(helloasso_event(member_id=member.pk, amount=10_000, fee=0)).body["fee"] == "0.00"
    )


def test_the_estimate_is_capped_at_the_amount(member: Any) -> None:
    # given 0.20 (0.8 % rounds to 0, + 0.25 > 0.20): the whole amount is the fee
    outcome = hdeliver(helloasso_event(member_id=member.pk, amount=20))
    assert (outcome.body["fee"], outcome.body["wallet"]["net"]) == ("0.20", "0.00")
    assert euro_balance(member) == 0


def test_the_estimate_follows_the_settings_and_rounds_half_up(member: Any, settings: Any) -> None:
    # given 0.5 % and no fixed part: 1.00 -> 0.005 EUR exactly, half up -> 0.01
    settings.SAKA_HELLOASSO_FEE_RATE = "0.005"
    settings.SAKA_HELLOASSO_FEE_FIXED_CENTS = 0
    assert hdeliver(helloasso_event(member_id=member.pk, amount=100)).body["fee"] == "0.01"
    assert hdeliver(helloasso_event(member_id=member.pk, amount=99)).body["fee"] == "0.00"
    assert hdeliver(helloasso_event(member_id=member.pk, amount=300)).body["fee"] == "0.02"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SAKA_HELLOASSO_FEE_RATE", "1"),
        ("SAKA_HELLOASSO_FEE_RATE", "-0.01"),
        ("SAKA_HELLOASSO_FEE_RATE", "0.0000001"),
        ("SAKA_HELLOASSO_FEE_RATE", "abc"),
        ("SAKA_HELLOASSO_FEE_RATE", True),
        ("SAKA_HELLOASSO_FEE_FIXED_CENTS", -1),
        ("SAKA_HELLOASSO_FEE_FIXED_CENTS", "25"),
        ("SAKA_HELLOASSO_FEE_FIXED_CENTS", 10_001),
        ("SAKA_HELLOASSO_WEBHOOK_SECRET", 42),
    ],
)
def test_bad_helloasso_settings_refuse_to_start(settings: Any, name: str, value: Any) -> None:
    setattr(settings, name, value)
    with pytest.raises(ImproperlyConfigured, match=name):
        load_settings()


def _reference_estimate(amount: int, rate: Decimal, fixed: int) -> int:
    variable = (Decimal(amount) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return min(amount, int(variable) + fixed)


RATES = st.integers(min_value=0, max_value=999_999).map(lambda n: Decimal(n).scaleb(-6))


@given(
    amount=st.integers(min_value=1, max_value=1_000_000_00),
    rate=RATES,
    fixed=st.integers(min_value=0, max_value=100_00),
)
def test_the_estimate_is_exact_integer_cents_and_never_above_the_amount(
    amount: int, rate: Decimal, fixed: int
) -> None:
    fee = fee_estimate(amount=amount, rate=rate, fixed_cents=fixed)
    assert type(fee) is int
    assert 0 <= fee <= amount
    assert fee == _reference_estimate(amount, rate, fixed)


@given(
    amount=st.integers(min_value=1, max_value=1_000_000_00),
    donation_share=st.integers(min_value=0, max_value=100),
    tip_share=st.integers(min_value=0, max_value=100),
)
def test_an_estimated_fee_splits_to_the_cent(
    amount: int, donation_share: int, tip_share: int
) -> None:
    # given any payment without a fee, with a donation and a tip within the amount
    donation = amount * donation_share // 100
    tip = min(amount - donation, amount * tip_share // 100)
    event = helloasso_event(
        member_id=7, amount=amount, donation=donation, tip=tip, project_id=3, payment_id=1
    )
    # when it is parsed (no database: the split is pure arithmetic)
    parsed = HelloAssoProvider().parse(payload=body_of(event))
    assert parsed.payment is not None
    s = parsed.payment.split
    # then the estimated fee is split between the parts, every cent accounted for
    assert s.fee == _reference_estimate(amount, Decimal("0.008"), 25)
    assert s.wallet_fee + s.donation_fee + s.tip_fee == s.fee
    assert s.wallet_net + s.donation_net + s.tip_net + s.fee == amount
    assert (s.wallet_gross, s.donation_gross, s.tip_gross) == (
        amount - donation - tip,
        donation,
        tip,
    )
    assert min(s.wallet_net, s.donation_net, s.tip_net) >= 0


def test_the_estimated_fee_is_split_between_the_parts_in_proportion(
    member: Any, project: Any
) -> None:
    # given 100.00, 20.00 donated and 5.00 tipped, no fee: estimate 1.05
    event = helloasso_event(
        member_id=member.pk, amount=10_000, donation=2_000, tip=500, project_id=project.pk
    )
    body = hdeliver(event).body
    # then 1.05 is split 75 : 20 : 5 by largest remainder (78.75, 21, 5.25 -> 79, 21, 5)
    assert body["fee"] == "1.05"
    assert body["wallet"] == {
        "gross": "75.00",
        "fee": "0.79",
        "net": "74.21",
        "main": "74.21",
        "pockets": [],
    }
    assert body["donation"] == {
        "project_id": project.pk,
        "gross": "20.00",
        "fee": "0.21",
        "net": "19.79",
    }
    assert body["tip"] == {"gross": "5.00", "fee": "0.05", "net": "4.95"}
    assert euro_balance(member) == 7_421
    assert account_balance(AccountKind.PROJECT, project=project) == 1_979
    assert account_balance(AccountKind.COMMISSION) == 495


# --- replays ------------------------------------------------------------------------------------


def test_a_redelivery_replays_and_books_nothing(member: Any) -> None:
    # given a booked payment (its fee estimated)
    event = helloasso_event(member_id=member.pk, amount=5_000)
    first = hdeliver(event)
    # when it is delivered again, with the keys in another order
    again = hdeliver(
        {
            "data": {"payment": dict(reversed(event["data"]["payment"].items()))},
            "eventType": "Payment",
        }
    )
    # then the original body is replayed and nothing more is booked
    assert (again.replayed, again.body) == (True, first.body)
    assert euro_balance(member) == 5_000 - 65
    assert WebhookEvent.objects.count() == 1


def test_the_same_payment_with_another_content_is_a_conflict(member: Any) -> None:
    hdeliver(helloasso_event(member_id=member.pk, amount=5_000, payment_id=55))
    before = snapshot()
    with pytest.raises(EventConflict):
        hdeliver(helloasso_event(member_id=member.pk, amount=6_000, payment_id=55))
    assert snapshot() == before


@pytest.mark.parametrize("state", ["Refunded", "Pending", "Refused", "Canceled"])
def test_other_states_are_stored_and_ignored(member: Any, state: str) -> None:
    # given a booked payment, then a notification of another state of it
    hdeliver(helloasso_event(member_id=member.pk, amount=5_000, fee=0, payment_id=77))
    event = helloasso_event(member_id=member.pk, amount=5_000, payment_id=77, state=state)
    # when it comes (twice)
    first, again = hdeliver(event), hdeliver(event)
    # then it is stored, ignored, replayed, and books nothing
    assert first.body == {
        "event_id": f"helloasso:payment:77:{state}",
        "type": "Payment",
        "status": "ignored",
    }
    assert (again.replayed, again.body) == (True, first.body)
    assert euro_balance(member) == 5_000


def test_other_event_types_are_stored_and_ignored_under_a_stable_id(member: Any) -> None:
    event = {"eventType": "Order", "data": {"id": 5, "items": [{"amount": 1}]}}
    reordered = {"data": {"items": [{"amount": 1}], "id": 5}, "eventType": "Order"}
    first, again = hdeliver(event), hdeliver(reordered)
    assert first.body["status"] == "ignored"
    assert first.body["event_id"].startswith("helloasso:Order:")
    assert (again.replayed, again.body) == (True, first.body)
    other = hdeliver({"eventType": "Order", "data": {"id": 6}})
    assert other.replayed is False
    assert WebhookEvent.objects.filter(status=WebhookEventStatus.IGNORED).count() == 2


def test_ids_never_collide_between_providers(member: Any) -> None:
    # given a Stripe payment "42" and a HelloAsso payment 42, and a Stripe event whose id is
    # the derived id of a HelloAsso event
    stripe = deliver(
        payment_event(
            member_id=member.pk, amount=1_000, payment_id="42", event_id="helloasso:payment:42"
        )
    )
    helloasso = hdeliver(helloasso_event(member_id=member.pk, amount=2_000, fee=0, payment_id=42))
    # then both are booked, neither replays the other
    assert (stripe.replayed, helloasso.replayed) == (False, False)
    assert euro_balance(member) == 3_000
    assert sorted(WebhookEvent.objects.values_list("provider", "payment_id")) == [
        ("helloasso", "42"),
        ("stripe", "42"),
    ]


def test_the_registry_names_each_provider_by_its_own_name() -> None:
    assert {name: p.name for name, p in PROVIDERS.items()} == {
        "stripe": "stripe",
        "helloasso": "helloasso",
    }
    assert len({p.signature_header for p in PROVIDERS.values()}) == len(PROVIDERS)


# --- bad payloads -------------------------------------------------------------------------------


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


BAD = [
    ("eventType", KeyError),
    ("eventType", 5),
    ("eventType", ""),
    ("data", KeyError),
    ("data", []),
    ("data.payment", KeyError),
    ("data.payment", "x"),
    ("data.payment.id", KeyError),
    ("data.payment.id", 0),
    ("data.payment.id", -1),
    ("data.payment.id", "12a"),
    ("data.payment.id", 1.5),
    ("data.payment.id", True),
    ("data.payment.state", KeyError),
    ("data.payment.state", None),
    ("data.payment.amount", KeyError),
    ("data.payment.amount", 0),
    ("data.payment.amount", 12.5),
    ("data.payment.amount", "10.00"),
    ("data.payment.amount", 100_000_001),
    ("data.payment.fee", 5_001),
    ("data.payment.fee", -1),
    ("data.payment.fee", "1.5"),
    ("data.payment.metadata", KeyError),
    ("data.payment.metadata", "x"),
    ("data.payment.metadata.member_id", KeyError),
    ("data.payment.metadata.member_id", "0"),
    ("data.payment.metadata.member_id", "abc"),
    ("data.payment.metadata.donation_cents", "6000"),  # no project
    ("data.payment.metadata.tip_cents", "5001"),
]


@pytest.mark.parametrize(("path", "value"), BAD)
def test_a_bad_payload_is_a_typed_400_and_books_nothing(member: Any, path: str, value: Any) -> None:
    event = _mutate(helloasso_event(member_id=member.pk, amount=5_000), path, value)
    if path == "data.payment.metadata.tip_cents":
        event["data"]["payment"]["metadata"]["donation_cents"] = "0"
    before = snapshot()
    with pytest.raises(InvalidEvent) as err:
        hdeliver(event)
    assert err.value.http_status == 400
    assert snapshot() == before


@pytest.mark.parametrize("body", [b"", b"[]", b"{", b'{"eventType": NaN}', b"\xff"])
def test_a_body_that_is_not_a_json_object_is_refused(body: bytes) -> None:
    before = snapshot()
    with pytest.raises(InvalidEvent):
        handle(body, hsign(body))
    assert snapshot() == before


def test_an_unknown_member_or_project_is_a_404_and_books_nothing(member: Any) -> None:
    before = snapshot()
    with pytest.raises(MemberNotFound):
        hdeliver(helloasso_event(member_id=999_999_999, amount=5_000))
    with pytest.raises(ProjectNotFound):
        hdeliver(
            helloasso_event(member_id=member.pk, amount=5_000, donation=1, project_id=999_999_999)
        )
    assert snapshot() == before
    # and the payment is processed afresh once fixed
    assert hdeliver(helloasso_event(member_id=member.pk, amount=5_000)).replayed is False


# --- queries ------------------------------------------------------------------------------------


def test_a_helloasso_booking_costs_the_queries_of_a_stripe_one(member: Any) -> None:
    # given a member who already has a wallet (both providers' first deposits done)
    deliver(payment_event(member_id=member.pk, amount=1_000))
    hdeliver(helloasso_event(member_id=member.pk, amount=1_000))
    # when one more deposit comes through each provider, and a replay of each
    stripe_event = payment_event(member_id=member.pk, amount=2_000)
    helloasso = helloasso_event(member_id=member.pk, amount=2_000)
    counts = []
    for send in (lambda: deliver(stripe_event), lambda: hdeliver(helloasso)) * 2:
        with CaptureQueriesContext(connection) as queries:
            send()
        counts.append(len(queries))
    # then the handling is the same: as many queries each, a replay far fewer
    stripe_booking, helloasso_booking, stripe_replay, helloasso_replay = counts
    assert helloasso_booking == stripe_booking
    assert helloasso_replay == stripe_replay < stripe_booking
    assert (helloasso_booking, helloasso_replay) == (20, 4)
