"""Demo and benchmark data: the ``saka_demo`` members, projects and history of ``make demo``
(``history``: SAKA operations and runs; ``euro``: deposits, pockets, campaigns, pledges),
and the synthetic population of spec §7 (``seed``, ``saka_seed``) that the benchmark and the
tests measure against. An interface layer like ``api`` and ``jobs``: it may import the domains
(``grains``, ``euro``, ``projects``, ``ledger``, ``core``); no domain imports it."""
