"""``GET /healthz``: can this deployment serve, and is its machinery keeping up?

Each check answers ``ok``, ``fail``, ``degraded`` or ``skipped``:

- ``database`` (``SELECT 1`` on the default database) and ``broker`` (a connection to
  ``CELERY_BROKER_URL``; ``skipped`` when tasks run eagerly, without a broker) **fail** the
  probe: the answer is 503 and this instance should get no traffic.
- ``beat`` (its last heartbeat older than ``SAKA_BEAT_STALE_SECONDS``, or never seen),
  ``runs`` (the last finished compost or redistribution older than its period allows) and
  ``stalled`` (runs nobody works on, of any kind) are **degraded**: the answer stays 200,
  since taking the web servers out of rotation would not restart beat or a run; an operator
  or an alert (``/metrics``) acts on them. ``?strict=1`` answers 503 for degraded too.

Reads after a failed database check are ``skipped``. The body names every check with its
figures (ages in seconds, ids of stalled runs), never an error's text (it may hold a host or
a user name): only the exception's type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from saka.engine import lifecycle as engine
from saka.jobs.broker import broker_eager, broker_ping
from saka.jobs.heartbeat import BEAT_KEY, WORKER_KEY, heartbeat_last_seen
from saka.jobs.runs import SPEC_OF_KIND, SPECS, run_age

OK, FAIL, DEGRADED, SKIPPED = "ok", "fail", "degraded", "skipped"
# How old the last finished run of a kind may be: saka.jobs.runs.RUN_MAX_AGE_HOURS.
BEAT_STALE_SECONDS = 120


@dataclass(frozen=True)
class Check:
    status: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HealthReport:
    status: str  # the worst check: fail, then degraded, else ok
    checks: dict[str, Check]

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "checks": {name: {"status": c.status, **c.detail} for name, c in self.checks.items()},
        }


def _error(exc: BaseException) -> dict[str, Any]:
    return {"error": type(exc).__name__}


def _age(at: datetime | None, now: datetime) -> float | None:
    return None if at is None else round(max((now - at).total_seconds(), 0.0), 1)


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return Check(FAIL, _error(exc))
    return Check(OK, {"vendor": connection.vendor})


def check_broker() -> Check:
    if broker_eager():
        return Check(SKIPPED, {"reason": "tasks run eagerly (no broker)"})
    try:
        broker_ping()
    except Exception as exc:
        return Check(FAIL, _error(exc))
    return Check(OK)


def check_beat(now: datetime) -> Check:
    if broker_eager():
        return Check(SKIPPED, {"reason": "tasks run eagerly (no beat)"})
    stale = int(getattr(settings, "SAKA_BEAT_STALE_SECONDS", BEAT_STALE_SECONDS))
    try:
        beat, workers = heartbeat_last_seen(BEAT_KEY), heartbeat_last_seen(WORKER_KEY)
    except Exception as exc:  # the cache is down
        return Check(DEGRADED, _error(exc))
    age = _age(beat, now)
    detail = {
        "last_seen": beat.isoformat() if beat else None,
        "age_seconds": age,
        "stale_after_seconds": stale,
        # informational: a worker busy with a long run takes the heartbeat late
        "workers_last_seen": workers.isoformat() if workers else None,
    }
    return Check(DEGRADED if age is None or age > stale else OK, detail)


def check_runs(now: datetime) -> Check:
    detail: dict[str, Any] = {}
    late = False
    for kind in SPEC_OF_KIND:
        age = run_age(kind=kind, at=now)
        run = age.run
        late = late or age.overdue
        detail[kind] = {
            "last_run_id": run.pk if run else None,
            "last_period": run.period if run else None,
            "finished_at": age.finished_at.isoformat() if age.finished_at else None,
            "age_seconds": age.age_seconds,
            "max_age_seconds": age.max_age_seconds,
            "overdue": age.overdue,
        }
    return Check(DEGRADED if late else OK, detail)


def check_stalled() -> Check:
    ids = {
        name: list(engine.stalled(spec).values_list("pk", flat=True))
        for name, spec in SPECS.items()
    }
    return Check(DEGRADED if any(ids.values()) else OK, {"run_ids": ids})


def health_report() -> HealthReport:
    now = timezone.now()
    checks = {"database": check_database(), "broker": check_broker(), "beat": check_beat(now)}
    if checks["database"].status == FAIL:
        skipped = Check(SKIPPED, {"reason": "database unavailable"})
        checks |= {"runs": skipped, "stalled": skipped}
    else:
        for name, check in (("runs", lambda: check_runs(now)), ("stalled", check_stalled)):
            try:
                checks[name] = check()
            except Exception as exc:  # a read failing after the database check passed
                checks[name] = Check(DEGRADED, _error(exc))
    statuses = {c.status for c in checks.values()}
    overall = FAIL if FAIL in statuses else DEGRADED if DEGRADED in statuses else OK
    return HealthReport(status=overall, checks=checks)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 ``ok`` or ``degraded``; 503 ``fail`` (or ``degraded`` with ``?strict=1``)."""
    report = health_report()
    strict = request.GET.get("strict") in {"1", "true"}
    failing = report.status == FAIL or (strict and report.status == DEGRADED)
    return JsonResponse(report.as_dict(), status=503 if failing else 200)
