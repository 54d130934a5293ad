"""The checks that raise alerts (``saka.alerts``), one function per condition, and
``alerts_check`` running the frequent ones (beat, every 5 minutes; ``manage.py
saka_alerts_check`` from cron, without the broker). Each check raises its alerts when the
condition holds and resolves them when it is gone. ``docs/alerts.md``.

- ``compost_missing_check``: no live compost finished within ``RUN_MAX_AGE_HOURS`` (8 days by
  default; ``SAKA_HEALTH_RUN_MAX_AGE_HOURS``), or none ever did.
- ``compost_empty_check``: the last finished live compost found eligible wallets (balance at
  least the minimum, idle) and composted none of them (every amount below the minimum amount,
  or something wrong): one alert per period.
- ``runs_stalled_check``: runs of any kind nobody works on (``engine.stalled``): one alert per
  run, resolved when it moves again or finishes.
- ``broker_check``: the broker cannot be reached (skipped when tasks run eagerly).
- ``books_check`` (nightly, ``saka-books-reconcile``): ``saka.ledger.reconcile`` finds a
  discrepancy; the alert's details list them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from saka.alerts.models import AlertKind, AlertSeverity
from saka.alerts.services import alert_raise, alert_resolve, alerts_resolve_others
from saka.engine import lifecycle as engine
from saka.grains.models import RunKind
from saka.jobs.broker import broker_eager, broker_ping
from saka.jobs.runs import SPEC_OF_KIND, SPECS, run_age
from saka.ledger.reconcile import reconcile
from saka.ledger.reconcile_results import reconcile_result_record

logger = logging.getLogger("saka.alerts")

RAISED, OK, SKIPPED, ERROR = "raised", "ok", "skipped", "error"
COMPOST_MISSING = "compost_missing"
BROKER_UNREACHABLE = "broker_unreachable"
BOOKS_DISCREPANCY = "books_discrepancy"
# at most this many discrepancies are kept in the alert's details (the count is exact)
BOOKS_DETAILS_LIMIT = 20


def compost_missing_check(*, at: datetime) -> str:
    age = run_age(kind=RunKind.COMPOST, at=at)
    if age.run is not None and not age.overdue:
        alert_resolve(fingerprint=COMPOST_MISSING, at=at)
        return OK
    run = age.run
    hours = age.max_age_seconds // 3600
    title = (
        "No compost run has ever finished"
        if run is None
        else f"No compost run finished in the last {hours} hours (last: {run.period})"
    )
    details = {
        "last_run_id": run.pk if run else None,
        "last_period": run.period if run else None,
        "finished_at": age.finished_at.isoformat() if age.finished_at else None,
        "age_seconds": age.age_seconds,
        "max_age_seconds": age.max_age_seconds,
    }
    alert_raise(
        kind=AlertKind.COMPOST_MISSING,
        fingerprint=COMPOST_MISSING,
        severity=AlertSeverity.WARNING,
        title=title,
        details=details,
        at=at,
    )
    return RAISED


def compost_empty_check(*, at: datetime) -> str:
    run = engine.last_finished(SPEC_OF_KIND[RunKind.COMPOST])
    empty = run is not None and (run.eligible_wallets or 0) > 0 and run.wallets_done == 0
    keep: set[str] = set()
    if empty:
        fingerprint = f"compost_empty:{run.period}"
        keep.add(fingerprint)
        alert_raise(
            kind=AlertKind.COMPOST_EMPTY,
            fingerprint=fingerprint,
            severity=AlertSeverity.WARNING,
            title=(
                f"Compost {run.period} found {run.eligible_wallets} eligible wallets and "
                f"composted none"
            ),
            details={
                "run_id": run.pk,
                "period": run.period,
                "eligible_wallets": run.eligible_wallets,
                "wallets_composted": run.wallets_done,
                "parameters": run.parameters,
                "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            },
            at=at,
        )
    alerts_resolve_others(kind=AlertKind.COMPOST_EMPTY, keep=keep, at=at)
    return RAISED if empty else OK


def runs_stalled_check(*, at: datetime) -> str:
    keep: set[str] = set()
    for name, spec in SPECS.items():
        for run in engine.stalled(spec):
            fingerprint = f"run_stalled:{name}:{run.pk}"
            keep.add(fingerprint)
            alert_raise(
                kind=AlertKind.RUN_STALLED,
                fingerprint=fingerprint,
                severity=AlertSeverity.WARNING,
                title=f"{name} run {run.pk} is stalled ({run.status})",
                details={
                    "spec": name,
                    "run_id": run.pk,
                    "status": run.status,
                    "phase": run.phase,
                    "attempts": run.attempts,
                    "updated_at": run.updated_at.isoformat(),
                    "error": (run.error or "")[:500] or None,
                },
                at=at,
            )
    alerts_resolve_others(kind=AlertKind.RUN_STALLED, keep=keep, at=at)
    return RAISED if keep else OK


def broker_check(*, at: datetime) -> str:
    if broker_eager():
        return SKIPPED
    try:
        broker_ping()
    except Exception as exc:
        alert_raise(
            kind=AlertKind.BROKER_UNREACHABLE,
            fingerprint=BROKER_UNREACHABLE,
            severity=AlertSeverity.CRITICAL,
            title="The broker is unreachable: no task runs (beat's runs, the workers)",
            details={"error": type(exc).__name__},  # never the text: it may hold a host
            at=at,
        )
        return RAISED
    alert_resolve(fingerprint=BROKER_UNREACHABLE, at=at)
    return OK


def books_check(*, at: datetime) -> str:
    """Reconcile the books (``saka.ledger.reconcile``, every check of every book)."""
    report = reconcile()
    reconcile_result_record(report=report, source="beat", at=at)
    if report.ok:
        alert_resolve(fingerprint=BOOKS_DISCREPANCY, at=at)
        return OK
    found = report.discrepancies
    alert_raise(
        kind=AlertKind.BOOKS_DISCREPANCY,
        fingerprint=BOOKS_DISCREPANCY,
        severity=AlertSeverity.CRITICAL,
        title=f"The books do not reconcile: {len(found)} discrepancies",
        details={
            "count": len(found),
            "checks": sorted({f"{d.book}.{d.check}" for d in found}),
            "discrepancies": [asdict(d) for d in found[:BOOKS_DETAILS_LIMIT]],
        },
        at=at,
    )
    logger.error("saka_reconcile: %s discrepancies", len(found))
    return RAISED


CHECKS: dict[str, Callable[..., str]] = {
    "compost_missing": compost_missing_check,
    "compost_empty": compost_empty_check,
    "runs_stalled": runs_stalled_check,
    "broker": broker_check,
}


def alerts_check(*, at: datetime, books: bool = False) -> dict[str, str]:
    """Run every frequent check (and the books' with ``books``): each one's result
    (``raised``, ``ok``, ``skipped``, or ``error`` when the check itself failed: logged, the
    others still run)."""
    checks: dict[str, Callable[..., Any]] = {**CHECKS, **({"books": books_check} if books else {})}
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            results[name] = check(at=at)
        except Exception:
            logger.exception("alert check %s failed", name)
            results[name] = ERROR
    return results
