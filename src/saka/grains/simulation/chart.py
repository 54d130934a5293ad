"""A simulation's weeks as a PNG: silo and supply (grains), share of supply composted (%) and
Gini, one line per scenario (matplotlib, Agg backend, imported only here: it is a development
dependency, and the command says so when it is missing)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from saka.core.errors import ValidationError
from saka.grains.simulation.simulate import SimulationReport


def scenario_label(report: SimulationReport) -> str:
    p = report.parameters
    return f"compost {p['compost_rate']}, redistribution {p['redistribution_rate']}"


def chart_write(reports: Sequence[SimulationReport], path: Path) -> Path:
    """Write the chart of ``reports`` (one scenario each) to ``path``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is a dev dependency
        raise ValidationError(
            "The chart needs matplotlib (pip install 'saka-wallets[charts]')."
        ) from exc
    fig, axes = plt.subplots(2, 2, figsize=(12, 8), sharex=True)
    (silo_ax, supply_ax), (share_ax, gini_ax) = axes
    for report in reports:
        label = scenario_label(report)
        weeks = [w.week for w in report.weeks]
        # (plotting only: the figures themselves stay integers and decimal strings)
        silo_ax.plot(weeks, [w.silo for w in report.weeks], label=label)
        supply_ax.plot(weeks, [w.supply for w in report.weeks], label=label)
        share_ax.plot(
            weeks, [float(Decimal(w.share_composted) * 100) for w in report.weeks], label=label
        )
        gini_ax.plot(weeks, [float(Decimal(w.gini)) for w in report.weeks], label=label)
    for ax, title in (
        (silo_ax, "Silo (grains)"),
        (supply_ax, "Supply: Σ wallet balances (grains)"),
        (share_ax, "Share of supply composted (%)"),
        (gini_ax, "Gini of balances"),
    ):
        ax.set_title(title)
        ax.grid(alpha=0.3)
    for ax in (share_ax, gini_ax):
        ax.set_xlabel("week")
    silo_ax.legend(fontsize="small")
    p = reports[0].parameters if reports else {}
    fig.suptitle(
        f"Season simulation: {p.get('wallets')} wallets ({p.get('source')}), "
        f"{p.get('weeks')} weeks from {str(p.get('start', ''))[:10]}, seed {p.get('seed')}"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
