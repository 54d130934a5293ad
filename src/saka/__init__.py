"""SAKA: wallets and a community currency for Django, on one double-entry ledger.

Layers only point down (import-linter checks it, see ``pyproject.toml``)::

    api  ->  jobs | demo  ->  grains | euro  ->  projects  ->  ledger  ->  core

``grains`` (SAKA) and ``euro`` (EUR) never import each other; no domain imports DRF or
Celery.
"""
