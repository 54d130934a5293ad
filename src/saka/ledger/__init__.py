"""The double-entry ledger both currencies are built on: abstract accounts, entries and
postings (``models``), the registry of books (``books``), the one posting engine
(``posting``), the one idempotency wrapper (``idempotency``), the append-only guards the
migrations install (``append_only``) and the proof of the books (``reconcile``,
``saka_reconcile``).

May import ``saka.core`` only.
"""
