"""SQL of the what-if: one grouped pass over every wallet that applies two sets of parameters
(``b_``: the rules in force, ``c_``: the candidate) side by side, writing nothing.

The predicates and amounts are the runs' own text (``sql/compost.py``,
``sql/redistribution.py``) with their parameters renamed per side, so the what-if cannot
drift from the runs: a test pins it to the dry runs. Rows are grouped by (amount under each
side, eligibility for a share under each side): the Python side sums, counts and ranks them
exactly (``saka.grains.whatif``).
"""

from __future__ import annotations

import re

from saka.grains.sql.compost import COMPOST_AMOUNT, COMPOST_ELIGIBLE
from saka.grains.sql.redistribution import redistribution_eligible

# the rule's parameters of each statement (the key range, ``as_of`` and ``run`` are shared)
_COMPOST_PARAMS = ("rate", "min_balance", "min_amount", "cutoff")
_REDISTRIBUTION_PARAMS = ("min_harvested", "active_cutoff")


def _side(sql: str, names: tuple[str, ...], prefix: str) -> str:
    for name in names:
        sql = re.sub(rf"%\({name}\)s", f"%({prefix}{name})s", sql)
    return sql


def _compost_takes(prefix: str) -> str:
    """What the compost takes from the row under one side's parameters (0: nothing)."""
    amount = f"{COMPOST_AMOUNT}::bigint"
    body = (
        f"CASE WHEN {COMPOST_ELIGIBLE} AND {COMPOST_AMOUNT} >= %(min_amount)s "
        f"THEN {amount} ELSE 0 END"
    )
    return _side(body, _COMPOST_PARAMS, prefix)


def _receives(prefix: str, *, activity_condition: bool) -> str:
    # NULL (a wallet never active, under an activity condition) does not receive
    body = f"COALESCE(({redistribution_eligible(activity_condition=activity_condition)}), false)"
    return _side(body, _REDISTRIBUTION_PARAMS, prefix)


def whatif_pass(*, baseline_activity: bool, candidate_activity: bool, pg: bool) -> str:
    """The grouped pass: ``(taken_b, taken_c, receives_b, receives_c, wallets, max_balance)``.
    Off PostgreSQL, the compost amounts are computed in Python from ``balance`` and the
    activity columns (the runs' portable path does the same), so the statement returns one
    row per wallet instead."""
    receives_b = _receives("b_", activity_condition=baseline_activity)
    receives_c = _receives("c_", activity_condition=candidate_activity)
    where = "kind = 'wallet' AND id > %(lo)s AND id <= %(hi)s"
    if not pg:
        return (
            "SELECT balance, last_activity_at, last_composted_at, "
            f"CASE WHEN {receives_b} THEN 1 ELSE 0 END, CASE WHEN {receives_c} THEN 1 ELSE 0 END "
            f"FROM grains_account WHERE {where}"
        )
    return f"""
SELECT taken_b, taken_c, receives_b, receives_c, count(*), max(balance)
FROM (
    SELECT balance, {_compost_takes("b_")} AS taken_b, {_compost_takes("c_")} AS taken_c,
        {receives_b} AS receives_b, {receives_c} AS receives_c
    FROM grains_account WHERE {where}
) w
GROUP BY 1, 2, 3, 4
"""


def whatif_at_ceiling(*, activity_condition: bool, prefix: str) -> str:
    """The wallets one side would count for a share that cannot take it (balance above
    ``credit_limit``): the dry run leaves them out, so does the what-if."""
    receives = _receives(prefix, activity_condition=activity_condition)
    return (
        "SELECT count(*) FROM grains_account WHERE kind = 'wallet' "
        f"AND id > %(lo)s AND id <= %(hi)s AND {receives} AND balance > %(credit_limit)s"
    )
