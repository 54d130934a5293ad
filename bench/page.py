"""The results page's lead: one table of every workload the benchmarks measure, each with the
seeds' figure and the floor beside the project's, from the latest results file of each kind in
``bench/results/``; and the chart of the runs (every size) and the settlement.

Three commands write those files, each on its own schedule (docs/benchmarks.md):

- ``make bench``: ``<date>.json``, the runs at 10k/100k/1M, the member probes, the second
  report (settlement, pockets, concurrent deposits) and the real server;
- ``make bench-10m``: ``<date>-10m.json``, the runs at 10M beside the floor;
- ``make bench-dashboard``: ``dashboard-<date>.json``, the staff dashboard's panels.

Each command rewrites the lead block of docs/benchmarks.md from the latest file of every kind
(``saka_bench --page`` does only that), so a 10M run an hour long need not be repeated to
refresh the rest, and each row says the date it was measured.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.report import bar, ratios, replace_block, result_text
from bench.second_report.render import (
    deposits_result,
    pocket_result,
    settlement_result,
)

LEAD_START, LEAD_END = "<!-- bench:lead:start -->", "<!-- bench:lead:end -->"
KINDS = {
    "bench": re.compile(r"^\d{4}-\d{2}-\d{2}\.json$"),
    "10m": re.compile(r"^\d{4}-\d{2}-\d{2}-10m\.json$"),
    "dashboard": re.compile(r"^dashboard-\d{4}-\d{2}-\d{2}\.json$"),
}
PAGE_BAR_MS = 300.0  # the dashboard's bar: every panel, and the whole page's data


def latest(*results_dirs: Path) -> dict[str, dict[str, Any]]:
    """The latest results file of each kind in ``results_dirs`` (by the date in its name; on
    the same name, the last directory given wins): ``bench/results/`` and, for a run written
    elsewhere (``--out-dir``), that directory too, so the lead shows the run just made."""
    found: dict[str, dict[str, Any]] = {}
    for kind, pattern in KINDS.items():
        newest: tuple[str, Path] | None = None
        for results_dir in results_dirs:
            if not results_dir.is_dir():
                continue
            for path in results_dir.iterdir():
                if pattern.match(path.name) and (newest is None or path.name >= newest[0]):
                    newest = (path.name, path)
        if newest:
            data = json.loads(newest[1].read_text())
            data["_file"] = newest[0]
            if "measurements" in data:
                ratios(data)
            found[kind] = data
    return found


def runs_measurements(sources: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every run measured, by size: the full bench's sizes, then the 10M file's sizes that the
    full bench did not measure (each measurement keeps the date of its file)."""
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    for kind in ("bench", "10m"):
        src = sources.get(kind)
        if not src:
            continue
        sizes = [n for n in src["sizes"] if n not in seen]
        seen.update(sizes)
        out += [
            {**m, "_date": src["date"]}
            for m in src["measurements"]
            if m["size"] in sizes and m["status"] != "skipped"
        ]
    return sorted(out, key=lambda m: (m["size"], m["kind"]))


def _run_cell(m: dict[str, Any] | None) -> str:
    if not m:
        return "—"
    if m["status"] != "ok" or m["wall_s"] is None:
        return m["status"]
    return f"{m['wall_s']:.2f} s, {m['queries']:,} q, {m['peak_rss_mb']:.0f} MB"


def _run_rows(sources: dict[str, dict[str, Any]]) -> list[list[str]]:
    ms = runs_measurements(sources)
    by = {(m["size"], m["contender"]): m for m in ms}
    rows = []
    for size, kind in sorted({(m["size"], m["kind"]) for m in ms}, key=lambda k: (k[1], k[0])):
        p = by.get((size, f"project_{kind}"))
        fl = by.get((size, f"floor_{kind}"))
        se = by.get((size, f"seeds_{kind}"))
        date = (p or fl or se or {}).get("_date", "?")
        vs = "—" if not p or p.get("vs_floor") is None else f"{p['vs_floor']:.2f}x"
        rows.append(
            [
                f"{kind} run",
                f"{size:,} wallets",
                _run_cell(p),
                _run_cell(se),
                "—" if not fl or fl["wall_s"] is None else f"{fl['wall_s']:.2f} s",
                vs,
                result_text(p) if p else "—",
                result_text(se) if se else "not run at this size",
                date,
            ]
        )
    return rows


