"""SAKA, the integer engagement currency: its book (``models``, ``accounts``, ``invariants``),
harvest and plant (``services``), reads (``selectors``), the member's wallet lock
(``lock_objects``), the compost rule (``rules``), settings (``conf``), errors, and the
compost and redistribution runs (``runs/``, their SQL in ``sql/``).

May import ``saka.projects``, ``saka.ledger`` and ``saka.core``; never ``saka.euro``, DRF or
Celery.
"""
