"""Results: JSON, a Markdown table, a PNG chart, and the blocks of docs/benchmarks.md and README."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bench.second_report.render import second_report_failures, second_report_markdown
from bench.server_load import server_bar, server_table
from bench.settlement_latency import settlement_latency_line

START, END = "<!-- bench:start -->", "<!-- bench:end -->"
LABELS = {
    "floor_compost": "SQL floor",
    "project_compost": "project (saka)",
    "seeds_compost": "seeds' algorithm",
    "naive_compost": "naive per-row loop",
    "floor_redistribution": "SQL floor",
    "project_redistribution": "project (saka)",
    "seeds_redistribution": "seeds' algorithm",
}
# spec §7: x floor at 1M, x the seeds, peak RSS at 1M and 10M, member p99, each run at 10M
BAR = {
    "floor_ratio": 1.15,
    "seeds_speedup": 15.0,
    "rss_mb": 150.0,
    "p99_ms": 50.0,
    "ten_million_s": 60.0,
}
TEN_MILLION = 10_000_000
# The last figures before the batch engine (issue 10): the project's runs at 1M wallets in one
# process (2 worker threads), ÷ the floor, from the table of bench/results/2026-12-02.json
# (the 2026-11-24 table had 1.09 and 1.37). "No more than" with a tolerance of 10%: one run
# against one run, and the same code has moved more between runs here (0.80-1.10x).
BEFORE_ENGINE_DATE, BEFORE_ENGINE_SIZE = "2026-12-02", 1_000_000
BEFORE_ENGINE = {"compost": 0.95, "redistribution": 1.51}
BEFORE_ENGINE_TOLERANCE = 0.10


def _fanout(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The fan-out measurements (the project's runs driven by P worker processes), if any."""
    fan = results.get("processes")
    return list(fan["measurements"]) if fan else []


def _by(results: dict[str, Any]) -> dict[tuple[int, str], dict[str, Any]]:
    return {(m["size"], m["contender"]): m for m in results["measurements"]}


def ratios(results: dict[str, Any]) -> None:
    """Add ``vs_floor`` (time / floor's) and ``seeds_speedup`` (seeds' time / time) in place."""
    by = _by(results)
    for m in results["measurements"]:
        m["vs_floor"] = m["seeds_speedup"] = None
        if m["status"] != "ok" or not m["wall_s"]:
            continue
        fl = by.get((m["size"], f"floor_{m['kind']}"))
        se = by.get((m["size"], f"seeds_{m['kind']}"))
        if fl and fl["status"] == "ok" and fl["wall_s"]:
            m["vs_floor"] = round(m["wall_s"] / fl["wall_s"], 2)
        if se and se["status"] == "ok" and se["wall_s"]:
            m["seeds_speedup"] = round(se["wall_s"] / m["wall_s"], 1)
    fan = _fanout(results)
    one = {m["kind"]: m for m in fan if m["processes"] == 1 and m["status"] == "ok" and m["wall_s"]}
    for m in fan:
        m["vs_floor"] = m["speedup_vs_1"] = None
        if m["status"] != "ok" or not m["wall_s"]:
            continue
        fl = by.get((m["size"], f"floor_{m['kind']}"))
        if fl and fl["status"] == "ok" and fl["wall_s"]:
            m["vs_floor"] = round(m["wall_s"] / fl["wall_s"], 2)
        if m["kind"] in one:
            m["speedup_vs_1"] = round(one[m["kind"]]["wall_s"] / m["wall_s"], 2)


def failures(results: dict[str, Any]) -> list[str]:
    """Contenders other than the seeds' whose result is not the expected one (or that failed)."""
    out = []
    for m in results["measurements"]:
        if m["family"] == "seeds" or m["status"] == "skipped":
            continue
        if m["status"] != "ok":
            out.append(f"{m['contender']} at N={m['size']}: {m['status']} {m['note'][:200]}")
        elif not m["correct"]:
            out.append(f"{m['contender']} at N={m['size']}: {result_text(m)}")
    for m in _fanout(results):
        label = f"{m['contender']} with {m['processes']} processes at N={m['size']}"
        if m["status"] != "ok":
            out.append(f"{label}: {m['status']} {m['note'][:200]}")
        elif not m["correct"]:
            out.append(f"{label}: {result_text(m)}")
    srv = results.get("server")
    if srv:
        out += [f"real server: {p}" for p in srv["problems"]]
    thr = results.get("throughput")
    if thr and not thr["exact"]:
        out.append(f"member throughput probe at N={thr['size']}: {_booked(thr)}")
    out += second_report_failures(results)
    return out