def _population_rows(sources: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = []
    for kind in ("bench", "10m"):
        src = sources.get(kind) or {}
        for n, p in sorted((int(k), v) for k, v in (src.get("populations") or {}).items()):
            if p:
                rows.append(
                    _row(
                        "seeding (`saka_seed`)",
                        f"{n:,} wallets",
                        f"{p['seed_s']:.0f} s + VACUUM ANALYZE {p['vacuum_analyze_s']:.0f} s",
                        "—",
                        f"{p['db_mb']:,} MB on disk",
                        "—",
                        src["date"],
                    )
                )
    return rows


def _row(
    workload: str,
    size: str,
    project: str,
    seeds: str,
    project_result: str,
    seeds_result: str,
    date: str,
) -> list[str]:
    """A lead-table row of a workload that has no SQL floor."""
    return [workload, size, project, seeds, "—", "—", project_result, seeds_result, date]


def _by_size(rows: list[dict[str, Any]], key: str) -> list[tuple[int, dict[str, Any]]]:
    """``rows`` grouped by ``key``, each group by family (project, seeds), by size."""
    grouped: dict[int, dict[str, Any]] = {}
    for m in rows:
        grouped.setdefault(m[key], {})[m["family"]] = m
    return sorted(grouped.items())


def _settle_cell(m: dict[str, Any] | None) -> str:
    if not m:
        return "—"
    return f"{m['wall_s']:.2f} s, {m['queries']:,} q, {m['peak_rss_mb']:.0f} MB"


def _pocket_cell(m: dict[str, Any] | None) -> str:
    return "—" if not m else f"{m['median_ms']} ms, {m['queries']} q"


def _deposit_cell(d: dict[str, Any] | None) -> str:
    if not d:
        return "—"
    p99 = "—" if d["p99_ms"] is None else f"{d['p99_ms']:.0f}"
    return f"{d['per_s'] or 0:,}/s, p99 {p99} ms"


def _pair_row(
    workload: str,
    size: str,
    sides: dict[str, Any],
    cell: Callable[[dict[str, Any] | None], str],
    result: Callable[[dict[str, Any]], str],
    date: str,
) -> list[str]:
    """The row of a workload measured on both sides (``sides``: by family), no floor."""
    p, s = sides.get("project"), sides.get("seeds")
    return _row(
        workload,
        size,
        cell(p),
        cell(s),
        result(p) if p else "—",
        result(s) if s else "—",
        date,
    )


def _second_rows(src: dict[str, Any]) -> list[list[str]]:
    sr = src.get("second_report") or {}
    date = src["date"]
    rows = [
        _pair_row(
            "campaign settlement",
            f"{pledges:,} pledges",
            fam,
            _settle_cell,
            settlement_result,
            date,
        )
        for pledges, fam in _by_size(sr.get("settlement") or [], "pledges")
    ]
    rows += [
        _pair_row(
            "deposit split over pockets",
            f"{count} pocket{'' if count == 1 else 's'}",
            fam,
            _pocket_cell,
            pocket_result,
            date,
        )
        for count, fam in _by_size(sr.get("pockets") or [], "count")
    ]
    deposits = {"project": sr.get("deposits"), "seeds": sr.get("deposits_seeds")}
    if any(deposits.values()):
        members = next(d for d in deposits.values() if d)["members"]
        rows.append(
            _pair_row(
                "concurrent deposits",
                f"{members:,} members",
                deposits,
                _deposit_cell,
                deposits_result,
                date,
            )
        )
    return rows


def _member_rows(src: dict[str, Any]) -> list[list[str]]:
    rows, date = [], src["date"]
    lat = src.get("latency")
    if lat:
        during = lat["during_run"]
        rows.append(
            _row(
                "member p99 during a compost",
                f"{lat['size']:,} wallets",
                f"harvest {during['harvest']['p99_ms']} ms, plant {during['plant']['p99_ms']} ms",
                "—",
                f"refused {during['harvest']['refused'] + during['plant']['refused']}",
                "—",
                date,
            )
        )
    srv: dict[str, Any] = src.get("server") or {}
    for phase in ("wallet", "writes_mixed") if srv else ():
        r = srv["phases"].get(phase)
        if r:
            books = "; ".join(srv["problems"]) or "books reconciled"
            rows.append(
                _row(
                    f"real server, {phase.replace('_', ' ')}",
                    f"{srv['size']:,} wallets",
                    f"{r['rps']:,.0f} req/s, p99 {r['p99_ms']} ms",
                    "—",
                    f"{r['ok']:,} of {r['requests']:,} 2xx; {books}",
                    "—",
                    date,
                )
            )
    return rows


def _dashboard_rows(src: dict[str, Any]) -> list[list[str]]:
    panels: dict[str, float] = src.get("panels_ms") or {}
    if not panels:
        return []
    whole = next((ms for name, ms in panels.items() if "whole page" in name), None)
    slowest = max(ms for name, ms in panels.items() if "whole page" not in name)
    over = [name for name, ms in panels.items() if ms > PAGE_BAR_MS]
    shown = f"slowest panel {slowest:.0f} ms"
    rows = [
        _row(
            "staff dashboard",
            f"{src['wallets']:,} wallets, {src['postings']:,} postings",
            shown if whole is None else f"whole page {whole:.0f} ms; {shown}",
            "—",
            f"{len(over)} of {len(panels)} over {PAGE_BAR_MS:g} ms",
            "—",
            src["date"],
        )
    ]
    e = src.get("export") or {}
    if e:
        complete = e["rows"] == e.get("expected_rows", e["rows"])
        rows.append(
            _row(
                "run export (CSV)",
                f"{e['rows']:,} wallets",
                f"{e['seconds']:.1f} s, {e['peak_rss_mb']:.0f} MB",
                "—",
                "every wallet" if complete else f"{e['rows']:,} of {e['expected_rows']:,} rows",
                "—",
                src["date"],
            )
        )
    return rows


def _machine(src: dict[str, Any]) -> str:
    m = src.get("machine") or {}
    load = f"load {m.get('load_avg_start', ['?'])[0]} → {(m.get('load_avg_end') or ['?'])[0]}"
    return (
        f"`{src['_file']}` ({src.get('finished_at', src['date'])}, commit "
        f"`{str(m.get('git_commit', '?'))[:10]}`, {load})"
    )


def lead_markdown(sources: dict[str, dict[str, Any]], *, chart: str | None = None) -> str:
    """The lead table of docs/benchmarks.md from the latest results of each kind."""
    rows: list[list[str]] = _run_rows(sources) + _population_rows(sources)
    if "bench" in sources:
        rows += _second_rows(sources["bench"]) + _member_rows(sources["bench"])
    if "dashboard" in sources:
        rows += _dashboard_rows(sources["dashboard"])
    if not rows:
        return "No results yet: run `make bench`.\n"
    first = next(iter(sources.values()))
    m = first.get("machine") or {}
    lines = [
        f"Every workload, latest figures ({m.get('cores', '?')} cores, {m.get('cpu', '?')}, "
        f"{m.get('ram_gb', '?')} GB RAM, PostgreSQL {m.get('postgresql', '?')}, Python "
        f"{m.get('python', '?')}, Django {m.get('django', '?')}). Times are wall times of the "
        "whole operation; q = SQL queries; MB = peak RSS of the process doing it. The seeds' "
        "column is the faithful re-implementation of the reports' code on the same data; the "
        "floor is one set-based statement on a minimal schema (spec §7).",
        "",
        "| workload | size | project | seeds' code | SQL floor | project ÷ floor "
        "| project's result | seeds' result | measured |",
        "|---|---:|---|---|---:|---:|---|---|---|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    bars = [
        (kind, criterion, value, met)
        for kind in ("bench", "10m")
        if sources.get(kind, {}).get("measurements")
        for criterion, value, met in bar(sources[kind])
    ]
    if bars:
        lines += [
            "",
            "Spec §7 bar (x floor at 1,000,000 wallets, 60 s at 10,000,000), from each file's "
            "largest size:",
            "",
            "| criterion | measured | met | from |",
            "|---|---:|:---:|---|",
        ]
        lines += [
            f"| {criterion} | {value} | {'yes' if met else 'NO'} | {sources[kind]['_file']} |"
            for kind, criterion, value, met in bars
        ]
    lines += ["", "From:"] + [f"- {kind}: {_machine(src)}" for kind, src in sources.items()]
    if chart:
        lines += ["", f"![runs and settlement: time and peak memory]({chart})"]
    return "\n".join(lines) + "\n"


def chart_results(sources: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """A results dict for :func:`bench.report.chart`: the runs at every size measured and the
    full bench's settlement."""
    ms = runs_measurements(sources)
    if not ms:
        return None
    base = sources.get("bench") or sources.get("10m") or {}
    return {
        "date": base.get("date", "?"),
        "machine": base.get("machine", {"cores": "?", "postgresql": "?"}),
        "measurements": ms,
        "second_report": (sources.get("bench") or {}).get("second_report"),
    }


def replace_lead(path: Path, content: str) -> bool:
    """Put ``content`` between the lead markers of ``path``; False when there are none."""
    return replace_block(path, content, start=LEAD_START, end=LEAD_END)
