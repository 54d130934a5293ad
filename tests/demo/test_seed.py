"""The demo population command ``saka_seed`` (spec 7): the seeded population composts exactly
``expected_compost()``; bad input is a ``CommandError``, and nothing is seeded.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from saka.demo.seed import expected_compost, seed_balance
from tests.support.clock import A
from tests.support.run_scenarios import run_json, seed
from tests.support.runs_reference import db_wallets

pytestmark = pytest.mark.django_db


# --- saka_seed --------------------------------------------------------------------------------


def test_seed_then_compost_equals_expected_compost():
    # given a small seeded population (spec 7)
    seeded = seed(500)
    expected = expected_compost(wallets=500)
    # when the compost runs at the seed's instant
    summary = run_json("saka_compost", as_of=A.isoformat())
    # then it composts exactly what the seed announced
    assert (seeded["expected_compost_wallets"], seeded["expected_compost_total"]) == expected
    assert (summary["wallets_composted"], summary["total_composted"]) == expected
    assert seeded["wallets"] == 500
    assert seeded["total_balance"] == sum(seed_balance(i) for i in range(1, 501))
    assert sum(w.balance for w in db_wallets().values()) == seeded["total_balance"] - expected[1]
    # and the reference is the spec's: 544,600 of 1M wallets compost (spec 7, 10.1)
    assert expected_compost(wallets=1_000_000)[0] == 544_600


def test_seed_refuses_a_database_that_has_wallets():
    # given a seeded database
    seed(10)
    # when it is seeded again, then a clear error and nothing more
    with pytest.raises(CommandError, match="without SAKA wallets"):
        seed(10)
    assert len(db_wallets()) == 10


@pytest.mark.parametrize("wallets", [0, -5])
def test_seed_refuses_a_bad_size(wallets):
    with pytest.raises(CommandError):
        seed(wallets)
    assert db_wallets() == {}


@pytest.mark.parametrize(
    "value", ["yesterday", "2026-03-02", "2026-03-02T03:00:00", " ", "2026-03-02T03:00Z+1"]
)
def test_seed_refuses_an_unparsable_as_of(value):
    with pytest.raises(CommandError, match="ISO 8601"):
        call_command("saka_seed", wallets=3, as_of=value, stdout=io.StringIO())
    assert db_wallets() == {}


@pytest.mark.parametrize(
    "value",
    ["2026-02-30T00:00:00Z", "2026-03-02T03:00:00+25:00", "0001-01-01T00:00:00Z"],
)
def test_seed_refuses_an_impossible_as_of_with_a_command_error(value):
    with pytest.raises(CommandError):
        call_command("saka_seed", wallets=3, as_of=value, stdout=io.StringIO())
