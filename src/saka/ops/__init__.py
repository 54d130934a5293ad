"""Operations: what a platform's operators and its monitoring read, not its members.

- ``logs``: the request id of each request, a log filter that puts it on every log line of
  the request, and one log line per request (``saka.http``).
- ``health``: ``GET /healthz``, the checks a load balancer and an operator read.
- ``metrics``: ``GET /metrics`` for Prometheus: django-prometheus's request and database
  metrics, the counters of ``saka.core.metrics``, and the figures read from the database
  when it is scraped (balances, runs, settlements).
- ``urls``: those two routes, for a project's ``urls.py``.

An interface layer beside ``saka.api`` (import-linter): it may import ``saka.jobs``, the
domains, ``saka.engine``, ``saka.ledger`` and ``saka.core``; nothing imports it but the
project's settings and urls. ``logs`` imports only the standard library and Django's
settings-free parts, since the logging configuration loads it before the apps are ready.
"""
