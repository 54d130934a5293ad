"""Seasons, the economy's named cycles (``docs/policy-lab.md``): date ranges ``[starts_at,
ends_at)`` that never overlap, at most one active, each run linked to the season containing
its ``as_of``.

``services``: create, activate, deactivate (staff ``manage_policy``, audited). ``selectors``:
the list, the season of an instant, a season's figures (``SeasonStats``). Imports the grains
models and the audit services only.
"""
