"""What every layer shares and nothing domain-specific: typed errors with stable codes
(``errors``), instants passed in as ``as_of`` (``clock``), money, rates and percentages
(``money``), database plumbing -- transactions, row locks, typed lock errors
(``db``) -- and the active-member check (``members``).

May import Django and the standard library only; never another ``saka`` package.
"""
