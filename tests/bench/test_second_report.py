"""The second seeds report's contenders (bench.second_report): the seeds' settlement and
pocket split re-implemented faithfully, beside the project's, and the checks that count the
damage and make the quick bench fail when the project is wrong.

The probe runs once (module scope) on tiny sizes in its own ``saka_bench_t<pid>s_*``
databases, in fresh processes, never in the test database (no ``django_db`` mark); the unit
tests of the split check and of the seeds' allocation in this process come after.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest

from bench import report, settlement_latency
from bench.dbs import Server
from bench.options import BenchOptions
from bench.second_report import render, seeds_code
from bench.second_report.probe import POCKET_DEPOSIT, second_report_probe, split_check
from bench.templates import Templates

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("bench_second")]

PLEDGES = 1_500  # more than the seeds' MAX_ESCROWS_PER_BATCH (1,000)
DEPOSITS = 40


@pytest.fixture(scope="module")
def second() -> dict[str, Any]:
    prefix = f"saka_bench_t{os.getpid()}s"
    opts = BenchOptions(
        prefix=prefix,
        settlement_sizes=[PLEDGES],
        pocket_counts=[1, 10, 100],
        concurrent_deposits=DEPOSITS,
        deposit_processes=2,
        throughput_max_seconds=60.0,
        quick=True,
        log=lambda _message: None,
    )
    server = Server.from_django()
    templates = Templates(server, opts)
    try:
        out = second_report_probe(server, templates, opts)
    finally:
        for name in server.names_with_prefix(prefix):
            server.drop(name)
    return {"second_report": out, "measurements": [], "processes": None}


def _settlement(results: dict[str, Any], family: str) -> dict[str, Any]:
    (m,) = [m for m in results["second_report"]["settlement"] if m["family"] == family]
    return m


def _pockets(results: dict[str, Any], family: str, count: int) -> dict[str, Any]:
    (m,) = [
        m
        for m in results["second_report"]["pockets"]
        if (m["family"], m["count"]) == (family, count)
    ]
    return m


def test_the_seeds_settlement_releases_1000_pledges_and_reports_1500(
    second: dict[str, Any],
) -> None:
    # given a campaign of 1,500 held pledges settled by the seeds' "optimised" release
    m = _settlement(second, "seeds")
    c = m["check"]
    # then it released the first 1,000 ids only, once each, and reported all 1,500
    assert (c["expected"], c["released"], c["never_released"]) == (PLEDGES, 1_000, 500)
    assert c["released_twice"] == 0
    assert m["reported"]["count"] == PLEDGES
    assert m["reported"]["amount"] == c["expected_amount"]
    # and the money it reported but never booked is the held pledges' amount
    assert c["reported_not_booked"] == c["expected_amount"] - c["booked_amount"] > 0
    # and the project's reconcile sees its report disagree with the ledger
    assert m["reconcile"]["checks_failed"] == ["settlements_match_bookings"]
    assert not render.settlement_exact(m)


def test_the_project_settlement_releases_every_pledge(second: dict[str, Any]) -> None:
    # given the same campaign settled by the project
    m = _settlement(second, "project")
    c = m["check"]
    # then every pledge was released once, booked and reported exactly, books clean
    assert c["released"] == c["expected"] == m["reported"]["count"] == PLEDGES
    assert c["never_released"] == c["released_twice"] == c["reported_not_booked"] == 0
    assert c["booked_amount"] == c["expected_amount"] == m["reported"]["amount"]
    assert c["booked_commission"] == m["reported"]["commission"]
    assert c["commission_off_rule"] == 0
    assert m["reconcile"]["ok"]
    assert render.settlement_exact(m)
    assert m["wall_s"] > 0
    assert m["queries"] > 0
    assert m["peak_rss_mb"] > 0


def test_the_seeds_pocket_split_over_and_under_allocates_the_project_is_exact(
    second: dict[str, Any],
) -> None:
    # given deposits of 10.05 EUR split over 10 pockets of 10 % and 100 pockets of 1 %
    # then the seeds round each part half up: 10 x 1.01 = 10.10, 100 x 0.10 = 10.00 EUR
    deposits = second["second_report"]["pocket_deposits"]
    assert POCKET_DEPOSIT == 10_05
    assert _pocket_state(second, "seeds", 10) == (5 * deposits, 0, 1_010)
    assert _pocket_state(second, "seeds", 100) == (0, 5 * deposits, 1_000)
    # and the over-allocation came out of the main balance: the books still balance
    assert _pockets(second, "seeds", 10)["reconcile_new"] == []
    # and the project splits every deposit exactly, at every K
    for count in (1, 10, 100):
        m = _pockets(second, "project", count)
        assert _pocket_state(second, "project", count) == (0, 0, POCKET_DEPOSIT)
        assert m["check"]["parts_off_by_a_cent_or_more"] == m["check"]["skipped"] == 0
        assert render.split_exact(m), m["check"]
        assert m["queries"] > 0


def _pocket_state(results: dict[str, Any], family: str, count: int) -> tuple[int, int, float]:
    c = _pockets(results, family, count)["check"]
    return c["over_cents"], c["under_cents"], c["parts_per_deposit"]


def test_the_seeds_cap_skips_the_pockets_beyond_100(second: dict[str, Any]) -> None:
    # given a member of the seeds with 150 pockets of 0.66 % (the project refuses a 101st)
    m = _pockets(second, "seeds", 150)
    # then 100 pockets are filled, 50 get nothing, and no warning reaches the member
    assert m["check"]["pockets"] == 150
    assert m["check"]["skipped"] == 50
    assert m["check"]["under_cents"] > 0
    assert m["allocation_queries"] == 6  # count, lock, 2 inserts, the pockets, the wallet


def test_concurrent_deposits_are_booked_exactly(second: dict[str, Any]) -> None:
    # given 40 deposits to distinct members with 3 pockets each, from 2 processes at once
    d = second["second_report"]["deposits"]
    # then every member's main balance and pockets are what its worker sent, books clean
    assert d["deposits"] == d["members"] == DEPOSITS
    assert (d["wrong_members"], d["errors"], d["reconcile_ok"]) == (0, {}, True)
    assert d["p99_ms"] >= d["p50_ms"] > 0
    assert render.deposits_exact(d)
    # and the seeds' deposits, measured the same way, are reported, never a failure
    seeds = second["second_report"]["deposits_seeds"]
    assert seeds["members"] == DEPOSITS
    assert seeds["deposits"] + sum(seeds["errors"].values()) == DEPOSITS


def test_only_the_project_can_fail_the_run_and_the_tables_show_both(
    second: dict[str, Any],
) -> None:
    # then the seeds' defects are reported, not failures (saka_bench exits 0)
    assert render.second_report_failures(second) == []
    text = render.second_report_markdown(second)
    assert "| 1,500 | seeds' report |" in text
    assert "never released 500" in text
    assert "cents over-allocated per deposit 5" in text
    assert "pockets skipped 50" in text
    assert "| project (saka) | 40 (40) |" in text


def test_a_project_settlement_that_misses_a_pledge_fails_the_run(
    second: dict[str, Any],
) -> None:
    # given the results where the project's settlement left one pledge held
    broken = copy.deepcopy(second)
    c = _settlement(broken, "project")["check"]
    c["released"] -= 1
    c["never_released"] += 1
    # then saka_bench fails on it (the report's hook), and only on it
    failed = report.failures(broken)
    assert failed == [f"project settlement at P={PLEDGES:,}: never released 1"]


def test_a_project_split_off_by_a_cent_fails_the_run(second: dict[str, Any]) -> None:
    # given the results where the project's split over 10 pockets over-allocated one cent
    broken = copy.deepcopy(second)
    c = _pockets(broken, "project", 10)["check"]
    c["over_cents"] = broken["second_report"]["pocket_deposits"]  # one cent per deposit
    # then saka_bench fails on it
    assert report.failures(broken) == [
        "project pocket split at K=10: cents over-allocated per deposit 1"
    ]


def test_seeds_that_release_every_pledge_are_not_faithful(second: dict[str, Any]) -> None:
    # given the results where the seeds' contender released all 1,500 pledges
    broken = copy.deepcopy(second)
    m = _settlement(broken, "seeds")
    m["check"].update(released=PLEDGES, never_released=0, reported_not_booked=0)
    # then the run fails: the re-implementation no longer shows the report's defect
    failed = render.second_report_failures(broken)
    assert len(failed) == 1
    assert failed[0].startswith("not faithful: seeds' settlement at P=1,500")


def test_concurrent_deposits_booked_otherwise_fail_the_run(second: dict[str, Any]) -> None:
    broken = copy.deepcopy(second)
    broken["second_report"]["deposits"]["wrong_members"] = 1
    failed = render.second_report_failures(broken)
    assert len(failed) == 1
    assert failed == ["project concurrent deposits: members off the exact split 1"]


# --- the split check and the seeds' allocation, in this process ---------------------------------


def test_split_check_counts_cents_over_and_under_and_skipped_pockets() -> None:
    # given 10 pockets of 10 % that each received 101 of a 1005-cent deposit
    over = split_check(amount=1005, deposits=1, pockets=[(1000, 101)] * 10, main_gain=-5)
    # then 5 cents are over-allocated, each part is still within a cent of its share
    assert (over["over_cents"], over["under_cents"], over["skipped"]) == (5, 0, 0)
    assert over["parts_off_by_a_cent_or_more"] == 0
    assert over["conserved"]
    # given 3 pockets of 30 % where the last received nothing (twice)
    skipped = split_check(
        amount=1000, deposits=2, pockets=[(3000, 600)] * 2 + [(3000, 0)], main_gain=800
    )
    # then one pocket is skipped and 600 cents (over two deposits) are under-allocated
    assert (skipped["skipped"], skipped["under_cents"], skipped["over_cents"]) == (1, 600, 0)
    assert skipped["parts_off_by_a_cent_or_more"] == 1


@pytest.mark.django_db
def test_the_seeds_allocation_takes_the_over_allocation_from_the_main_balance(
    make_user: Any, settings: Any
) -> None:
    from saka.core.clock import now
    from saka.euro.conf import get_settings
    from saka.euro.models import AccountKind, EuroAccount
    from saka.euro.services.pockets import pocket_create

    # given a member with 1.00 EUR on the main balance and 10 pockets of 10 %
    settings.SAKA_PAYMENT_WEBHOOK_SECRET = settlement_latency.SECRET
    get_settings.cache_clear()
    member = make_user()
    settlement_latency._deliver(member.pk, 100)
    for k in range(10):
        pocket_create(member_id=member.pk, name=f"p{k}", percentage="10")
    # when a deposit of 10.05 EUR is allocated the seeds' way
    allocation = seeds_code.seeds_deposit(
        member_id=member.pk, amount=1005, payment_id="pi_seeds_unit", at=now()
    )
    get_settings.cache_clear()
    # then each pocket got 1.01 EUR (1.005 rounded half up): 10.10 EUR of a 10.05 deposit,
    # the 5 cents taken from what was on the main balance before (reconcile still passes)
    assert [cents for _, cents in allocation.allocated] == [101] * 10
    assert allocation.total == 1010
    wallet = EuroAccount.objects.get(kind=AccountKind.WALLET, member_id=member.pk)
    assert wallet.balance == 100 + 1005 - 1010
