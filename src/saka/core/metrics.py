"""The metrics that code increments as things happen (Prometheus, ``prometheus_client``).

One home for every counter and histogram the layers move, so that the domains stay thin: a
domain imports the metric from here and calls ``.inc()`` / ``.observe()``, nothing more. What
is read from the database at scrape time (balances, run progress, stalled runs) is not here:
``saka.ops.metrics`` collects it when ``/metrics`` is scraped.

Counters live in the process that moves them. With ``PROMETHEUS_MULTIPROC_DIR`` set (before
the process starts), ``prometheus_client`` keeps them in files of that directory and
``/metrics`` adds up every process's (the gunicorn workers'; the Celery workers' too when they
share the directory on one host). See docs/observability.md.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# A chunk takes milliseconds to about a second (5,000 wallets in one statement).
CHUNK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

run_chunk_seconds = Histogram(
    "saka_run_chunk_duration_seconds",
    "Time to do one chunk of a run (its one transaction, lock wait and retries included).",
    ["run", "step"],
    buckets=CHUNK_BUCKETS,
)

webhook_events = Counter(
    "saka_payment_webhook_events",
    "Payment webhook deliveries by provider and outcome: booked, ignored, replayed, or the "
    "error code.",
    ["provider", "outcome"],
)

idempotent_replays = Counter(
    "saka_idempotent_replays",
    "Idempotent writes answered with their stored result (a retried request), by service.",
    ["service"],
)
