"""The second seeds report's "optimisations" (issue 15) measured beside the project: campaign
settlement (escrow release) and the pocket allocation of a deposit.

Source: ``/work/shared/seeds/001_874c3c7f00e6db78.txt`` (French), its "APRÈS" code. The
report's code is re-implemented faithfully, defects included, against the project's own tables
so that the project's checks (``saka_reconcile``, the balance formulae) count the damage.

- :mod:`~bench.second_report.seeds_code`: the seeds' code (the yardstick, never used elsewhere);
- :mod:`~bench.second_report.sides`: what runs in each contender process (``saka_bench_contender
  --contender second_*``): seeding, the project's and the seeds' sides, the deposit workers;
- :mod:`~bench.second_report.probe`: the harness's side (databases, processes, checks);
- :mod:`~bench.second_report.render`: the Markdown tables and the quick run's failures.

May import ``bench`` and ``saka``; nothing in ``src/`` imports it.
"""
