"""The season simulator's staff endpoint: the report of a bounded simulation (the same as the
simulator's own), typed refusals beyond the bounds, its query count."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.urls import reverse

from saka.grains.policy import policy_current
from saka.grains.simulation.activity import default_model
from saka.grains.simulation.parameters import policy_with
from saka.grains.simulation.population import synthetic
from saka.grains.simulation.simulate import simulate
from tests.support.runs_reference import DAY, bulk_wallets, ledger_snapshot

pytestmark = pytest.mark.django_db
URL = "/api/v1/staff/saka/simulations/"
A = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def test_the_route_is_the_documented_one() -> None:
    assert reverse("saka_api:staff-simulations") == URL


def test_a_synthetic_simulation_answers_the_simulators_report(staff_user: Any, api: Any) -> None:
    # given a staff reader
    body = {"weeks": 6, "synthetic": 300, "seed": 4, "start": A.isoformat()}
    # when a simulation is asked with a compost rate of 0.2
    response = api(staff_user).post(URL, {**body, "compost_rate": "0.2"}, format="json")
    # then the report is the simulator's, week by week
    assert response.status_code == 200, response.content[:300]
    report = response.json()
    snap = synthetic(300, A)
    policy = policy_with(policy_current(), {"compost_rate": "0.2"})
    expected = simulate(
        wallets=snap.wallets,
        silo=0,
        pool=0,
        policy=policy,
        start=A,
        weeks=6,
        activity=default_model(),
        seed=4,
    ).as_dict()
    assert report["weeks"] == expected["weeks"]
    assert report["parameters"]["compost_rate"] == "0.2"
    assert report["parameters"]["source"] == "synthetic"


def test_the_database_snapshot_is_simulated_in_a_bounded_number_of_queries(
    staff_user: Any, api: Any, django_assert_max_num_queries: Any
) -> None:
    # given 40 wallets in the database
    bulk_wallets([(200 + 13 * i, A - i * DAY) for i in range(40)], prefix="api", as_of=A)
    before = ledger_snapshot()
    # when a simulation of the database is asked
    with django_assert_max_num_queries(12):
        response = api(staff_user).post(URL, {"weeks": 8, "start": A.isoformat()}, format="json")
    # then it simulated the 40 wallets and wrote nothing
    assert response.status_code == 200, response.content[:300]
    assert response.json()["parameters"]["wallets"] == 40
    assert len(response.json()["weeks"]) == 8
    assert ledger_snapshot() == before


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"weeks": 105, "synthetic": 10}, 422, "simulation_too_large"),
        ({"weeks": 2, "synthetic": 100_001}, 422, "simulation_too_large"),
        ({"weeks": 0, "synthetic": 10}, 400, "validation_error"),
        ({"weeks": 2, "synthetic": 10, "compost_rate": "1.01"}, 400, "validation_error"),
        ({"weeks": 2, "synthetic": 10, "compost_inactivity_days": 366}, 400, "validation_error"),
        ({"weeks": 2, "wallets": 10}, 400, "validation_error"),
    ],
)
def test_out_of_bounds_requests_are_refused_typed(
    body: dict[str, Any], status: int, code: str, staff_user: Any, api: Any, assert_error: Any
) -> None:
    # when an out-of-bounds simulation is asked, then it is refused with its typed error
    error = assert_error(api(staff_user).post(URL, body, format="json"), status, code)
    if code == "simulation_too_large":
        assert error["data"]["command"] == "saka_simulate"


def test_a_large_database_points_at_the_command(
    staff_user: Any, api: Any, assert_error: Any, monkeypatch: Any
) -> None:
    # given a database with more wallets than a request may simulate
    monkeypatch.setattr("saka.grains.simulation.parameters.REQUEST_MAX_WALLETS", 5)
    bulk_wallets([(100, A)] * 6, prefix="big", as_of=A)
    # when its simulation is asked, then 422 names the count and the command
    error = assert_error(
        api(staff_user).post(URL, {"weeks": 2}, format="json"), 422, "simulation_too_large"
    )
    assert (error["data"]["wallets"], error["data"]["maximum_wallets"]) == (6, 5)
