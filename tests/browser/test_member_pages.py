"""A member in Chromium: logs in, reads their wallets, the compost forecast and their
statements with a sentence on every line, downloads the CSV, and cannot open the dashboard."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.support.browser import DEMO_PASSWORD

MEMBER = "member001"


def _log_in(page: Any, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.get_by_test_id("login-submit").click()


def test_a_member_reads_their_wallets_forecast_and_statements(
    new_page: Callable[..., Any], screenshot: Callable[[Any, str], None]
) -> None:
    # given the demo's first member in a fresh browser
    page = new_page()
    # when they log in
    _log_in(page, MEMBER, DEMO_PASSWORD)
    # then they land on their wallets, with the compost forecast in words
    page.wait_for_url("**/me/")
    assert re.fullmatch(r"\d[\d,]*", page.get_by_test_id("saka-balance").inner_text().strip())
    forecast = page.get_by_test_id("compost-forecast").inner_text()
    assert "compost" in forecast.lower()
    assert re.search(r"\d", forecast)
    screenshot(page, "member-wallets")

    # when they open their SAKA statement
    page.get_by_test_id("statement-link-saka").click()
    page.wait_for_url("**/me/statement/saka/")
    lines = page.get_by_test_id("statement-line")
    # then every line carries a sentence with its figures
    assert lines.count() > 0
    for i in range(lines.count()):
        sentence = lines.nth(i).get_by_test_id("line-explanation").inner_text().strip()
        assert re.search(r"\d", sentence), sentence
        assert sentence.endswith(".") or sentence.endswith(")"), sentence
    screenshot(page, "member-statement-saka")

    # and their EUR statement too
    page.goto("/me/statement/eur/")
    eur_lines = page.get_by_test_id("statement-line")
    assert eur_lines.count() > 0
    assert "EUR" in eur_lines.first.get_by_test_id("line-explanation").inner_text()
    screenshot(page, "member-statement-eur")

    # when they download the SAKA statement as CSV
    with page.expect_download() as download_info:
        page.goto("/me/statement/saka/")
        page.get_by_test_id("csv-link-saka").first.click()
    body = open(download_info.value.path(), encoding="utf-8").read()  # noqa: SIM115
    # then it holds a header and at least as many rows as the first page showed
    rows = [r for r in body.splitlines() if r.strip()]
    assert "explanation" in rows[0]
    assert len(rows) - 1 >= lines.count()


def test_a_member_cannot_open_the_dashboard(new_page: Callable[..., Any]) -> None:
    # given a logged-in member
    page = new_page()
    _log_in(page, MEMBER, DEMO_PASSWORD)
    page.wait_for_url("**/me/")
    # when they open the staff dashboard
    response = page.goto("/dashboard/")
    # then it is refused, and no panel is shown
    assert response is not None
    assert response.status == 403
    assert page.locator("[data-panel]").count() == 0


def test_a_wrong_password_is_refused_without_saying_which_part(
    new_page: Callable[..., Any],
) -> None:
    # given a fresh browser
    page = new_page()
    # when someone logs in with a wrong password, then with an unknown name
    _log_in(page, MEMBER, "wrong")
    first = page.get_by_test_id("login-error").inner_text()
    _log_in(page, "nobody-at-all", "wrong")
    second = page.get_by_test_id("login-error").inner_text()
    # then both answers are the same, and nobody is logged in
    assert first == second
    assert "/accounts/login/" in page.url
