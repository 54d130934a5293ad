"""The season simulator: replay weeks of weekly compost and monthly redistribution on a copy
of the wallets, in memory, through the rules the live runs follow (``saka.grains.rules``).

- ``population``: the wallets as columns (``SimWallets``), from the database in one streamed
  read (``wallets_snapshot``) or the synthetic population of spec §7 (``synthetic``);
- ``activity``: cohorts of members and the seeded model of who harvests what, when;
- ``simulate``: the clock (the live schedule), the weekly steps, the per-week report;
- ``chart``: the report as a PNG (matplotlib, imported only when a chart is asked for).

May import ``saka.core`` and the rest of ``saka.grains``; never an interface (api, jobs,
dashboard), DRF or Celery. Nothing here writes to the database.
"""
