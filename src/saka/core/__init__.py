"""What every layer shares and nothing domain-specific: typed errors with stable codes
(``errors``), instants passed in as ``as_of`` (``clock``), money, rates and percentages
(``money``), database plumbing -- transactions, row locks, typed lock errors
(``db``) -- the active-member check (``members``) and the Prometheus counters the layers
move (``metrics``).

May import Django, ``prometheus_client`` and the standard library only; never another
``saka`` package.
"""
