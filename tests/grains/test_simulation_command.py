"""``saka_simulate`` and the parameters a simulation is asked: overrides held to the settings'
bounds, the request bounds (``simulation_too_large``), the JSON and the chart."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from saka.core.errors import ValidationError
from saka.grains.errors import SimulationTooLarge
from saka.grains.models import SakaAccount
from saka.grains.policy import policy_current
from saka.grains.simulation.parameters import policy_with, simulation_run
from tests.support.runs_reference import DAY, bulk_wallets

pytestmark = pytest.mark.django_db
START = "2026-03-02T03:00:00Z"
A = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def test_overrides_replace_the_rules_in_force_within_the_settings_bounds() -> None:
    # given the rules in force
    policy = policy_current()
    # when some are overridden
    other = policy_with(policy, {"compost_rate": "0.2", "redistribution_active_days": 0})
    # then those change and the others are kept
    assert other.compost.rate == Decimal("0.2")
    assert other.redistribution.active_days == 0
    assert other.compost.min_balance == policy.compost.min_balance
    # and out-of-range or unknown ones are refused, typed, naming the parameter
    for bad in (
        {"compost_rate": "1.5"},
        {"compost_rate": "0"},
        {"compost_inactivity_days": 0},
        {"redistribution_active_days": 3651},
        {"compost_min_amount": True},
        {"silo": 3},
    ):
        with pytest.raises(ValidationError) as caught:
            policy_with(policy, bad)
        assert caught.value.data["field"] == next(iter(bad))


def test_a_request_is_bounded_and_the_command_is_not() -> None:
    # given a request's bounds, when a simulation beyond them is asked, then it is refused
    with pytest.raises(SimulationTooLarge) as weeks:
        simulation_run(weeks=105, synthetic_wallets=10, bounded=True, start=A)
    with pytest.raises(SimulationTooLarge) as wallets:
        simulation_run(weeks=2, synthetic_wallets=100_001, bounded=True, start=A)
    assert weeks.value.data == {"weeks": 105, "maximum_weeks": 104, "command": "saka_simulate"}
    assert wallets.value.data["maximum_wallets"] == 100_000
    assert (weeks.value.code, weeks.value.http_status) == ("simulation_too_large", 422)
    # and without the bounds it runs
    assert len(simulation_run(weeks=105, synthetic_wallets=10, start=A).weeks) == 105


def test_the_database_snapshot_is_read_in_one_query_after_the_rules(
    django_assert_num_queries,
) -> None:
    # given 30 wallets in the database
    bulk_wallets([(100 + i, A - i * DAY) for i in range(30)], prefix="snap", as_of=A)
    # when a simulation starts from them, then one query reads the rules in force and one the
    # wallets (and the silo and pool)
    with django_assert_num_queries(2):
        report = simulation_run(weeks=3, start=A)
    assert report.parameters["wallets"] == 30
    assert report.parameters["source"] == "database"


def test_the_command_writes_the_json_and_the_chart_of_three_compost_rates(
    tmp_path: Path,
) -> None:
    # given nothing in the database
    out = StringIO()
    before = SakaAccount.objects.count()
    # when three compost rates are simulated on the synthetic population
    call_command(
        "saka_simulate",
        "--synthetic=2000",
        "--weeks=6",
        f"--start={START}",
        "--compost-rate=0.05",
        "--compost-rate=0.10",
        "--compost-rate=0.20",
        f"--json={tmp_path / 'sim.json'}",
        f"--png={tmp_path / 'sim.png'}",
        stdout=out,
    )
    # then the JSON holds three scenarios of six weeks, the chart is a PNG, nothing written
    body = json.loads((tmp_path / "sim.json").read_text())
    assert [s["parameters"]["compost_rate"] for s in body] == ["0.05", "0.10", "0.20"]
    assert [len(s["weeks"]) for s in body] == [6, 6, 6]
    first = [s["weeks"][0]["composted"] for s in body]
    assert first[0] < first[1] < first[2]
    assert (tmp_path / "sim.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "compost 0.20" in out.getvalue()
    assert SakaAccount.objects.count() == before


def test_the_command_refuses_parameters_out_of_range() -> None:
    # when a rate out of range is asked, then the command fails naming it
    with pytest.raises(CommandError, match="validation_error"):
        call_command("saka_simulate", "--synthetic=10", "--compost-rate=2", stdout=StringIO())


def test_the_database_cannot_be_simulated_from_before_its_last_activity() -> None:
    # given a wallet active at A
    bulk_wallets([(500, A)], prefix="late", as_of=A)
    # when a simulation of the database starts a day before, then it is refused naming start
    with pytest.raises(ValidationError) as caught:
        simulation_run(weeks=2, start=A - DAY)
    assert caught.value.data["field"] == "start"
