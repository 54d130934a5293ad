"""The results page's lead table on given figures (no database): every workload from the latest
file of each kind, each row with the seeds' figure, the floor and the date measured; the bar's
10M row; the lead block rewritten in place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import page, report
from tests.support.bench import measurement

MACHINE = {"cores": 2, "cpu": "cpu", "ram_gb": 24, "postgresql": "15", "git_commit": "abc"}


def _m(contender: str, size: int, wall_s: float, **extra: Any) -> dict[str, Any]:
    return measurement(contender, wall_s, size=size, **{"peak_rss_mb": 60.0, **extra})


def _settlement(family: str, pledges: int, released: int) -> dict[str, Any]:
    amount = pledges * 100
    booked = released * 100
    return {
        "family": family,
        "pledges": pledges,
        "wall_s": 0.5,
        "queries": 70,
        "peak_rss_mb": 70.0,
        "rss_before_mb": 69.0,
        "reported": {"count": pledges, "amount": amount},
        "check": {
            "released": released,
            "expected": pledges,
            "never_released": pledges - released,
            "released_twice": 0,
            "booked_amount": booked,
            "expected_amount": amount,
            "reported_not_booked": amount - booked,
            "commission_reported_not_booked": 0,
            "commission_off_rule": 0,
            "booked_commission": booked // 20,
            "booked_net": booked - booked // 20,
        },
        "reconcile": None,
    }


def _bench() -> dict[str, Any]:
    return {
        "date": "2026-12-03",
        "sizes": [1_000_000],
        "machine": {**MACHINE, "load_avg_start": [0.5], "load_avg_end": [1.5]},
        "measurements": [
            _m("floor_compost", 1_000_000, 2.0),
            _m("project_compost", 1_000_000, 2.2),
            _m(
                "seeds_compost",
                1_000_000,
                90.0,
                correct=False,
                diff={"missing": 5},
                wallets=5,
            ),
        ],
        "second_report": {
            "settlement": [
                _settlement("project", 100_000, 100_000),
                _settlement("seeds", 100_000, 1_000),
            ],
            "deposits": {
                "members": 1_000,
                "deposits": 1_000,
                "per_s": 75.3,
                "p99_ms": 84.0,
                "wrong_members": 0,
                "errors": {},
                "reconcile_ok": True,
            },
        },
        "latency": {
            "size": 1_000_000,
            "during_run": {
                "harvest": {"p99_ms": 40.5, "refused": 0},
                "plant": {"p99_ms": 30.1, "refused": 1},
            },
        },
        "server": {
            "size": 1_000_000,
            "problems": [],
            "phases": {"writes_mixed": {"rps": 55.2, "p99_ms": 607.3, "ok": 827, "requests": 827}},
        },
    }


def _ten_million() -> dict[str, Any]:
    return {
        "date": "2026-12-01",
        "sizes": [10_000_000],
        "machine": MACHINE,
        "measurements": [
            _m("floor_compost", 10_000_000, 30.0),
            _m("project_compost", 10_000_000, 45.0, peak_rss_mb=80.0),
        ],
        "populations": {
            "10000000": {
                "wallets": 10_000_000,
                "seed_s": 520.4,
                "vacuum_analyze_s": 31.0,
                "db_mb": 5_120,
            }
        },
    }


def _write(directory: Path, name: str, data: dict[str, Any]) -> None:
    (directory / name).write_text(json.dumps(data))


def test_the_lead_table_takes_the_latest_file_of_each_kind(tmp_path: Path) -> None:
    # given an older and a newer full bench, a 10M file and a dashboard file
    old = _bench()
    old["measurements"][1]["wall_s"] = 9.0
    _write(tmp_path, "2026-11-30.json", old)
    _write(tmp_path, "2026-12-03.json", _bench())
    _write(tmp_path, "2026-12-01-10m.json", _ten_million())
    _write(
        tmp_path,
        "dashboard-2026-12-02.json",
        {
            "date": "2026-12-02",
            "machine": MACHINE,
            "wallets": 1_000_000,
            "postings": 10_000_000,
            "panels_ms": {"a panel": 12.0, "the whole page's data (panels.panels)": 86.6},
            "export": {"rows": 5, "expected_rows": 5, "seconds": 2.0, "peak_rss_mb": 100.0},
        },
    )
    # when the page is built
    sources = page.latest(tmp_path)
    text = page.lead_markdown(sources, chart="page.png")
    # then the newest full bench is the one read, with its ratio to the floor
    assert sources["bench"]["_file"] == "2026-12-03.json"
    assert (
        "| compost run | 1,000,000 wallets | 2.20 s, 5 q, 60 MB | 90.00 s, 5 q, 60 MB | 2.00 s "
        "| 1.10x | exact | missing 5 | 2026-12-03 |"
    ) in text
    # and the 10M run, measured on its own day, sits beside it with its own date
    assert "| compost run | 10,000,000 wallets | 45.00 s, 5 q, 80 MB | — | 30.00 s | 1.50x" in text
    assert "not run at this size | 2026-12-01 |" in text
    # and so does what seeding 10M cost, with the size on disk
    assert (
        "| seeding (`saka_seed`) | 10,000,000 wallets | 520 s + VACUUM ANALYZE 31 s | — | — | — "
        "| 5,120 MB on disk |"
    ) in text
    # and the settlement shows the seeds' pledges never released
    assert "| campaign settlement | 100,000 pledges |" in text
    assert "never released 99,000" in text
    # and the deposits, the members' p99 during a run and the real server, with no floor
    assert (
        "| concurrent deposits | 1,000 members | 75.3/s, p99 84 ms | — | — | — "
        "| exact, reconcile clean | — | 2026-12-03 |"
    ) in text
    assert (
        "| member p99 during a compost | 1,000,000 wallets | harvest 40.5 ms, plant 30.1 ms" in text
    )
    assert "| refused 1 |" in text
    assert "| real server, writes mixed | 1,000,000 wallets | 55 req/s, p99 607.3 ms |" in text
    assert "827 of 827 2xx; books reconciled" in text
    # and the dashboard its whole page and slowest panel
    assert "whole page 87 ms; slowest panel 12 ms" in text
    assert "0 of 2 over 300 ms" in text
    assert "![runs and settlement: time and peak memory](page.png)" in text
    # and the bar, from each file's largest size: 1.10x of the floor at 1M, 45 s at 10M
    assert "| compost: within 1.15x of the floor | 1.10x | yes | 2026-12-03.json |" in text
    assert (
        "| compost: under 60 s at 10,000,000 wallets | 45.0 s | yes | 2026-12-01-10m.json |" in text
    )


def test_a_run_written_elsewhere_leads_the_page_beside_the_other_kinds(tmp_path: Path) -> None:
    # given bench/results/ with a full bench and a 10M file, and a newer full bench written
    # to another directory (saka_bench --out-dir), plus an older one there
    results, elsewhere = tmp_path / "results", tmp_path / "elsewhere"
    results.mkdir()
    elsewhere.mkdir()
    _write(results, "2026-12-03.json", _bench())
    _write(results, "2026-12-01-10m.json", _ten_million())
    newer = _bench()
    newer["date"] = "2026-12-06"
    _write(elsewhere, "2026-12-06.json", newer)
    _write(elsewhere, "2026-11-20.json", _bench())
    # when the page's sources are read from both
    sources = page.latest(results, elsewhere)
    # then the newest full bench is the one written elsewhere, and the 10M file still counts
    assert sources["bench"]["_file"] == "2026-12-06.json"
    assert sources["bench"]["date"] == "2026-12-06"
    assert sources["10m"]["_file"] == "2026-12-01-10m.json"
    # and from bench/results/ alone the page is what it was
    assert page.latest(results)["bench"]["_file"] == "2026-12-03.json"


def test_the_chart_covers_every_size_and_the_settlement(tmp_path: Path) -> None:
    # given a full bench at 1M and a 10M file
    sources = {"bench": _bench(), "10m": _ten_million()}
    for src in sources.values():
        src["_file"] = "x.json"
    # when the chart's results are merged
    merged = page.chart_results(sources)
    # then both sizes are there, and the settlement
    assert merged is not None
    assert sorted({m["size"] for m in merged["measurements"]}) == [1_000_000, 10_000_000]
    assert len(merged["second_report"]["settlement"]) == 2
    # and the chart is drawn with its third axis
    assert report.chart(merged, tmp_path / "page.png")
    assert (tmp_path / "page.png").stat().st_size > 0


def test_the_lead_block_is_replaced_in_place(tmp_path: Path) -> None:
    # given a page with a lead block and text around it
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# title\n{page.LEAD_START}\nold\n{page.LEAD_END}\nrest\n")
    # when the block is replaced
    assert page.replace_lead(doc, "new table\n")
    # then only the block changed
    assert doc.read_text() == f"# title\n{page.LEAD_START}\nnew table\n{page.LEAD_END}\nrest\n"
    # and a page without the markers is left alone
    other = tmp_path / "other.md"
    other.write_text("no markers\n")
    assert not page.replace_lead(other, "x")
    assert other.read_text() == "no markers\n"


def test_at_10m_the_bar_holds_each_run_under_60_seconds() -> None:
    # given a compost at 10M in 45 s and a redistribution in 61 s
    results = _ten_million()
    results["measurements"] += [
        _m("floor_redistribution", 10_000_000, 30.0),
        _m("project_redistribution", 10_000_000, 61.0),
    ]
    report.ratios(results)
    rows = {criterion: (value, met) for criterion, value, met in report.bar(results)}
    # then the compost meets it and the redistribution does not
    assert rows["compost: under 60 s at 10,000,000 wallets"] == ("45.0 s", True)
    assert rows["redistribution: under 60 s at 10,000,000 wallets"] == ("61.0 s", False)
    # and the ratio to the floor is not held against the 1M bar there
    assert not any("of the floor" in c for c in rows)
    # and at 1M there is no such row
    assert not any("under 60 s" in c for c, _, _ in report.bar(_bench()))
