"""The SAKA wallet history over HTTP: newest first, signed amounts, stable cursor pages, kind
filters, page sizes; and the queries the wallet and the history cost."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from saka.api.common.pagination import NewestFirst as HistoryPagination
from saka.grains.services import wallet_harvest, wallet_plant

pytestmark = pytest.mark.django_db


# --- history -------------------------------------------------------------------------------


@pytest.fixture
def seven_postings(member: Any) -> list[int]:
    """5 harvests then 2 plants for ``member``; returns the entry ids, oldest first."""
    entries = [wallet_harvest(member_id=member.pk, reason="poll_vote").entry_id for _ in range(5)]
    entries += [wallet_plant(member_id=member.pk, amount=2).entry_id for _ in range(2)]
    return entries


def _page(api: Any, user: Any, url: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    response = api(user).get(url, params or {})
    assert response.status_code == 200, response.content[:300]
    return response.json()


def test_history_is_newest_first_with_signed_amounts(
    api: Any, member: Any, seven_postings: list[int]
) -> None:
    # given 5 harvests then 2 plants
    # when the member reads their history
    page = _page(api, member, reverse("saka_api:saka-history"))
    # then it lists them newest first with signed amounts and their kinds
    results = page["results"]
    assert [r["entry_id"] for r in results] == seven_postings[::-1]
    assert [r["amount"] for r in results] == [-2, -2, 5, 5, 5, 5, 5]
    assert [r["kind"] for r in results] == ["plant"] * 2 + ["harvest"] * 5
    assert results[-1]["reason"] == "poll_vote"
    assert page["next"] is None
    assert set(results[0]) == {
        "id",
        "entry_id",
        "kind",
        "reason",
        "amount",
        "created_at",
        "project_id",
        "explanation",
        "calculation",
    }


def test_history_cursor_pagination(api: Any, member: Any, seven_postings: list[int]) -> None:
    # given 7 postings
    url = reverse("saka_api:saka-history")
    # when the member walks the history 3 at a time by following the next links
    pages, next_url = [], url + "?page_size=3"
    while next_url:
        page = _page(api, member, next_url)
        pages.append([r["entry_id"] for r in page["results"]])
        next_url = page["next"]
        if next_url:
            assert parse_qs(urlparse(next_url).query)["page_size"] == ["3"]
    # then pages of 3, 3, 1 cover every posting once, newest first
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [e for p in pages for e in p] == seven_postings[::-1]


def test_history_cursor_is_stable_while_new_postings_arrive(
    api: Any, member: Any, seven_postings: list[int]
) -> None:
    # given the member read the first page
    first = _page(api, member, reverse("saka_api:saka-history"), {"page_size": 3})
    # when a new harvest is booked before they read the next page
    new_entry = wallet_harvest(member_id=member.pk, reason="content_read").entry_id
    second = _page(api, member, first["next"])
    # then the next page continues where the first ended: no duplicate, no gap
    assert [r["entry_id"] for r in second["results"]] == seven_postings[::-1][3:6]
    # and the new posting shows on a fresh first page
    fresh = _page(api, member, reverse("saka_api:saka-history"), {"page_size": 3})
    assert fresh["results"][0]["entry_id"] == new_entry


@pytest.mark.parametrize(("kind", "count"), [("harvest", 5), ("plant", 2), ("compost", 0)])
def test_history_filter_by_kind(
    kind: str, count: int, api: Any, member: Any, seven_postings: list[int]
) -> None:
    # given 5 harvests and 2 plants
    # when the member filters by kind
    page = _page(api, member, reverse("saka_api:saka-history"), {"kind": kind})
    # then only that kind is listed
    assert len(page["results"]) == count
    assert {r["kind"] for r in page["results"]} <= {kind}


def test_history_filter_survives_pagination(
    api: Any, member: Any, seven_postings: list[int]
) -> None:
    # given 5 harvests and 2 plants
    # when the member pages through harvests only, 2 at a time
    page = _page(api, member, reverse("saka_api:saka-history"), {"kind": "harvest", "page_size": 2})
    second = _page(api, member, page["next"])
    # then the next link keeps the filter
    assert {r["kind"] for r in page["results"] + second["results"]} == {"harvest"}
    assert [r["entry_id"] for r in page["results"] + second["results"]] == seven_postings[4::-1][:4]


def test_history_page_size_above_the_cap_is_refused(
    api: Any, member: Any, seven_postings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the cap on the page size (200), lowered to 4 so 7 postings can exceed it
    assert HistoryPagination.max_page_size == 200
    monkeypatch.setattr(HistoryPagination, "max_page_size", 4)
    # when the member asks for pages of 4, then of 5 and of a million
    four = _page(api, member, reverse("saka_api:saka-history"), {"page_size": 4})
    assert len(four["results"]) == 4
    assert four["next"] is not None
    for too_many in (5, 10**6):
        response = api(member).get(reverse("saka_api:saka-history"), {"page_size": too_many})
        # then 400 validation_error, never a silent cap
        assert response.status_code == 400, response.content
        assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize("page_size", ["lots", "0", "-3"])
def test_history_page_size_that_is_not_a_positive_number_is_refused(
    page_size: str, api: Any, member: Any, seven_postings: list[int]
) -> None:
    # when the member sends a page size that is not a positive number
    response = api(member).get(reverse("saka_api:saka-history"), {"page_size": page_size})
    # then 400 validation_error naming page_size (it was silently the default)
    assert response.status_code == 400, response.content
    assert "page_size" in response.json()["data"]["fields"]


def test_history_empty_page_size_uses_the_default(
    api: Any, member: Any, seven_postings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(HistoryPagination, "page_size", 2)
    page = _page(api, member, reverse("saka_api:saka-history"), {"page_size": ""})
    assert len(page["results"]) == 2


# --- query counts --------------------------------------------------------------------------


def test_wallet_query_count(
    api: Any, member: Any, fund: Any, django_assert_max_num_queries: Any
) -> None:
    # given a member with a wallet and harvests today
    fund(member, times=3)
    client = api(member)
    # when they read their wallet, then it costs at most 2 queries (wallet + today's usage)
    with django_assert_max_num_queries(2):
        response = client.get(reverse("saka_api:saka-wallet"))
    assert response.status_code == 200


@pytest.mark.parametrize("page_size", [1, 50])
def test_history_query_count_does_not_grow_with_the_page(
    page_size: int, api: Any, member: Any, django_assert_max_num_queries: Any
) -> None:
    # given a member with 15 postings
    for reason, times in (("poll_vote", 10), ("invite_accepted", 5)):
        for _ in range(times):
            wallet_harvest(member_id=member.pk, reason=reason)
    client = api(member)
    # when they read a page of their history, then it is three queries whatever its size (the
    # wallet's id, the live runs' ids, the page: see selectors.wallet_history)
    with django_assert_max_num_queries(3):
        response = client.get(reverse("saka_api:saka-history"), {"page_size": page_size})
    assert len(response.json()["results"]) == min(page_size, 15)


def test_history_items_carry_their_stored_sentence_and_figures(
    api: Any, member: Any, seven_postings: list[int], django_assert_max_num_queries: Any
) -> None:
    # given 5 poll-vote harvests then 2 plants of 2 grains
    # when the member reads their history (explaining the page adds no query)
    with django_assert_max_num_queries(3):
        results = _page(api, member, reverse("saka_api:saka-history"))["results"]
    # then the newest plant and the last harvest say what happened, with their figures
    assert results[0]["explanation"] == "Planted 2 grains; balance 21."
    assert results[0]["calculation"] == {
        "reason": "plant",
        "amount": 2,
        "balance_after": 21,
        "project_id": None,
        "project_name": None,
    }
    assert results[2]["explanation"] == (
        "Harvested 5 grains for voting in a poll (5th of 10 today); balance 25."
    )
    assert results[2]["calculation"]["used"] == 5
    assert all(r["calculation"] is not None for r in results)
