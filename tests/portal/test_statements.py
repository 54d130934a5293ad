"""The statements: ``/me/statement/saka/`` and ``/me/statement/eur/`` (newest first, 50 a
page, ``?before=<posting id>``, the books' own sentences, only the member's lines, queries
constant in the page size) and their CSV exports (streamed, every line of the history, text
cells neutralised against formulas, a dated attachment)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from saka.euro import selectors as euro_selectors
from saka.euro import statements as euro_statements
from saka.euro.services.pockets import TO_WALLET, pocket_create, pocket_transfer
from saka.grains import selectors as grains_selectors
from saka.grains import statements as grains_statements
from saka.grains.services import wallet_harvest, wallet_plant
from saka.portal import statements
from saka.portal.statements import csv_text
from tests.support.clock import T0
from tests.support.euro import deposit

pytestmark = pytest.mark.django_db

SAKA_PAGE = "/me/statement/saka/"
EUR_PAGE = "/me/statement/eur/"


def _harvests(member: Any, n: int) -> None:
    """``n`` harvests of 10 grains, three a day from T0 (the daily limit)."""
    for i in range(n):
        wallet_harvest(
            member_id=member.pk, reason="content_read", as_of=T0 + timedelta(days=i // 3)
        )


def _line_ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content[:300]
    return [
        int(i)
        for i in re.findall(
            r'data-testid="statement-line" data-posting-id="(\d+)"', response.content.decode()
        )
    ]


def _older(response: Any) -> str | None:
    found = re.search(r'href="\?before=(\d+)" data-testid="older-link"', response.content.decode())
    return found.group(1) if found else None


def _history_ids(member: Any) -> list[int]:
    return list(grains_selectors.wallet_history(member_id=member.pk).values_list("id", flat=True))


def test_the_saka_statement_is_paginated_newest_first(
    browser: Callable[[Any], Client], member: Any
) -> None:
    # given 60 harvests
    _harvests(member, 60)
    client = browser(member)
    everything = _history_ids(member)
    # when the member reads the first page, then it holds the 50 newest lines
    first = client.get(SAKA_PAGE)
    assert _line_ids(first) == everything[:50]
    # and the link to the older lines continues right after them
    before = _older(first)
    assert before == str(everything[49])
    second = client.get(SAKA_PAGE, {"before": before})
    assert _line_ids(second) == everything[50:]
    assert _older(second) is None
    assert 'data-testid="newest-link"' in second.content.decode()


def test_each_line_says_what_the_book_says(
    browser: Callable[[Any], Client], member: Any, project: Any
) -> None:
    # given harvests and a plant
    _harvests(member, 2)
    wallet_plant(member_id=member.pk, amount=5, project_id=project.pk, as_of=T0)
    # when the member reads their statement
    html = browser(member).get(SAKA_PAGE).content.decode()
    # then each line shows the kind, the signed amount and the book's own sentence
    postings = list(grains_selectors.wallet_history(member_id=member.pk))
    sentences = [e.explanation for e in grains_statements.postings_explained(postings=postings)]
    kinds = re.findall(r'data-testid="line-kind">([^<]*)<', html)
    amounts = re.findall(r'data-testid="line-amount">([^<]*)<', html)
    shown = re.findall(r'data-testid="line-explanation">([^<]*)<', html)
    assert kinds == ["plant", "harvest", "harvest"]
    assert amounts == ["-5", "+10", "+10"]
    assert shown == sentences


def test_dates_read_in_utc_whatever_the_time_zone(
    browser: Callable[[Any], Client], member: Any, settings: Any
) -> None:
    # given a harvest at T0 (12:00 UTC) and a project whose time zone is Paris (UTC+2 then)
    _harvests(member, 1)
    settings.TIME_ZONE = "Europe/Paris"
    # when the member reads their statement, then the date is the UTC one the header names
    html = browser(member).get(SAKA_PAGE).content.decode()
    assert "<th>Date (UTC)</th>" in html
    assert ">10 Jun 2025, 12:00</time>" in html


def test_a_member_sees_only_their_own_lines(
    browser: Callable[[Any], Client], member: Any, other_member: Any
) -> None:
    # given both members harvested, and both deposited
    _harvests(member, 2)
    _harvests(other_member, 3)
    deposit(member, 10_00)
    deposit(other_member, 20_00)
    client = browser(member)
    # when the member reads both statements and both exports
    saka = _line_ids(client.get(SAKA_PAGE))
    eur = _line_ids(client.get(EUR_PAGE))
    saka_csv = [row[0] for row in _csv(client.get("/me/statement/saka.csv"))[1:]]
    # then they are exactly the member's own postings
    assert saka == _history_ids(member)
    assert eur == list(
        euro_selectors.wallet_history(member_id=member.pk).values_list("id", flat=True)
    )
    assert saka_csv == [str(i) for i in saka]
    assert not set(saka) & set(_history_ids(other_member))


@pytest.mark.parametrize("before", ["abc", "-1", "0", "1.5", "9" * 20])
def test_a_before_that_is_not_a_posting_id_is_a_bad_request(
    browser: Callable[[Any], Client], member: Any, before: str
) -> None:
    assert browser(member).get(SAKA_PAGE, {"before": before}).status_code == 400


def test_the_eur_statement_names_the_account(browser: Callable[[Any], Client], member: Any) -> None:
    # given a 10 % pocket, a deposit of 100.00 and 2.50 moved back from the pocket
    pocket = pocket_create(member_id=member.pk, name="Rent", percentage="10")
    deposit(member, 100_00)
    pocket_transfer(
        member_id=member.pk, pocket_id=pocket.pocket_id, direction=TO_WALLET, amount=2_50
    )
    # when the member reads the EUR statement
    html = browser(member).get(EUR_PAGE).content.decode()
    # then the amounts are signed euros, newest first
    amounts = re.findall(r'data-testid="line-amount">([^<]*)<', html)
    assert sorted(amounts) == sorted(["+2.50", "-2.50", "+90.00", "+10.00"])
    assert amounts[:2] in (["+2.50", "-2.50"], ["-2.50", "+2.50"])


# Pages: the session, the user, the history's own reads (SAKA: the wallet and the live runs;
# EUR: the wallet and the pockets), the page; the books' postings_explained may read what
# their entries reference (constant in the page size): EXPLAINED allows for it.
EXPLAINED = 2
SAKA_PAGE_QUERIES = 5 + EXPLAINED
EUR_PAGE_QUERIES = 5 + EXPLAINED


@pytest.mark.parametrize(
    ("url", "limit"), [(SAKA_PAGE, SAKA_PAGE_QUERIES), (EUR_PAGE, EUR_PAGE_QUERIES)]
)
def test_a_page_costs_the_same_queries_for_one_line_or_fifty(
    browser: Callable[[Any], Client],
    make_user: Any,
    url: str,
    limit: int,
    django_assert_max_num_queries: Any,
) -> None:
    # given a member with one line in each book and another with over fifty
    few, many = make_user(), make_user()
    _harvests(few, 1)
    deposit(few, 10_00)
    _harvests(many, 55)
    pocket_create(member_id=many.pk, name="Rent", percentage="10")
    for _ in range(28):
        deposit(many, 10_00)
    counts = []
    for user in (few, many):
        client = browser(user)
        # when each reads the page, then it costs no more than the limit
        with django_assert_max_num_queries(limit), CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
    # and the same number for one line as for a full page
    assert counts[0] == counts[1]


# --- CSV ----------------------------------------------------------------------------------------


def _csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_the_saka_csv_is_the_whole_history(
    browser: Callable[[Any], Client], member: Any, project: Any, clock: Any, monkeypatch: Any
) -> None:
    # given 23 harvests and a plant, exported in chunks of 7 postings, on 10 June 2025
    _harvests(member, 23)
    wallet_plant(member_id=member.pk, amount=5, project_id=project.pk, as_of=T0 + timedelta(days=8))
    monkeypatch.setattr(statements, "CSV_CHUNK", 7)
    clock(T0)
    # when the member downloads their SAKA statement
    response = browser(member).get("/me/statement/saka.csv")
    # then it is a streamed, dated attachment
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="saka-statement-2025-06-10.csv"'
    rows = _csv(response)
    # with the columns, and one row per posting of the history, newest first
    assert rows[0] == [
        "posting_id",
        "date",
        "kind",
        "reason",
        "amount_grains",
        "sign",
        "explanation",
        "calculation",
    ]
    postings = list(grains_selectors.wallet_history(member_id=member.pk))
    explained = grains_statements.postings_explained(postings=postings)
    assert [
        [
            p.pk,
            p.entry.created_at.isoformat(),
            p.entry.kind,
            p.entry.reason,
            p.amount,
            e.explanation,
        ]
        for p, e in zip(postings, explained, strict=True)
    ] == [[int(r[0]), r[1], r[2], r[3], int(r[4]), r[6]] for r in rows[1:]]
    assert len(rows) == 1 + 24
    assert rows[1][2:6] == ["plant", "plant", "-5", "-1"]
    assert rows[-1][2:6] == ["harvest", "content_read", "10", "1"]


def test_the_eur_csv_neutralises_formulas_in_text_but_not_amounts(
    browser: Callable[[Any], Client], member: Any
) -> None:
    # given a pocket whose name a spreadsheet would run as a formula, and money moved out of it
    formula = '=HYPERLINK("https://evil.example","Rent")'
    pocket = pocket_create(member_id=member.pk, name=formula, percentage="10")
    deposit(member, 100_00)
    pocket_transfer(
        member_id=member.pk, pocket_id=pocket.pocket_id, direction=TO_WALLET, amount=2_50
    )
    # when the member downloads their EUR statement
    rows = _csv(browser(member).get("/me/statement/eur.csv"))
    # then the pocket's name is text (a leading apostrophe), the debit an unchanged number
    assert rows[0][3:5] == ["account", "amount_eur"]
    by_account = {(r[3], r[4]) for r in rows[1:]}
    assert by_account == {
        ("main", "2.50"),
        (f"'{formula}", "-2.50"),
        ("main", "90.00"),
        (f"'{formula}", "10.00"),
    }
    postings = list(euro_selectors.wallet_history(member_id=member.pk))
    sentences = [e.explanation for e in euro_statements.postings_explained(postings=postings)]
    assert [r[6] for r in rows[1:]] == [csv_text(s) for s in sentences]


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+33 6", "'+33 6"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Rent", "Rent"),
        ("a=1", "a=1"),
        ("", ""),
    ],
)
def test_a_text_cell_never_starts_a_formula(text: str, cell: str) -> None:
    assert csv_text(text) == cell


def test_the_export_of_an_empty_history_is_its_header(
    browser: Callable[[Any], Client], staff_user: Any
) -> None:
    # when a user without a wallet downloads their statements, then each is its header
    for book in ("saka", "eur"):
        rows = _csv(browser(staff_user).get(f"/me/statement/{book}.csv"))
        assert len(rows) == 1
        assert rows[0][0] == "posting_id"
