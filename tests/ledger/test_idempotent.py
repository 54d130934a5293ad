"""``saka.ledger.idempotency.idempotent``: the one wrapper every idempotent service uses."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.db import transaction

from saka.ledger.errors import IdempotencyConflict
from saka.ledger.idempotency import idempotent
from saka.ledger.models import IdempotencyRecord

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Booked:
    n: int
    label: str


def call(key: str | None, payload: dict, counter: list[int]) -> Booked:
    def book() -> Booked:
        counter.append(1)
        return Booked(n=len(counter), label="first" if len(counter) == 1 else "again")

    with transaction.atomic():
        return idempotent(scope="t", key=key, payload=payload, result_type=Booked, book=book)


def test_a_replay_returns_the_first_result_and_books_once():
    counter: list[int] = []
    first = call("k", {"a": 1}, counter)
    again = call("k", {"a": 1}, counter)
    assert first == again == Booked(1, "first")
    assert counter == [1]


def test_no_key_books_every_time_and_stores_nothing():
    counter: list[int] = []
    assert call(None, {"a": 1}, counter) != call(None, {"a": 1}, counter)
    assert counter == [1, 1]
    assert not IdempotencyRecord.objects.exists()


def test_the_same_key_with_another_payload_conflicts_and_books_nothing():
    counter: list[int] = []
    call("k", {"a": 1}, counter)
    with pytest.raises(IdempotencyConflict):
        call("k", {"a": 2}, counter)
    assert counter == [1]


def test_a_failed_booking_leaves_no_key_behind():
    def failing() -> Booked:
        raise ValueError("refused")

    with pytest.raises(ValueError), transaction.atomic():
        idempotent(scope="t", key="k", payload={}, result_type=Booked, book=failing)
    assert not IdempotencyRecord.objects.exists()
    counter: list[int] = []
    assert call("k", {}, counter) == Booked(1, "first")


@pytest.mark.django_db(transaction=True)
def test_it_must_run_inside_a_transaction():
    with pytest.raises(RuntimeError):
        idempotent(scope="t", key="k", payload={}, result_type=Booked, book=lambda: Booked(1, ""))
