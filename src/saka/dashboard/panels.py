"""Each panel's data, as plain JSON-able dicts, from the domains' selectors (nothing computed
here but the assembly): the page puts each one in a ``json_script`` for ``dashboard.js``."""

from __future__ import annotations

from typing import Any

from saka.alerts.selectors import alert_list
from saka.euro.selectors import settlement_progress
from saka.euro.selectors.economy import (
    campaigns_progress,
    deposits_daily,
    pockets_overview,
    settlement_chunks_by_worker,
    settlements_unfinished,
)
from saka.grains import economy
from saka.grains.selectors import run_progress
from saka.ledger.reconcile_results import reconcile_result_last

ALERTS_SHOWN = 10


def panels() -> dict[str, Any]:
    """Every panel of the page, by name (the ``data-panel`` of its section)."""
    snapshot = economy.economy_snapshot_last()
    flows = economy.run_flows()
    return {
        "silo": economy.system_balance_series(),
        "compost": flows["compost"],
        "redistribution": flows["redistribution"],
        "compost_share": economy.compost_share_by_month(),
        "runs": {"timeline": economy.run_timeline(), **runs_live()},
        "balances": {
            "as_of": snapshot.at.isoformat() if snapshot else None,
            "wallets": snapshot.wallets if snapshot else None,
            "supply": snapshot.supply if snapshot else None,
            "histogram": snapshot.histogram if snapshot else [],
            "next_compost": {
                "wallets": snapshot.next_compost_wallets,
                "grains": snapshot.next_compost_grains,
            }
            if snapshot
            else None,
        },
        "daily": economy.saka_daily(snapshot=snapshot),
        "projects": economy.top_projects(),
        "deposits": deposits_daily(),
        "pockets": pockets_overview(),
        "campaigns": campaigns_progress(),
        "books": books(),
    }


def runs_live() -> dict[str, Any]:
    """The runs under way, compost/redistribution and settlements: chunks done of total, per
    worker, the live leases, stalled or not (``/dashboard/runs/live.json`` and the page)."""
    runs = []
    for run in economy.runs_unfinished():
        progress = run_progress(run)
        runs.append(
            {
                "id": run.pk,
                "kind": run.kind,
                "period": run.period,
                "status": run.status,
                "step": progress.get("step"),
                "done": progress.get("done", run.chunks_done),
                "total": progress.get("total", run.chunks_total),
                "stalled": progress["stalled"],
                "leases": len(progress.get("leases", [])),
                "workers": economy.run_chunks_by_worker(run_id=run.pk),
            }
        )
    settlements = []
    for settlement in settlements_unfinished():
        progress = settlement_progress(settlement)
        settlements.append(
            {
                "id": settlement.pk,
                "kind": "settlement",
                "period": f"campaign {settlement.campaign_id}",
                "status": settlement.status,
                "step": progress.get("step"),
                "done": progress.get("done", settlement.chunks_done),
                "total": progress.get("total", 0),
                "stalled": progress["stalled"],
                "leases": len(progress.get("leases", [])),
                "workers": settlement_chunks_by_worker(run_id=settlement.pk),
            }
        )
    return {"running": runs, "settlements": settlements}


def books() -> dict[str, Any]:
    """The last reconciliation's verdict and the open alerts."""
    last = reconcile_result_last()
    alerts = [
        {
            "id": a.pk,
            "kind": a.kind,
            "severity": a.severity,
            "title": a.title,
            "first_seen_at": a.first_seen_at.isoformat(),
            "last_seen_at": a.last_seen_at.isoformat(),
        }
        for a in alert_list(state="open")[:ALERTS_SHOWN]
    ]
    return {
        "reconcile": None
        if last is None
        else {
            "at": last.at.isoformat(),
            "ok": last.ok,
            "checks": last.checks,
            "discrepancy_count": last.discrepancy_count,
            "discrepancies": last.discrepancies,
            "duration_ms": last.duration_ms,
            "source": last.source,
        },
        "alerts": alerts,
    }
