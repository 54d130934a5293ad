"""Payment webhook events that are malformed or inconsistent, not JSON, or for an unknown member
or project: a typed error, never a crash, and the books exactly as they were."""

from __future__ import annotations

from typing import Any

import pytest

from saka.core.errors import MemberNotFound
from saka.euro.errors import InvalidEvent, UnsupportedCurrency
from saka.projects.errors import ProjectNotFound
from tests.support.euro import deliver, handle, payment_event, sign, snapshot

pytestmark = pytest.mark.django_db


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