def _n(value: Any) -> str:
    return "—" if value is None else f"{value:,}"


def result_text(m: dict[str, Any]) -> str:
    if m["status"] != "ok":
        return m["status"] + (f" ({m['note'].splitlines()[0]})" if m["note"] else "")
    d = m["diff"] or {}
    parts = [
        f"{label} {d[key]:,}"
        for key, label in (
            ("missing", "missing"),
            ("extra", "extra"),
            ("wrong_amount", "wrong amount"),
            ("duplicates", "twice"),
            ("balance_mismatch", "wrong balance"),
        )
        if d.get(key)
    ]
    text = "exact" if not parts else ", ".join(parts)
    rec = m.get("reconcile")
    if rec is not None and not rec["ok"]:
        text += "; reconcile: " + ", ".join(rec["checks_failed"])
    return text


def table(results: dict[str, Any]) -> str:
    lines = [
        "| N | run | contender | time (s) | x floor | seeds' time ÷ this | wallets (expected) "
        "| grains | queries | peak RSS (MB) | process CPU (s) | machine CPU (core-s) | WAL (MB) "
        "| result |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for m in results["measurements"]:
        if m["status"] == "skipped":
            continue
        time_s = "—" if m["wall_s"] is None else f"{m['wall_s']:.3f}"
        vs_floor = "—" if m.get("vs_floor") is None else f"{m['vs_floor']:.2f}"
        speedup = "—" if m.get("seeds_speedup") is None else f"{m['seeds_speedup']:.1f}"
        info = m.get("info") or {}
        lines.append(
            f"| {m['size']:,} | {m['kind']} | {LABELS.get(m['contender'], m['contender'])} "
            f"| {time_s} | {vs_floor} | {speedup} "
            f"| {_n(m['wallets'])} ({_n(m['expected_wallets'])}) | {_n(m['amount'])} "
            f"| {_n(m['queries'])} | {_n(m['peak_rss_mb'])} | {_n(info.get('cpu_s'))} "
            f"| {_n(info.get('machine_cpu_s'))} | {_n(info.get('wal_mb'))} | {result_text(m)} |"
        )
    return "\n".join(lines)


def _per_process(m: dict[str, Any], key: str, fmt: str) -> str:
    values = [w.get(key) for w in m.get("workers") or []]
    return " / ".join("?" if v is None else format(v, fmt) for v in values) or "—"


def processes_table(results: dict[str, Any]) -> str:
    """The project's runs driven by P worker processes at one size, against the floor."""
    fan = results.get("processes")
    if not fan or not fan["measurements"]:
        return ""
    size, threads, cores = fan["size"], fan["threads"], results["machine"]["cores"]
    by = _by(results)
    lines = [
        f"{size:,} wallets, P worker processes: the run is opened once and driven by P "
        f"processes at once, each with {threads} thread{'s' if threads > 1 else ''} (one "
        f"connection each), chunks of {fan['chunk_size']:,} ids; the P - 1 other processes are "
        "started and connected before the clock, which runs from opening the run to done. "
        "Queries: those of all P processes. Chunks and peak RSS: per process, the one that "
        f"opened the run first. On {cores} cores, more processes than cores share the same CPUs "
        "with the PostgreSQL backends doing the work: past that, little to gain.",
        "",
        "| run | contender | processes x threads | time (s) | x floor | speed-up vs 1 process "
        "| chunks per process | queries | peak RSS per process (MB) | result |",
        "|---|---|---:|---:|---:|---:|---|---:|---|---|",
    ]
    for kind in ("compost", "redistribution"):
        rows = [m for m in fan["measurements"] if m["kind"] == kind]
        if not rows:
            continue
        fl = by.get((size, f"floor_{kind}"))
        if fl and fl["status"] == "ok":
            lines.append(
                f"| {kind} | SQL floor | one statement | {fl['wall_s']:.3f} | 1.00 | — | — "
                f"| {_n(fl['queries'])} | {_n(fl['peak_rss_mb'])} | {result_text(fl)} |"
            )
        one = next((m for m in rows if m["processes"] == 1 and m["status"] == "ok"), None)
        for m in rows:
            time_s = "—" if m["wall_s"] is None else f"{m['wall_s']:.3f}"
            vs_floor = "—" if m.get("vs_floor") is None else f"{m['vs_floor']:.2f}"
            speedup = "—" if m.get("speedup_vs_1") is None else f"{m['speedup_vs_1']:.2f}"
            lines.append(
                f"| {kind} | project (saka) | {m['processes']} x {m['threads']} | {time_s} "
                f"| {vs_floor} | {speedup} | {_per_process(m, 'chunks_total', ',')} "
                f"| {_n(m['queries'])} | {_per_process(m, 'peak_rss_mb', '.1f')} "
                f"| {result_text(m)} |"
            )
        ref = by.get((size, f"project_{kind}"))  # one process, its worker threads
        if ref and ref["status"] == "ok" and ref["wall_s"]:
            speedup = "—"
            if one and one["wall_s"]:
                speedup = f"{one['wall_s'] / ref['wall_s']:.2f}"
            vs_floor = "—" if ref.get("vs_floor") is None else f"{ref['vs_floor']:.2f}"
            lines.append(
                f"| {kind} | project, threads (table above) "
                f"| 1 x {ref['info'].get('workers', '?')} | {ref['wall_s']:.3f} | {vs_floor} "
                f"| {speedup} | — | {_n(ref['queries'])} | {_n(ref['peak_rss_mb'])} "
                f"| {result_text(ref)} |"
            )
    return "\n".join(lines)


def latency_table(results: dict[str, Any]) -> str:
    lat = results.get("latency")
    if not lat:
        return ""
    lines = [
        f"Member latency at N = {lat['size']:,}: {lat['workers']} worker processes, "
        f"{lat['rate_per_worker']:g} calls/s each, random seeded members "
        f"(the run took {lat['run_wall_s']:.2f} s).",
        "",
        "| phase | harvest p50 (ms) | harvest p99 (ms) | plant p50 (ms) | plant p99 (ms) "
        "| calls | refused |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for phase, label in (("no_run", "no run"), ("during_run", "during the project's compost")):
        p = lat[phase]
        calls = p["harvest"]["calls"] + p["plant"]["calls"]
        refused = p["harvest"]["refused"] + p["plant"]["refused"]
        lines.append(
            f"| {label} | {_n(p['harvest']['p50_ms'])} | {_n(p['harvest']['p99_ms'])} "
            f"| {_n(p['plant']['p50_ms'])} | {_n(p['plant']['p99_ms'])} | {calls} | {refused} |"
        )
    return "\n".join(lines)


def _booked(thr: dict[str, Any]) -> str:
    if thr["exact"]:
        return "booked exactly"
    return "; ".join(
        f"{phase} phase reported {p['harvests']} harvests, booked {p['booked_harvests']} "
        f"({p['booked_grains']} grains, {p['wrong_members']} members off, refused {p['errors']})"
        for phase, p in (("single", thr["single"]), ("parallel", thr["parallel"]))
        if not p["exact"]
    )


def throughput_line(results: dict[str, Any]) -> str:
    thr = results.get("throughput")
    if not thr:
        return ""
    single, parallel = thr["single"], thr["parallel"]
    speedup = "—" if thr["speedup"] is None else f"{thr['speedup']:.2f}x"
    return (
        f"Member throughput at N = {thr['size']:,}: `wallet_harvest` as fast as it goes, each "
        f"process on members of its own ({single['members']} members, {thr['per_member']} "
        f"harvests each, per phase): 1 process {_n(single['per_s'])} harvests/s, "
        f"{parallel['processes']} processes {_n(parallel['per_s'])} harvests/s ({speedup}); "
        f"{_booked(thr)}."
    )


def bar(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """The spec §7 bar at the largest size measured: (criterion, measured, met)."""
    by = _by(results)
    size = max(results["sizes"])
    rows: list[tuple[str, str, bool | None]] = []
    for kind in ("compost", "redistribution"):
        p = by.get((size, f"project_{kind}"))
        if not p or p["status"] != "ok":
            continue
        if p.get("vs_floor") is not None and size < TEN_MILLION:  # the ratio's bar is at 1M
            rows.append(
                (
                    f"{kind}: within {BAR['floor_ratio']}x of the floor",
                    f"{p['vs_floor']:.2f}x",
                    p["vs_floor"] <= BAR["floor_ratio"],
                )
            )
        if p.get("seeds_speedup") is not None:
            rows.append(
                (
                    f"{kind}: ≥ {BAR['seeds_speedup']:g}x faster than the seeds' algorithm",
                    f"{p['seeds_speedup']:.1f}x",
                    p["seeds_speedup"] >= BAR["seeds_speedup"],
                )
            )
        fl = by.get((size, f"floor_{kind}"))
        same = bool(p["correct"]) and bool(fl and fl["status"] == "ok" and fl["correct"])
        rows.append((f"{kind}: identical results to the floor", result_text(p), same))
        if size >= TEN_MILLION and p["wall_s"] is not None:
            rows.append(
                (
                    f"{kind}: under {BAR['ten_million_s']:g} s at {size:,} wallets",
                    f"{p['wall_s']:.1f} s",
                    p["wall_s"] < BAR["ten_million_s"],
                )
            )
        rows.append(
            (
                f"{kind}: peak RSS ≤ {BAR['rss_mb']:g} MB",
                f"{p['peak_rss_mb']:.0f} MB",
                p["peak_rss_mb"] <= BAR["rss_mb"],
            )
        )
        before = BEFORE_ENGINE[kind]
        if size == BEFORE_ENGINE_SIZE and p.get("vs_floor") is not None:
            rows.append(
                (
                    f"{kind}: one process costs no more than before the engine ({before:.2f}x "
                    f"the floor on {BEFORE_ENGINE_DATE}, +{BEFORE_ENGINE_TOLERANCE:.0%})",
                    f"{p['vs_floor']:.2f}x",
                    p["vs_floor"] <= before * (1 + BEFORE_ENGINE_TOLERANCE),
                )
            )
    lat = results.get("latency")
    if lat:
        worst = max((lat["during_run"][op]["p99_ms"] or 0.0) for op in ("harvest", "plant"))
        rows.append(
            (
                f"member p99 < {BAR['p99_ms']:g} ms during a run (N = {lat['size']:,})",
                f"{worst:.1f} ms",
                worst < BAR["p99_ms"],
            )
        )
    rows += server_bar(results)
    return rows


def bar_table(results: dict[str, Any]) -> str:
    rows = bar(results)
    if not rows:
        return ""
    size = max(results["sizes"])
    lines = [
        f"Spec §7 bar (x floor set for 1,000,000 wallets, 60 s for 10,000,000; measured here "
        f"at N = {size:,}):",
        "",
        "| criterion | measured | met |",
        "|---|---:|:---:|",
    ]
    lines += [f"| {c} | {v} | {'yes' if ok else 'NO'} |" for c, v, ok in rows]
    return "\n".join(lines)


def machine_line(results: dict[str, Any]) -> str:
    m = results["machine"]
    dirty = " (uncommitted changes)" if m.get("git_dirty") else ""
    return (
        f"{results['finished_at']} — {m['cores']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, "
        f"PostgreSQL {m['postgresql']}, Python {m['python']}, Django {m['django']}, "
        f"commit `{m['git_commit'][:10]}`{dirty}; load average {m['load_avg_start']} at the "
        f"start, {m.get('load_avg_end')} at the end."
    )


def populations_line(results: dict[str, Any]) -> str:
    """What seeding each population cost (``saka_seed``, VACUUM ANALYZE, size on disk)."""
    built = {int(n): p for n, p in (results.get("populations") or {}).items() if p}
    if not built:
        return ""
    return (
        "Populations (`saka_seed --wallets N`, then VACUUM ANALYZE): "
        + "; ".join(
            f"{n:,} wallets seeded in {p['seed_s']:.1f} s, VACUUM ANALYZE "
            f"{p['vacuum_analyze_s']:.1f} s, {p['db_mb']:,} MB on disk"
            for n, p in sorted(built.items())
        )
        + "."
    )


def cpu_line(results: dict[str, Any]) -> str:
    """The runs' cost in core-seconds at the largest size, beside the floor's: the machine's
    CPU during the timed work (``bench.machine.machine_cpu_s``). The floor is one statement on
    one core; the project's chunks share every core (``SAKA_RUN_WORKERS``), so its wall time
    can be near the floor's while it costs more CPU, or above it while every core is busy."""
    by = _by(results)
    size = max(results["sizes"])
    cores = results.get("machine", {}).get("cores")
    parts = []
    for kind in ("compost", "redistribution"):
        floor_m, project_m = by.get((size, f"floor_{kind}")), by.get((size, f"project_{kind}"))
        if not floor_m or not project_m:
            continue
        f_cpu = (floor_m.get("info") or {}).get("machine_cpu_s")
        p_cpu = (project_m.get("info") or {}).get("machine_cpu_s")
        if not f_cpu or p_cpu is None or not project_m.get("wall_s"):
            continue
        busy = p_cpu / project_m["wall_s"]
        parts.append(
            f"{kind} {f_cpu:.2f} core-s for the floor, {p_cpu:.2f} for the project "
            f"({p_cpu / f_cpu:.2f}x, {busy:.1f} cores busy on average)"
        )
    if not parts:
        return ""
    on = f" on {cores} cores" if cores else ""
    return f"Machine CPU during the timed work at {size:,} wallets{on}: " + "; ".join(parts) + "."


def markdown(results: dict[str, Any], *, chart: str | None = None) -> str:
    parts = [
        f"**saka_bench** {'(quick) ' if results['quick'] else ''}{machine_line(results)}",
        "",
        table(results),
    ]
    for block in (
        cpu_line(results),
        populations_line(results),
        processes_table(results),
        latency_table(results),
        throughput_line(results),
        settlement_latency_line(results),
        second_report_markdown(results),
        server_table(results),
        bar_table(results),
    ):
        if block:
            parts += ["", block]
    if chart:
        parts += ["", f"![time and peak memory against N]({chart})"]
    return "\n".join(parts) + "\n"


def readme_summary(results: dict[str, Any]) -> str:
    by = _by(results)
    size = max(results["sizes"])
    machine = results["machine"]
    lines = [
        f"Measured by `make bench` ({results['date']}, {machine['cores']} cores, "
        f"PostgreSQL {machine['postgresql']}, load average {machine['load_avg_start'][0]} → "
        f"{machine.get('load_avg_end', ['?'])[0]}), {size:,} wallets:",
        "",
        "| run | contender | time (s) | x floor | seeds' time ÷ this | peak RSS (MB) | result |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for kind in ("compost", "redistribution"):
        for fam in ("floor", "project", "seeds"):
            m = by.get((size, f"{fam}_{kind}"))
            if not m or m["status"] == "skipped":
                continue
            time_s = "—" if m["wall_s"] is None else f"{m['wall_s']:.2f}"
            vs_floor = "—" if m.get("vs_floor") is None else f"{m['vs_floor']:.2f}"
            speed = "—" if m.get("seeds_speedup") is None else f"{m['seeds_speedup']:.1f}"
            lines.append(
                f"| {kind} | {LABELS[m['contender']]} | {time_s} | {vs_floor} | {speed} "
                f"| {_n(m['peak_rss_mb'])} | {result_text(m)} |"
            )
    lat = results.get("latency")
    if lat:
        p = {
            ph: {op: lat[ph][op]["p99_ms"] for op in ("harvest", "plant")}
            for ph in lat
            if ph in ("no_run", "during_run")
        }
        lines += [
            "",
            f"Member p99 (4 processes, {lat['rate_per_worker']:g} calls/s each, N = "
            f"{lat['size']:,}): harvest {p['no_run']['harvest']} ms / plant "
            f"{p['no_run']['plant']} ms with no run, {p['during_run']['harvest']} ms / "
            f"{p['during_run']['plant']} ms during the project's compost.",
        ]
    fan = _fanout(results)
    if fan:
        parts = []
        for kind in ("compost", "redistribution"):
            ok = [m for m in fan if m["kind"] == kind and m["status"] == "ok" and m["wall_s"]]
            if ok:
                parts.append(
                    f"{kind} "
                    + ", ".join(
                        f"{m['processes']}: {m['wall_s']:.2f} s"
                        + ("" if m.get("vs_floor") is None else f" ({m['vs_floor']:.2f}x)")
                        for m in ok
                    )
                )
        if parts:
            lines += [
                "",
                f"Worker processes sharing one run (N = {results['processes']['size']:,}, "
                "processes: time, x floor): " + "; ".join(parts) + ".",
            ]
    lines += ["", "Details, method and how to reproduce: [docs/benchmarks.md](docs/benchmarks.md)."]
    return "\n".join(lines) + "\n"


def chart(results: dict[str, Any], path: Path) -> bool:
    """Time and peak memory against N per contender, log scales (matplotlib, Agg)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        return False
    settlement = (results.get("second_report") or {}).get("settlement") or []
    fig, axes = plt.subplots(1, 3 if settlement else 2, figsize=(18 if settlement else 12, 4.8))
    series: dict[str, list[tuple[int, float, float]]] = {}
    for m in results["measurements"]:
        if m["status"] == "ok" and m["wall_s"]:
            series.setdefault(m["contender"], []).append((m["size"], m["wall_s"], m["peak_rss_mb"]))
    styles = {"compost": "-", "redistribution": "--"}
    colors = {
        "floor": "tab:blue",
        "project": "tab:orange",
        "seeds": "tab:green",
        "naive": "tab:red",
    }
    for name, points in sorted(series.items()):
        points.sort()
        xs = [p[0] for p in points]
        family, _, kind = name.partition("_")
        label = f"{LABELS.get(name, name)}, {kind}"
        style = {"color": colors.get(family), "linestyle": styles.get(kind, "-"), "marker": "o"}
        axes[0].plot(xs, [p[1] for p in points], label=label, **style)
        axes[1].plot(xs, [p[2] for p in points], label=label, **style)
    for ax, ylabel in zip(
        axes[:2], ("wall time of the run (s)", "peak RSS of the process (MB)"), strict=True
    ):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("wallets (N)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
    axes[1].yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    axes[1].yaxis.set_minor_formatter(matplotlib.ticker.ScalarFormatter())
    axes[1].axhline(BAR["rss_mb"], color="grey", linewidth=0.8, linestyle=":")
    axes[1].annotate(
        f"bar {BAR['rss_mb']:g} MB",
        (0.02, 0.97),
        xycoords="axes fraction",
        va="top",
        fontsize=7,
        color="grey",
    )
    axes[0].legend(fontsize=7)
    if settlement:
        _settlement_axis(axes[2], settlement, colors)
    fig.suptitle(
        f"saka_bench {results['date']} ({results['machine']['cores']} cores, "
        f"PostgreSQL {results['machine']['postgresql']})",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _settlement_axis(ax: Any, rows: list[dict[str, Any]], colors: dict[str, str]) -> None:
    """Campaign settlement: wall time against the pledges held, the project and the seeds'
    code (whose releases stop at 1,000 pledges whatever P: see the table)."""
    seeds = "seeds' report (releases the first 1,000 whatever P)"
    for family, label in (("project", "project (saka), every pledge"), ("seeds", seeds)):
        points = sorted((m["pledges"], m["wall_s"]) for m in rows if m["family"] == family)
        if points:
            ax.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                label=label,
                color=colors[family],
                marker="o",
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("pledges held by the campaign (P)")
    ax.set_ylabel("wall time of the settlement (s)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)


def write(results: dict[str, Any], out_dir: Path, stem: str) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / f"{stem}.json", "md": out_dir / f"{stem}.md"}
    png = out_dir / f"{stem}.png"
    if chart(results, png):
        paths["png"] = png
    paths["json"].write_text(json.dumps(results, indent=2, default=str) + "\n")
    paths["md"].write_text(markdown(results, chart=png.name if "png" in paths else None))
    return paths


def replace_block(path: Path, content: str, *, start: str = START, end: str = END) -> bool:
    """Put ``content`` between the markers ``start`` and ``end`` of ``path`` (by default the
    full results block); False when there are none."""
    if not path.exists():
        return False
    text = path.read_text()
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        return False
    path.write_text(pattern.sub(lambda _: f"{start}\n{content}{end}", text, count=1))
    return True
