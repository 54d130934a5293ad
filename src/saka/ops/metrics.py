"""``GET /metrics``: Prometheus text format.

What it holds (every metric is listed in docs/observability.md):

- django-prometheus's ``django_http_*`` (requests, latency, statuses by view) and, when the
  database wrapper is on (``SAKA_DB_METRICS``), ``django_db_*``;
- the counters and histograms the code moves (``saka.core.metrics``): chunk latency, webhook
  outcomes, idempotent replays;
- ``DomainCollector``'s gauges, read from the database at each scrape (a few short queries):
  silo and pool balances, the platform's EUR balance, and per run kind (compost,
  redistribution, settlement) the unfinished runs by status, their chunks done and planned,
  stalled runs, and the last finished run's end and duration; the open alerts by kind.

With ``PROMETHEUS_MULTIPROC_DIR`` set, the code's metrics are the sum over every process
that writes to that directory (``prometheus_client``'s multiprocess mode); the gauges are
read afresh by whichever process answers the scrape.

**Protection.** ``SAKA_METRICS_TOKEN`` set: the request needs ``Authorization: Bearer
<token>``. Not set: only a request from a loopback address (127.0.0.1, ::1: a scraper on
the same host or in the same pod) gets the metrics. Anything else is 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from saka.alerts.selectors import alerts_open_counts
from saka.core.metrics import run_chunk_seconds, webhook_events
from saka.engine import lifecycle as engine
from saka.engine.spec import Chunked
from saka.euro.payments.providers import PROVIDERS
from saka.euro.selectors import platform_balance
from saka.grains.selectors import system_balances
from saka.jobs.runs import SPECS

logger = logging.getLogger("saka.ops")


class DomainCollector(Collector):
    """The figures read from the database at scrape time (no state kept between scrapes)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            yield from self._collect()
        except Exception:  # the database is down: /healthz says so; the rest still scrapes
            logger.warning("domain metrics not collected", exc_info=True)
            up = GaugeMetricFamily(
                "saka_domain_metrics_up", "1 if the domain figures could be read from the database."
            )
            up.add_metric([], 0)
            yield up

    def _collect(self) -> Iterator[GaugeMetricFamily]:
        balances = GaugeMetricFamily(
            "saka_system_balance_grains",
            "Balance of a SAKA system account (silo; pool: in transit during a redistribution).",
            labels=["account"],
        )
        for account, balance in system_balances().items():
            balances.add_metric([account], balance)
        platform = GaugeMetricFamily(
            "saka_euro_platform_balance_cents",
            "The platform's EUR commission account (commissions and tips), in cents.",
        )
        platform.add_metric([], platform_balance())

        runs = GaugeMetricFamily(
            "saka_runs_unfinished",
            "Unfinished live runs, by kind and status.",
            labels=["run", "status"],
        )
        chunks = GaugeMetricFamily(
            "saka_run_chunks",
            "Chunks of the unfinished live runs (steps planned so far), done or planned.",
            labels=["run", "state"],
        )
        stalled = GaugeMetricFamily(
            "saka_runs_stalled",
            "Unfinished live runs nobody works on (resumed by beat).",
            labels=["run"],
        )
        finished_at = GaugeMetricFamily(
            "saka_run_last_finished_timestamp_seconds",
            "When the last finished live run of the kind ended (Unix time).",
            labels=["run"],
        )
        duration = GaugeMetricFamily(
            "saka_run_last_duration_seconds",
            "Wall-clock time of the last finished live run of the kind (all attempts).",
            labels=["run"],
        )
        for name, spec in SPECS.items():
            progress = engine.unfinished_progress(spec)
            for status, count in progress["runs"].items():
                runs.add_metric([name, str(status)], count)
            chunks.add_metric([name, "done"], progress["chunks_done"])
            chunks.add_metric([name, "planned"], progress["chunks_planned"])
            stalled.add_metric([name], engine.stalled(spec).count())
            last = engine.last_finished(spec)
            if last is not None:
                finished_at.add_metric([name], last.finished_at.timestamp())
                duration.add_metric([name], (last.duration_ms or 0) / 1000)
        alerts = GaugeMetricFamily(
            "saka_alerts_open",
            "Open alerts (saka.alerts, docs/alerts.md), by kind.",
            labels=["kind"],
        )
        for kind, count in alerts_open_counts().items():
            alerts.add_metric([kind], count)
        up = GaugeMetricFamily(
            "saka_domain_metrics_up", "1 if the domain figures could be read from the database."
        )
        up.add_metric([], 1)
        yield from (balances, platform, runs, chunks, stalled, finished_at, duration, alerts, up)


_domain = CollectorRegistry(auto_describe=False)
_domain.register(DomainCollector())


def _known_series() -> None:
    """Create the code's series that are sure to exist at 0, so that a scrape shows them
    before anything happened (and a rate over them starts from 0, not from absent)."""
    for name, spec in SPECS.items():
        for step in spec.steps:
            if isinstance(step, Chunked):
                run_chunk_seconds.labels(run=name, step=step.name)
    for provider in PROVIDERS:
        for outcome in ("booked", "ignored", "replayed"):
            webhook_events.labels(provider=provider, outcome=outcome)


_known_series()


def _code_registry() -> CollectorRegistry:
    """Every process's counters in multiprocess mode, else this process's registry."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


def allowed(request: HttpRequest) -> bool:
    """The bearer token of ``SAKA_METRICS_TOKEN``, or (no token set) a loopback client."""
    token = getattr(settings, "SAKA_METRICS_TOKEN", "")
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())
    return _loopback(request.META.get("REMOTE_ADDR"))


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    body = generate_latest(_code_registry()) + generate_latest(_domain)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
