"""Projects members support: title, owner, SAKA score and distinct supporters.

May import ``saka.ledger`` and ``saka.core``.
"""
