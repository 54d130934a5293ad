"""The benchmark harness end to end on a tiny population (PostgreSQL: it creates databases).

The harness works in its own ``saka_bench_t<pid>_*`` databases on the test server, in fresh
processes; it never touches the test database, so no ``django_db`` mark.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from bench import report
from bench.dbs import Server
from bench.harness import run_bench
from bench.options import BenchOptions
from saka.grains.conf import HARVEST_RULES

# one module-scoped run of the harness: its tests stay on one pytest-xdist worker (loadgroup)
pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("bench_quick")]

SIZE = 2_000
THROUGHPUT_PROCESSES, PER_MEMBER = 2, 4
PROCESSES, PROCESSES_CHUNK = 2, 250  # 2,000 wallets: 9 chunks of 250 ids to share
SETTLEMENT_PLEDGES = 1_000


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    prefix = f"saka_bench_t{os.getpid()}"
    opts = BenchOptions(
        sizes=[SIZE],
        prefix=prefix,
        naive_max=SIZE,
        latency_idle_seconds=1.0,
        latency_max_ops=40,
        latency_max_seconds=30.0,
        throughput_processes=THROUGHPUT_PROCESSES,
        throughput_members=2,
        throughput_per_member=PER_MEMBER,
        throughput_max_seconds=60.0,
        processes=[PROCESSES],
        processes_chunk_size=PROCESSES_CHUNK,
        settlement_pledges=SETTLEMENT_PLEDGES,
        second_report=False,  # measured by tests/bench/test_second_report.py
        server_connections=4,
        server_seconds=2.0,
        server_profile_calls=5,
        checkpoint=False,
        quick=True,
        log=lambda _message: None,
    )
    try:
        out = run_bench(opts)
    finally:
        server = Server.from_django()
        for name in server.names_with_prefix(prefix):
            server.drop(name)
    report.ratios(out)
    return out


def _by(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["contender"]: m for m in results["measurements"]}


@pytest.mark.parametrize(
    "contender",
    [
        "project_compost",
        "floor_compost",
        "naive_compost",
        "project_redistribution",
        "floor_redistribution",
    ],
)
def test_project_floor_and_naive_give_the_expected_set(
    results: dict[str, Any], contender: str
) -> None:
    # given the quick run on the spec's population
    m = _by(results)[contender]
    # then the contender booked exactly the formula's wallets and amounts
    assert m["status"] == "ok", m["note"]
    assert m["correct"] is True, m["diff"]
    assert m["wallets"] == m["expected_wallets"] > 0
    assert m["amount"] == m["expected_amount"] > 0
    assert m["diff"]["missing"] == m["diff"]["extra"] == m["diff"]["wrong_amount"] == 0
    assert m["diff"]["balance_mismatch"] == 0
    assert m["wall_s"] > 0
    assert m["queries"] > 0
    assert m["peak_rss_mb"] > 0
    # and what it cost besides the clock: the WAL its writes produced, the process's CPU (the
    # floor's process only waits on its statement; the project's drives the chunks)
    assert m["info"]["wal_mb"] > 0
    assert m["info"]["cpu_s"] > 0 if m["family"] == "project" else m["info"]["cpu_s"] >= 0


def test_the_seeds_compost_misses_about_half_of_the_eligible_wallets(
    results: dict[str, Any],
) -> None:
    # given the seeds' "optimised" compost (OFFSET pages over rows that leave the filter)
    m = _by(results)["seeds_compost"]
    # then it skips wallets, but what it did compost has the right amount
    assert m["status"] == "ok", m["note"]
    assert m["correct"] is False
    assert 0.4 * m["expected_wallets"] < m["diff"]["missing"] < 0.6 * m["expected_wallets"]
    assert m["diff"]["extra"] == m["diff"]["wrong_amount"] == m["diff"]["duplicates"] == 0
    assert m["wallets"] + m["diff"]["missing"] == m["expected_wallets"]


def test_only_the_seeds_are_reported_wrong(results: dict[str, Any]) -> None:
    # then nothing but the seeds' contenders fails the check (the quick mode's exit status)
    assert report.failures(results) == []
    assert report.table(results).count("\n") == len(results["measurements"]) + 1


def test_latency_is_measured_with_and_without_a_run(results: dict[str, Any]) -> None:
    # given the probe on the population (no run, then during the project's compost)
    latency = results["latency"]
    # then the quiet phase has samples of both calls, and the run phase was timed
    assert latency["size"] == SIZE
    for op in ("harvest", "plant"):
        assert latency["no_run"][op]["calls"] > 0
        assert latency["no_run"][op]["p99_ms"] >= latency["no_run"][op]["p50_ms"] > 0
    assert latency["run_wallets"] > 0
    assert latency["run_wall_s"] > 0


def test_member_latency_is_measured_during_a_settlement(results: dict[str, Any]) -> None:
    # given deposits with a tip and donations to the project, with and without its settlement
    lat = results["settlement_latency"]
    # then the settlement released every pledge, the deposits were measured, none refused
    assert lat["run"]["pledges_done"] == SETTLEMENT_PLEDGES
    for op in ("deposit_tip", "donation"):
        assert lat["no_run"][op]["calls"] > 0
        assert lat["no_run"][op]["p99_ms"] >= lat["no_run"][op]["p50_ms"] > 0
        assert lat["during_run"][op]["refused"] == 0
    assert lat["reconcile_ok"]
    assert "Member p99 while a 1,000-pledge settlement runs" in report.markdown(results)


def test_the_throughput_probe_books_exactly_what_it_reports(results: dict[str, Any]) -> None:
    # given the throughput probe: 1 process, then 2 at once, each on members of its own
    thr = results["throughput"]
    reward = HARVEST_RULES[thr["reason"]].reward
    # then each phase did all its harvests, and the copy shows exactly those: one entry per
    # harvest and the reward on each member's balance (booked harvests = gain / reward)
    assert (thr["size"], thr["processes"], thr["per_member"]) == (
        SIZE,
        THROUGHPUT_PROCESSES,
        PER_MEMBER,
    )
    for phase, processes in (("single", 1), ("parallel", THROUGHPUT_PROCESSES)):
        p = thr[phase]
        assert p["processes"] == processes
        assert p["members"] == 2 * THROUGHPUT_PROCESSES
        assert p["harvests"] == p["planned"] == 2 * THROUGHPUT_PROCESSES * PER_MEMBER
        assert p["booked_harvests"] == p["harvests"] == p["booked_grains"] // reward
        assert p["booked_grains"] == reward * p["harvests"]
        assert (p["wrong_members"], p["errors"], p["exact"]) == (0, {}, True)
        # and it reports its figures (speed itself is not asserted: the benchmark measures it)
        assert p["seconds"] > 0
        assert p["per_s"] > 0
    assert thr["exact"] is True
    assert thr["speedup"] > 0
    assert "Member throughput at N = 2,000" in report.markdown(results)


def test_a_throughput_probe_that_books_otherwise_fails_the_run(results: dict[str, Any]) -> None:
    # given the quick run's results where the parallel phase booked one harvest fewer
    parallel = {**results["throughput"]["parallel"], "exact": False}
    parallel["booked_harvests"] -= 1
    broken = {**results, "throughput": {**results["throughput"], "parallel": parallel}}
    broken["throughput"]["exact"] = False
    # then it is reported as a failure (saka_bench exits 1)
    failed = report.failures(broken)
    assert len(failed) == 1
    assert failed[0].startswith("member throughput probe at N=2000: parallel phase reported")


def test_a_wrong_project_result_fails_the_run_but_a_wrong_seeds_result_does_not(
    results: dict[str, Any],
) -> None:
    # given the quick run's results where the project's compost missed a wallet
    broken = {**results, "measurements": [dict(m) for m in results["measurements"]]}
    for m in broken["measurements"]:
        if m["contender"] == "project_compost":
            m["correct"] = False
            m["diff"] = {**m["diff"], "missing": 1, "ok": False}
    # then it is reported as a failure (saka_bench exits 1), and only it: the seeds' are not
    failed = report.failures(broken)
    assert len(failed) == 1
    assert failed[0].startswith("project_compost at N=2000: missing 1")


def _fanout(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["contender"]: m for m in results["processes"]["measurements"]}


@pytest.mark.parametrize("contender", ["project_compost", "project_redistribution"])
def test_a_run_driven_by_two_processes_gives_the_expected_set(
    results: dict[str, Any], contender: str
) -> None:
    # given the project's run opened by the contender process and driven by it and one
    # worker process started before the clock
    m = _fanout(results)[contender]
    # then the run booked exactly the formula's wallets and amounts, like the threaded one
    assert (m["status"], m["processes"], m["threads"]) == ("ok", PROCESSES, 1), m["note"]
    assert m["correct"] is True, m["diff"]
    assert m["wallets"] == m["expected_wallets"] == _by(results)[contender]["wallets"] > 0
    assert m["amount"] == m["expected_amount"] > 0
    assert m["reconcile"]["ok"] is True
    # and each of the two processes reports itself: the contender's first, the worker's next
    workers = m["workers"]
    assert [w["in_process"] for w in workers] == [True, False]
    assert len({w["pid"] for w in workers}) == PROCESSES
    assert all(w["run_status"] == "done" for w in workers)
    assert all(w["queries"] > 0 and w["peak_rss_mb"] > 0 for w in workers)
    # and every chunk of the run is counted once, for the process that did it
    assert sum(w["chunks_total"] for w in workers) == m["info"]["chunks"] >= SIZE // PROCESSES_CHUNK
    assert m["info"]["chunks_unattributed"] == 0
    assert m["queries"] == sum(w["queries"] for w in workers)
    assert m["wall_s"] > 0


def test_the_processes_table_compares_them_with_the_floor(results: dict[str, Any]) -> None:
    # given the quick run's fan-out at N = 2,000 (2 processes only)
    text = report.processes_table(results)
    # then it has the floor, the two-process run and the threaded run of each kind
    assert text.startswith(f"{SIZE:,} wallets, P worker processes")
    for kind in ("compost", "redistribution"):
        assert f"| {kind} | SQL floor | one statement |" in text
        assert f"| {kind} | project (saka) | {PROCESSES} x 1 |" in text
        assert f"| {kind} | project, threads (table above) | 1 x " in text
    assert all(m["vs_floor"] > 0 for m in results["processes"]["measurements"])
    assert text in report.markdown(results)


def test_a_wrong_result_with_worker_processes_fails_the_run(results: dict[str, Any]) -> None:
    # given the quick run's results where the two-process redistribution credited one twice
    fan = [dict(m) for m in results["processes"]["measurements"]]
    for m in fan:
        if m["contender"] == "project_redistribution":
            m["correct"] = False
            m["diff"] = {**m["diff"], "duplicates": 1, "ok": False}
    broken = {**results, "processes": {**results["processes"], "measurements": fan}}
    # then it is reported as a failure (saka_bench exits 1)
    assert report.failures(broken) == [
        f"project_redistribution with {PROCESSES} processes at N={SIZE}: twice 1"
    ]


def test_the_real_server_books_every_write_it_answered(results: dict[str, Any]) -> None:
    from bench.server_load import PHASES

    srv = results["server"]
    assert srv["size"] == SIZE
    assert list(srv["phases"]) == list(PHASES)
    for phase, r in srv["phases"].items():
        assert r["requests"] > 0, phase
        assert r["ok"] == r["requests"], (phase, r["statuses"])
    assert srv["problems"] == []
    assert set(srv["profiles"]) == {"plant", "deposit"}
    assert all(p["statements_per_call"] > 0 for p in srv["profiles"].values())
    assert "OK" in srv["reconcile"]
    assert "The real server (gunicorn" in report.markdown(results)


def test_a_server_phase_with_a_problem_fails_the_run(results: dict[str, Any]) -> None:
    broken = {**results, "server": {**results["server"], "problems": ["plant: 3 answered"]}}
    assert report.failures(broken) == ["real server: plant: 3 answered"]
