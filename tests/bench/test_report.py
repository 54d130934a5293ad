"""The report of the fan-out measurement on given figures (no database): x floor, speed-up
against one process, the bar's "one process costs no more than before the engine"."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench import report
from bench.machine import machine_cpu_s
from tests.support.bench import measurement

SIZE = 1_000_000


def _m(contender: str, wall_s: float, **extra: Any) -> dict[str, Any]:
    return measurement(contender, wall_s, size=SIZE, **{"info": {"workers": 2}, **extra})


def _results() -> dict[str, Any]:
    fan = [
        _m(
            "project_compost",
            wall,
            processes=p,
            threads=1,
            workers=[{"chunks_total": 200 // p, "peak_rss_mb": 63.0}] * p,
        )
        for p, wall in ((1, 2.0), (2, 1.25), (4, 1.0))
    ]
    return {
        "sizes": [SIZE],
        "machine": {"cores": 2},
        "measurements": [_m("floor_compost", 1.6), _m("project_compost", 1.6)],
        "processes": {"size": SIZE, "threads": 1, "chunk_size": 5_000, "measurements": fan},
    }


def test_each_process_count_is_compared_with_the_floor_and_with_one_process() -> None:
    # given a compost at 1M wallets with 1, 2 and 4 processes, and the floor at 1.6 s
    results = _results()
    # when the ratios are added
    report.ratios(results)
    # then each has its time over the floor's and one process's time over its own
    fan = results["processes"]["measurements"]
    assert [m["vs_floor"] for m in fan] == [1.25, 0.78, 0.62]
    assert [m["speedup_vs_1"] for m in fan] == [1.0, 1.6, 2.0]
    # and the table shows them, the chunks and peak RSS of every process, and the threaded run
    text = report.processes_table(results)
    assert "| compost | project (saka) | 4 x 1 | 1.000 | 0.62 | 2.00 | 50 / 50 / 50 / 50 |" in text
    assert "| compost | project, threads (table above) | 1 x 2 | 1.600 | 1.00 | 1.25 |" in text
    assert report.failures(results) == []


def test_the_bar_compares_one_process_with_the_figures_before_the_engine() -> None:
    # given the threaded run in one process at 1.00x the floor (0.95x before the engine)
    results = _results()
    report.ratios(results)
    rows = {criterion: (value, met) for criterion, value, met in report.bar(results)}
    # then it is within the 10% the bar allows
    (criterion,) = [c for c in rows if c.startswith("compost: one process costs no more")]
    assert rows[criterion] == ("1.00x", True)
    # and at 1.10x it is not
    results["measurements"][1]["wall_s"] = 1.76
    report.ratios(results)
    rows = {criterion: (value, met) for criterion, value, met in report.bar(results)}
    assert rows[criterion] == ("1.10x", False)


def test_the_runs_cost_in_core_seconds_is_set_beside_the_floors() -> None:
    # given a floor that kept one core busy and a project that kept two busy for longer
    results = {
        "sizes": [SIZE],
        "machine": {"cores": 2},
        "measurements": [
            _m("floor_redistribution", 1.5, info={"machine_cpu_s": 1.5}),
            _m("project_redistribution", 2.5, info={"machine_cpu_s": 4.6}),
        ],
    }
    # when the report's table and CPU line are written
    text = report.table(results) + "\n" + report.cpu_line(results)
    # then the machine's CPU is a column of the table and the line compares the two
    assert "| machine CPU (core-s) |" in text
    assert "| 4.6 |" in text
    assert (
        "Machine CPU during the timed work at 1,000,000 wallets on 2 cores: redistribution "
        "1.50 core-s for the floor, 4.60 for the project (3.07x, 1.8 cores busy on average)."
    ) in text


def test_without_a_machine_cpu_figure_there_is_no_cpu_line() -> None:
    # given results recorded before the machine's CPU was measured (or off Linux)
    results = {
        "sizes": [SIZE],
        "machine": {"cores": 2},
        "measurements": [_m("floor_compost", 1.5), _m("project_compost", 2.0)],
    }
    # then the report says nothing about it, and the column shows a dash
    assert report.cpu_line(results) == ""
    assert "| — |" in report.table(results)


def test_the_machine_cpu_is_read_from_proc_stat(tmp_path: Path) -> None:
    # given a /proc/stat whose first line counts user, nice, system, idle, iowait, irq,
    # softirq and steal ticks
    ticks = os.sysconf("SC_CLK_TCK")
    stat = tmp_path / "stat"
    stat.write_text(f"cpu  {3 * ticks} {ticks} {2 * ticks} 900000 5000 0 {ticks} 777 0 0\ncpu0 1\n")
    # then idle, I/O wait and steal are not counted: 3 + 1 + 2 + 0 + 1 core-seconds
    assert machine_cpu_s(stat) == 7.0
    # and a machine without it gives None
    assert machine_cpu_s(tmp_path / "missing") is None
    (tmp_path / "bad").write_text("intr 1 2 3\n")
    assert machine_cpu_s(tmp_path / "bad") is None
