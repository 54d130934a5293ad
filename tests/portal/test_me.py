"""``/me/``: the member's SAKA and EUR wallets, the compost forecast in words in each of its
cases (at a fixed clock), zeros for a staff user without a wallet; its queries, bounded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from saka.euro.services.pockets import pocket_create
from saka.grains.seasons.services import season_create
from saka.grains.services import wallet_harvest
from saka.portal.forecast import compost_run_at_or_after, day_words
from tests.support.clock import T0, A
from tests.support.euro import deposit

pytestmark = pytest.mark.django_db


def _testid(response: Any, testid: str) -> str:
    """The text inside the element carrying ``data-testid=testid`` (first one)."""
    html = response.content.decode()
    start = html.index(f'data-testid="{testid}"')
    start = html.index(">", start) + 1
    return html[start : html.index("<", start)].strip()


def _harvest_150_at_t0(member: Any) -> None:
    for _ in range(3):  # 3 x 50 grains at T0 (a Tuesday, 12:00 UTC)
        wallet_harvest(member_id=member.pk, reason="invite_accepted", as_of=T0)


def test_the_member_reads_both_wallets(
    browser: Callable[[Any], Client], member: Any, clock: Any
) -> None:
    # given 150 grains harvested, a 10 % pocket "Rent" and a deposit of 120.00
    _harvest_150_at_t0(member)
    pocket_create(member_id=member.pk, name="Rent", percentage="10")
    deposit(member, 120_00)
    clock(T0 + timedelta(days=1))
    # when the member opens their page
    response = browser(member).get("/me/")
    # then both wallets show, with the links to the statements and their CSV files
    assert response.status_code == 200
    assert _testid(response, "saka-balance") == "150"
    assert _testid(response, "saka-lifetime-harvested") == "150"
    assert _testid(response, "eur-available") == "108.00"
    assert _testid(response, "eur-pockets-total") == "12.00"
    assert _testid(response, "eur-held") == "0.00"
    assert _testid(response, "eur-total") == "120.00"
    html = response.content.decode()
    assert "Rent" in html
    for testid, href in [
        ("statement-link-saka", "/me/statement/saka/"),
        ("statement-link-eur", "/me/statement/eur/"),
        ("csv-link-saka", "/me/statement/saka.csv"),
        ("csv-link-eur", "/me/statement/eur.csv"),
    ]:
        assert f'href="{href}" data-testid="{testid}"' in html


@pytest.mark.parametrize(
    ("days_after_t0", "sentence"),
    [
        # idle since T0 + 90 days (Monday 8 September 2025, 12:00): the run at 03:00 that day
        # is too early, so the next Monday's takes floor(150 x 10 %) = 15
        (10, "If you stay inactive, 15 grains will compost on 15 September."),
        (89, "If you stay inactive, 15 grains will compost on 15 September."),
        # eligible now (Thursday 18 September): the next weekly compost, Monday 22 September
        (100, "The next weekly compost will take 15 grains (on 22 September)."),
    ],
    ids=["idle_later", "idle_tomorrow", "eligible_now"],
)
def test_the_forecast_in_words(
    browser: Callable[[Any], Client],
    member: Any,
    clock: Any,
    days_after_t0: int,
    sentence: str,
) -> None:
    # given 150 grains harvested at T0, and today days_after_t0 later
    _harvest_150_at_t0(member)
    clock(T0 + timedelta(days=days_after_t0))
    # when the member opens their page
    response = browser(member).get("/me/")
    # then the forecast says what will compost, and on which run
    assert _testid(response, "compost-forecast") == sentence


@pytest.mark.parametrize(
    ("harvests", "sentence"),
    [
        (
            [("content_read", 1)],
            "Nothing will compost: your balance of 10 grains is under the 50 grains from "
            "which idle grains compost.",
        ),
        (
            [("invite_accepted", 1), ("content_read", 2)],  # 70: 10 % is 7
            "Nothing will compost: 10 % of your balance is under the smallest compost, 10 grains.",
        ),
        (
            [],
            "Nothing will compost: your balance of 0 grains is under the 50 grains from "
            "which idle grains compost.",
        ),
    ],
    ids=["balance_below_minimum", "amount_below_minimum", "no_wallet"],
)
def test_the_forecast_says_why_nothing_composts(
    browser: Callable[[Any], Client],
    member: Any,
    clock: Any,
    harvests: list[tuple[str, int]],
    sentence: str,
) -> None:
    # given these harvests at T0, and a year later (long idle)
    for reason, times in harvests:
        for _ in range(times):
            wallet_harvest(member_id=member.pk, reason=reason, as_of=T0)
    clock(T0 + timedelta(days=365))
    # when the member opens their page, then the forecast says why nothing composts
    assert _testid(browser(member).get("/me/"), "compost-forecast") == sentence


def test_the_forecast_when_saka_is_off(
    browser: Callable[[Any], Client], member: Any, clock: Any, settings: Any
) -> None:
    # given grains that would compost, then SAKA switched off
    _harvest_150_at_t0(member)
    clock(T0 + timedelta(days=100))
    settings.SAKA_ENABLED = False
    # when the member opens their page, then no compost is forecast
    response = browser(member).get("/me/")
    assert _testid(response, "compost-forecast") == "SAKA is switched off: nothing composts."


def test_a_staff_user_without_a_wallet_sees_zeros(
    browser: Callable[[Any], Client], staff_user: Any
) -> None:
    # when a staff user opens /me/, then their (absent) wallets read zero; nothing is created
    response = browser(staff_user).get("/me/")
    assert response.status_code == 200
    assert _testid(response, "saka-balance") == "0"
    assert _testid(response, "eur-available") == "0.00"


# the session and the user, the SAKA wallet, the forecast's wallet read and the parameters in
# force, the EUR wallet (balance, held pledges, pockets), the latest seasons
ME_QUERIES = 9


def test_the_page_costs_the_same_queries_however_many_pockets(
    browser: Callable[[Any], Client],
    member: Any,
    clock: Any,
    django_assert_max_num_queries: Any,
) -> None:
    # given a member with SAKA and five pockets with money in them
    _harvest_150_at_t0(member)
    for n in range(5):
        pocket_create(member_id=member.pk, name=f"Pocket {n}", percentage="5")
    deposit(member, 100_00)
    clock(T0 + timedelta(days=1))
    client = browser(member)
    # when the member opens their page, then it costs a fixed number of queries
    with django_assert_max_num_queries(ME_QUERIES):
        assert client.get("/me/").status_code == 200


# --- the run's date -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "run_at"),
    [
        (A, A),  # Monday 03:00 UTC: that run
        (A + timedelta(microseconds=1), A + timedelta(days=7)),
        (A - timedelta(hours=1), A),
        (A - timedelta(days=1), A),  # a Sunday
        (datetime(2026, 3, 1, 23, 30, tzinfo=UTC), A),
    ],
    ids=["at_the_run", "just_after", "an_hour_before", "sunday", "sunday_night"],
)
def test_the_run_that_takes_the_grains_is_the_first_at_or_after(
    instant: datetime, run_at: datetime
) -> None:
    assert compost_run_at_or_after(instant) == run_at


def test_a_date_in_another_year_names_it() -> None:
    today = datetime(2026, 12, 2, tzinfo=UTC)
    assert day_words(datetime(2026, 12, 7, 3, tzinfo=UTC), today) == "7 December"
    assert day_words(datetime(2027, 1, 14, 3, tzinfo=UTC), today) == "14 January 2027"


def test_the_member_sees_the_seasons_the_current_one_highlighted(
    browser: Callable[[Any], Client], member: Any, clock: Any
) -> None:
    # given three seasons, the middle one containing the page's now, the first one active
    for i, name in enumerate(["Winter", "Spring", "Summer"]):
        season_create(
            name=name,
            starts_at=T0 + (i - 1) * timedelta(days=30),
            ends_at=T0 + i * timedelta(days=30),
            created_by_id=None,
            active=i == 0,
        )
    clock(T0 + timedelta(days=1))
    # when the member opens their page
    html = browser(member).get("/me/").content.decode()
    # then the seasons are listed newest first, the one containing now highlighted
    section = html[html.index('data-testid="seasons"') :]
    assert section.index("Summer") < section.index("Spring") < section.index("Winter")
    assert html.count('data-testid="season"') == 3
    assert html.count('data-testid="season-current"') == 1
    current = section[section.index('class="current"') :]
    assert current.index("Spring") < current.index("season-current") < current.index("Winter")


def test_no_seasons_no_section(browser: Callable[[Any], Client], member: Any) -> None:
    assert 'data-testid="seasons"' not in browser(member).get("/me/").content.decode()
