"""The staff dashboard: server-rendered pages of the reference project (docs/dashboard.md).

An interface, like ``saka.api``: thin views that call the domains' selectors (``saka.grains
.economy``, ``saka.euro.selectors.economy``, the runs' progress, the alerts, the last
reconciliation) and put each panel's data in the page for ``dashboard.js`` (Chart.js) to draw.
It imports the domains, never the reverse.
"""
