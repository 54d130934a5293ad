"""Error ``data`` speaks the API's vocabulary: EUR money as ``"5.00"`` strings (as the API writes
money everywhere else), ids as integers (never a string echo of the URL or of garbage), and a
too-low balance as ``available`` / ``requested`` in both currencies."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from saka.core.errors import DomainError, error_data
from saka.core.money import Cents
from saka.euro.errors import EventConflict, PledgeNotHeld
from saka.ledger.errors import InsufficientBalance
from saka.projects.errors import ProjectNotFound
from tests.support.euro import SECRET, deposit, open_campaign

pytestmark = pytest.mark.django_db

MONEY = re.compile(r"^-?(0|[1-9][0-9]*)\.[0-9]{2}$")


@pytest.fixture(autouse=True)
def _secret(settings: Any) -> None:
    settings.SAKA_PAYMENT_WEBHOOK_SECRET = SECRET


# --- the one mechanism ---------------------------------------------------------------------


def test_cents_are_shown_as_money_strings() -> None:
    error = InsufficientBalance(available=Cents(500), requested=Cents(123_456))
    assert error.data == {"available": "5.00", "requested": "1234.56"}
    assert error.as_dict()["data"] == error.data


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ({"project_id": 12}, {"project_id": 12}),
        ({"project_id": "12"}, {"project_id": 12}),
        ({"project_id": "abc"}, {}),
        ({"project_id": True}, {}),
        ({"project_id": 0}, {}),
        ({"project_id": 10**30}, {}),
        ({"project_id": "9" * 40}, {}),
        ({"project_id": 1.5}, {}),
        ({"pledge_ids": [3, "4", "x"]}, {"pledge_ids": [3, 4]}),
        ({"event_id": "evt_1", "payment_id": "pi_2"}, {"event_id": "evt_1", "payment_id": "pi_2"}),
        ({"fields": {"run_id": "7"}}, {"fields": {"run_id": 7}}),
        ({"reason": "x", "used": 3}, {"reason": "x", "used": 3}),
    ],
)
def test_ids_are_integers_or_left_out(given: dict[str, Any], shown: dict[str, Any]) -> None:
    assert error_data(given) == shown
    assert DomainError(**given).data == shown


def test_domain_errors_normalise_at_construction() -> None:
    assert ProjectNotFound(project_id="5").data == {"project_id": 5}
    assert PledgeNotHeld(pledge_ids=["1", 2]).data == {"pledge_ids": [1, 2]}
    assert EventConflict(event_id="evt_x").data == {"event_id": "evt_x"}


# --- over HTTP -----------------------------------------------------------------------------


def test_saka_insufficient_balance_says_available_and_requested(
    api: Any, member: Any, fund: Any, assert_error: Any
) -> None:
    fund(member)  # 50 grains
    response = api(member).post(reverse("saka_api:saka-plant"), {"amount": 51}, format="json")
    error = assert_error(response, 409, "insufficient_balance")
    assert error["data"] == {"available": 50, "requested": 51}


def test_eur_insufficient_balance_is_money_strings(
    api: Any, make_user: Any, project: Any, assert_error: Any
) -> None:
    # given a member with EUR and an open campaign
    rich = make_user()
    deposit(rich, 100_000)
    open_campaign(project)
    available = api(rich).get("/api/v1/me/euro/wallet/").json()["available"]
    # when they pledge a cent more than they have
    whole, frac = available.split(".")
    more = f"{int(whole) * 100 + int(frac) + 1:d}"
    requested = f"{more[:-2]}.{more[-2:]}"
    response = api(rich).post(
        "/api/v1/me/euro/pledges/", {"project_id": project.pk, "amount": requested}, format="json"
    )
    # then the error data speaks EUR as the API does: strings with two places
    error = assert_error(response, 409, "insufficient_balance")
    assert error["data"] == {"available": available, "requested": requested}
    assert all(MONEY.match(v) for v in error["data"].values())


def test_eur_transfer_insufficient_balance_is_money_strings(
    api: Any, make_user: Any, assert_error: Any
) -> None:
    member = make_user()
    deposit(member, 1_000)
    pocket = api(member).post("/api/v1/me/euro/pockets/", {"name": "P"}, format="json").json()
    response = api(member).post(
        "/api/v1/me/euro/transfers/",
        {"pocket_id": pocket["id"], "direction": "to_pocket", "amount": "2000.00"},
        format="json",
    )
    error = assert_error(response, 409, "insufficient_balance")
    assert error["data"]["requested"] == "2000.00"
    assert MONEY.match(error["data"]["available"])


def test_a_missing_project_id_comes_back_as_an_integer(
    api: Any, member: Any, fund: Any, assert_error: Any
) -> None:
    fund(member)
    response = api(member).post(reverse("saka_api:project-boost", args=[987654]))
    error = assert_error(response, 404, "project_not_found")
    assert error["data"] == {"project_id": 987654}


def test_a_missing_run_id_comes_back_as_an_integer(
    api: Any, django_user_model: Any, assert_error: Any
) -> None:
    boss = django_user_model.objects.create_superuser("edge-su", "su@example.org", "pw")
    response = api(boss).get("/api/v1/staff/saka/runs/987654/")
    error = assert_error(response, 404, "run_not_found")
    assert error["data"] == {"run_id": 987654}
