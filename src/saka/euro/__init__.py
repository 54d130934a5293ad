"""EUR wallets in integer cents: the book (``models``, ``accounts``, ``invariants``), exact
splits (``splits``), locks (``lock_objects``), reads (``selectors``), writes by topic
(``services/``: pockets, campaigns, pledges, escrow, members' KYC, notifications), money
coming in (``payments/``: webhooks, deposits) and campaign settlement (``settlement``).

May import ``saka.projects``, ``saka.ledger`` and ``saka.core``; never ``saka.grains``, DRF
or Celery.
"""
