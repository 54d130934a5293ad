"""The reconciliations as they ended, kept: each ``saka_reconcile`` and each nightly books
check records one row (:class:`~saka.ledger.models.ReconcileResult`), so the staff dashboard
shows the last verdict without running the checks (a full pass over every posting)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from saka.core.clock import now
from saka.ledger.models import ReconcileResult
from saka.ledger.reconcile import ReconcileReport

# the discrepancies a row keeps (the count is always whole): enough to read, never a dump
KEPT_DISCREPANCIES = 20
SOURCES = ("command", "beat")


def reconcile_result_record(
    *, report: ReconcileReport, source: str, at: datetime | None = None
) -> ReconcileResult:
    """Keep ``report``'s verdict (``source``: ``command`` or ``beat``). Outside any
    transaction of the caller's: it is one insert, and a failed check still leaves its row."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    return ReconcileResult.objects.create(
        at=at or now(),
        ok=report.ok,
        checks=len(report.checks),
        discrepancies=[asdict(d) for d in report.discrepancies[:KEPT_DISCREPANCIES]],
        discrepancy_count=len(report.discrepancies),
        duration_ms=report.elapsed_ms,
        source=source,
    )


def reconcile_result_last() -> ReconcileResult | None:
    """The latest recorded reconciliation (by id: one index probe), ``None`` before any."""
    return ReconcileResult.objects.order_by("-id").first()
