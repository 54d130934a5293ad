"""Idempotency keys (spec section 2): replay returns the original, other payload conflicts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction

from saka.grains import selectors
from saka.grains.errors import DailyLimitReached
from saka.grains.models import EntryKind, SakaEntry
from saka.ledger.errors import IdempotencyConflict, InvalidIdempotencyKey
from saka.ledger.idempotency import (
    idempotency_claim,
    idempotency_store,
    request_hash,
    validate_key,
)
from saka.ledger.models import IdempotencyRecord
from tests.support.clock import T0
from tests.support.saka import harvest

pytestmark = pytest.mark.django_db


def harvests(member_id):
    return SakaEntry.objects.filter(member_id=member_id, kind=EntryKind.HARVEST).count()


# --- harvest -----------------------------------------------------------------------------------


def test_harvest_replay_returns_the_original_result(member, platform_user):
    # given a harvest with a key
    first = harvest(member.pk, granted_by_id=platform_user.pk, idempotency_key="evt-1")
    # when the platform retries it, later
    again = harvest(
        member.pk,
        granted_by_id=platform_user.pk,
        idempotency_key="evt-1",
        as_of=T0 + timedelta(minutes=5),
    )
    # then the same result, booked once
    assert again == first
    assert harvests(member.pk) == 1
    assert selectors.wallet_summary(member_id=member.pk).balance == 10


def test_harvest_replay_is_not_refused_by_the_limit_it_used(member):
    # given the daily limit reached, the last harvest with a key
    harvest(member.pk)
    harvest(member.pk)
    last = harvest(member.pk, idempotency_key="third")
    # when that request is retried
    again = harvest(member.pk, idempotency_key="third")
    # then it replays instead of failing on the limit
    assert again == last
    assert again.used_today == 3
    # and a new request is still refused
    with pytest.raises(DailyLimitReached):
        harvest(member.pk, idempotency_key="fourth")
    assert harvests(member.pk) == 3


def test_manual_adjust_replay(member, staff_user):
    first = harvest(
        member.pk, "manual_adjust", amount=300, granted_by_id=staff_user.pk, idempotency_key="adj"
    )
    again = harvest(
        member.pk, "manual_adjust", amount=300, granted_by_id=staff_user.pk, idempotency_key="adj"
    )
    assert again == first
    assert selectors.wallet_summary(member_id=member.pk).balance == 300


@pytest.mark.parametrize(
    "change",
    [
        {"reason": "poll_vote"},
        {"member": "other"},
    ],
)
def test_harvest_same_key_other_payload_is_a_conflict(member, other_member, change):
    # given a harvest with a key
    harvest(member.pk, idempotency_key="evt")
    # when the same key (same caller) comes with another payload
    target = other_member.pk if change.get("member") == "other" else member.pk
    with pytest.raises(IdempotencyConflict) as exc:
        harvest(target, change.get("reason", "content_read"), idempotency_key="evt")
    # then 409, and nothing more is booked
    assert exc.value.http_status == 409
    assert exc.value.code == "idempotency_conflict"
    assert harvests(member.pk) + harvests(other_member.pk) == 1


def test_manual_adjust_other_amount_is_a_conflict(member, staff_user):
    harvest(member.pk, "manual_adjust", amount=10, granted_by_id=staff_user.pk, idempotency_key="a")
    with pytest.raises(IdempotencyConflict):
        harvest(
            member.pk, "manual_adjust", amount=11, granted_by_id=staff_user.pk, idempotency_key="a"
        )
    assert selectors.wallet_summary(member_id=member.pk).balance == 10


def test_harvest_keys_are_scoped_per_caller(member, platform_user, make_user):
    # given two platform callers using the same key for the same member
    other_platform = make_user(platform=True)
    a = harvest(member.pk, granted_by_id=platform_user.pk, idempotency_key="evt")
    b = harvest(member.pk, granted_by_id=other_platform.pk, idempotency_key="evt")
    # then both are booked
    assert a.entry_id != b.entry_id
    assert harvests(member.pk) == 2


def test_refused_harvest_leaves_no_key(member):
    # given the limit reached
    for _ in range(3):
        harvest(member.pk)
    # when a keyed request is refused
    with pytest.raises(DailyLimitReached):
        harvest(member.pk, idempotency_key="later")
    # then its key was not kept: the next day the same key books
    assert not IdempotencyRecord.objects.filter(key="later").exists()
    assert harvest(member.pk, idempotency_key="later", as_of=T0 + timedelta(days=1)).used_today == 1


@pytest.mark.parametrize("key", ["", "x" * 201, "clé", "tab\there", "new\nline", "\x00", 12, None])
def test_invalid_keys_are_refused(member, key):
    # None means "no key" in the services; check the building block directly for it
    if key is None:
        with pytest.raises(InvalidIdempotencyKey):
            validate_key(key)
        return
    with pytest.raises(InvalidIdempotencyKey) as exc:
        harvest(member.pk, idempotency_key=key)
    assert exc.value.http_status == 400
    assert harvests(member.pk) == 0


@pytest.mark.parametrize("key", ["a", "x" * 200, "order-42/retry#1", " spaced key ", "~!@"])
def test_valid_keys_are_accepted(member, key):
    assert harvest(member.pk, idempotency_key=key).amount == 10
    assert IdempotencyRecord.objects.get(key=key).result["amount"] == 10


# --- building blocks ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_claim_and_store_must_run_inside_a_transaction():
    # (a transactional test: no test-case transaction around it)
    with pytest.raises(RuntimeError):
        idempotency_claim(scope="s", key="k", payload={})
    with pytest.raises(RuntimeError):
        idempotency_store(scope="s", key="k", result={})


def test_request_hash_is_canonical():
    assert request_hash({"a": 1, "b": [1, 2]}) == request_hash({"b": [1, 2], "a": 1})
    assert request_hash({"a": 1}) != request_hash({"a": "1"})
    assert request_hash({"a": None}) != request_hash({})
    assert len(request_hash({})) == 64


def test_claim_then_replay_then_conflict():
    # given a claimed key with a stored result
    with transaction.atomic():
        assert idempotency_claim(scope="test", key="k1", payload={"x": 1}) is None
        idempotency_store(scope="test", key="k1", result={"ok": 1})
    # when claimed again with the same payload, then the result is replayed
    with transaction.atomic():
        assert idempotency_claim(scope="test", key="k1", payload={"x": 1}) == {"ok": 1}
    # and another payload conflicts; the same key in another scope is free
    with transaction.atomic():
        with pytest.raises(IdempotencyConflict):
            idempotency_claim(scope="test", key="k1", payload={"x": 2})
        assert idempotency_claim(scope="other", key="k1", payload={"x": 2}) is None
    assert IdempotencyRecord.objects.filter(key="k1").count() == 2


def test_request_hash_takes_only_normalised_json_values():
    # a Decimal, a float or a datetime in a payload is a service that forgot to normalise
    from datetime import UTC, datetime
    from decimal import Decimal

    for raw in (Decimal("1.00"), 1.0, datetime(2026, 1, 1, tzinfo=UTC)):
        with pytest.raises(TypeError):
            request_hash({"amount": raw})
    # a str subclass (an enum member) hashes as its value
    from enum import StrEnum

    class Kind(StrEnum):
        DONATION = "donation"

    assert request_hash({"kind": Kind.DONATION}) == request_hash({"kind": "donation"})
