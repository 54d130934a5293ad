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
from pathlib import Path
from typing import Any

from bench.report import ratios, result_text
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


def latest(results_dir: Path) -> dict[str, dict[str, Any]]:
    """The latest results file of each kind in ``results_dir`` (by the date in its name)."""
    found: dict[str, dict[str, Any]] = {}
    if not results_dir.is_dir():
        return found
    for kind, pattern in KINDS.items():
        names = sorted(p.name for p in results_dir.iterdir() if pattern.match(p.name))
        if names:
            data = json.loads((results_dir / names[-1]).read_text())
            data["_file"] = names[-1]
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
                    [
                        "seeding (`saka_seed`)",
                        f"{n:,} wallets",
                        f"{p['seed_s']:.0f} s + VACUUM ANALYZE {p['vacuum_analyze_s']:.0f} s",
                        "—",
                        "—",
                        "—",
                        f"{p['db_mb']:,} MB on disk",
                        "—",
                        src["date"],
                    ]
                )
    return rows


def _second_rows(src: dict[str, Any]) -> list[list[str]]:
    sr = src.get("second_report") or {}
    date, rows = src["date"], []
    settle: dict[int, dict[str, dict[str, Any]]] = {}
    for m in sr.get("settlement") or []:
        settle.setdefault(m["pledges"], {})[m["family"]] = m
    for pledges, fam in sorted(settle.items()):
        p, s = fam.get("project"), fam.get("seeds")

        def cell(m: dict[str, Any] | None) -> str:
            if not m:
                return "—"
            return f"{m['wall_s']:.2f} s, {m['queries']:,} q, {m['peak_rss_mb']:.0f} MB"

        rows.append(
            [
                "campaign settlement",
                f"{pledges:,} pledges",
                cell(p),
                cell(s),
                "—",
                "—",
                settlement_result(p) if p else "—",
                settlement_result(s) if s else "—",
                date,
            ]
        )
    pockets: dict[int, dict[str, dict[str, Any]]] = {}
    for m in sr.get("pockets") or []:
        pockets.setdefault(m["count"], {})[m["family"]] = m
    for count, fam in sorted(pockets.items()):
        p, s = fam.get("project"), fam.get("seeds")

        def pcell(m: dict[str, Any] | None) -> str:
            return "—" if not m else f"{m['median_ms']} ms, {m['queries']} q"

        rows.append(
            [
                "deposit split over pockets",
                f"{count} pocket{'' if count == 1 else 's'}",
                pcell(p),
                pcell(s),
                "—",
                "—",
                pocket_result(p) if p else "—",
                pocket_result(s) if s else "—",
                date,
            ]
        )
    p, s = sr.get("deposits"), sr.get("deposits_seeds")
    if p or s:

        def dcell(d: dict[str, Any] | None) -> str:
            if not d:
                return "—"
            p99 = "—" if d["p99_ms"] is None else f"{d['p99_ms']:.0f}"
            return f"{d['per_s'] or 0:,}/s, p99 {p99} ms"

        members = (p or s or {})["members"]
        rows.append(
            [
                "concurrent deposits",
                f"{members:,} members",
                dcell(p),
                dcell(s),
                "—",
                "—",
                deposits_result(p) if p else "—",
                deposits_result(s) if s else "—",
                date,
            ]
        )
    return rows


def _member_rows(src: dict[str, Any]) -> list[list[str]]:
    rows, date = [], src["date"]
    lat = src.get("latency")
    if lat:
        during = lat["during_run"]
        rows.append(
            [
                "member p99 during a compost",
                f"{lat['size']:,} wallets",
                f"harvest {during['harvest']['p99_ms']} ms, plant {during['plant']['p99_ms']} ms",
                "—",
                "—",
                "—",
                f"refused {during['harvest']['refused'] + during['plant']['refused']}",
                "—",
                date,
            ]
        )
    srv = src.get("server")
    if srv:
        for phase in ("wallet", "writes_mixed"):
            r = srv["phases"].get(phase)
            if r:
                rows.append(
                    [
                        f"real server, {phase.replace('_', ' ')}",
                        f"{srv['size']:,} wallets",
                        f"{r['rps']:,.0f} req/s, p99 {r['p99_ms']} ms",
                        "—",
                        "—",
                        "—",
                        f"{r['ok']:,} of {r['requests']:,} 2xx; "
                        + ("; ".join(srv["problems"]) or "books reconciled"),
                        "—",
                        date,
                    ]
                )
    return rows


def _dashboard_rows(src: dict[str, Any]) -> list[list[str]]:
    panels: dict[str, float] = src.get("panels_ms") or {}
    if not panels:
        return []
    whole = next((ms for name, ms in panels.items() if "whole page" in name), None)
    slowest = max((ms, name) for name, ms in panels.items() if "whole page" not in name)
    over = [name for name, ms in panels.items() if ms > PAGE_BAR_MS]
    rows = [
        [
            "staff dashboard",
            f"{src['wallets']:,} wallets, {src['postings']:,} postings",
            f"whole page {whole:.0f} ms; slowest panel {slowest[0]:.0f} ms"
            if whole is not None
            else f"slowest panel {slowest[0]:.0f} ms",
            "—",
            "—",
            "—",
            f"{len(over)} of {len(panels)} over {PAGE_BAR_MS:g} ms",
            "—",
            src["date"],
        ]
    ]
    e = src.get("export") or {}
    if e:
        rows.append(
            [
                "run export (CSV)",
                f"{e['rows']:,} wallets",
                f"{e['seconds']:.1f} s, {e['peak_rss_mb']:.0f} MB",
                "—",
                "—",
                "—",
                "every wallet"
                if e["rows"] == e.get("expected_rows", e["rows"])
                else f"{e['rows']:,} of {e['expected_rows']:,} rows",
                "—",
                src["date"],
            ]
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
    if not path.exists():
        return False
    text = path.read_text()
    pattern = re.compile(re.escape(LEAD_START) + r".*?" + re.escape(LEAD_END), re.S)
    if not pattern.search(text):
        return False
    path.write_text(pattern.sub(lambda _: f"{LEAD_START}\n{content}{LEAD_END}", text, count=1))
    return True
