"""Shared test support, defined once: fixed instants (``clock``), worker threads on their own
database connections (``threads``), SAKA and EUR helpers that book through the services
(``saka``, ``euro``), requests of the endpoint tests (``api``: SAKA; ``euro_api``: EUR;
``run_api``: runs, silo, stats), the runs' plain-Python reference model (``runs_reference``),
the books the run tests start from (``run_scenarios``), and the helpers the run and EUR tests
share across their modules (``run_rules``, ``run_crashes``, ``run_races``: the run rule, crash
and concurrency tests; ``euro_races``: the EUR concurrency tests).

Support modules may import ``saka`` and ``config``; they never import a test module.
"""
