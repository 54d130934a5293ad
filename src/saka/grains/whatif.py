"""The what-if: candidate parameters applied to every wallet in one set-based pass, beside the
rules in force, writing nothing but its own record (docs/policy-lab.md).

It reports, for each side, the wallets and grains the next compost would take (with the
distribution of the amounts: bands and percentiles) and what the next redistribution would
do with the silo as it is (pot, members counted, share, credited); and the difference:
members who would start or stop composting, whose amount would change, the grains moved, the
members who would start or stop receiving. Each side equals a dry run at its parameters, to
the grain (``tests/grains/test_whatif.py`` pins it; the SQL is the runs' own,
``sql/whatif.py``).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Max

from saka.audit.services import staff_require
from saka.core.clock import ensure_aware, now
from saka.core.money import MAX_BALANCE, sql_rate
from saka.grains.economy import BALANCE_BANDS
from saka.grains.errors import WhatIfNotFound
from saka.grains.models import AccountKind, PolicyWhatIf, SakaAccount
from saka.grains.policy import Policy, policy_candidate, policy_current
from saka.grains.runs.chunks import db_time, fetch
from saka.grains.sql.whatif import whatif_at_ceiling, whatif_pass

WHATIF_ACTION = "saka.policy.whatif"
PERCENTILES = (10, 25, 50, 75, 90, 99)
# bands of the amounts composted (the balance bands without the empty one)
AMOUNT_BANDS = BALANCE_BANDS[1:]


@dataclass(frozen=True)
class CompostSide:
    """What the next compost would take under one side's parameters."""

    wallets: int
    grains: int
    bands: list[dict[str, Any]]  # [{"band", "wallets", "grains"}]
    percentiles: dict[str, int]  # {"p10": ..., "p99": ..., "max": ...} (nearest rank)


@dataclass(frozen=True)
class RedistributionSide:
    """What the next redistribution would do with the silo as it is, under one side's rule."""

    silo: int
    pot: int
    eligible_wallets: int
    per_wallet: int
    credited_wallets: int
    credited: int
    outcome: str


@dataclass(frozen=True)
class WhatIfDifference:
    start_composting: int  # members the candidate composts and the rules in force do not
    stop_composting: int
    amount_changed: int  # composted on both sides, by a different amount
    grains_moved: int  # candidate's composted grains minus the baseline's
    start_receiving: int
    stop_receiving: int


@dataclass(frozen=True)
class WhatIfResult:
    as_of: datetime
    wallets: int
    baseline: dict[str, Any]  # {"compost": CompostSide, "redistribution": RedistributionSide}
    candidate: dict[str, Any]
    difference: WhatIfDifference

    def as_json(self) -> dict[str, Any]:
        """The result as the what-if's record stores it (and the API returns it)."""
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        return data


# --- the pass ------------------------------------------------------------------------------------


def _params(policy: Policy, prefix: str, as_of: datetime) -> dict[str, Any]:
    c, r = policy.compost, policy.redistribution
    return {
        f"{prefix}rate": sql_rate(c.rate),
        f"{prefix}min_balance": c.min_balance,
        f"{prefix}min_amount": c.min_amount,
        f"{prefix}cutoff": db_time(c.cutoff(as_of)),
        f"{prefix}min_harvested": r.min_harvested,
        f"{prefix}active_cutoff": db_time(r.active_cutoff(as_of)),
    }


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite returns the stored text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# (taken under the baseline, under the candidate, receives b, receives c) -> [wallets, max bal]
Groups = dict[tuple[int, int, bool, bool], list[int]]


def _groups(baseline: Policy, candidate: Policy, as_of: datetime, max_id: int) -> Groups:
    """The wallets grouped by what each side does with them: one pass over the table."""
    pg = connection.vendor == "postgresql"
    params = {
        **_params(baseline, "b_", as_of),
        **_params(candidate, "c_", as_of),
        "as_of": db_time(as_of),
        "lo": 0,
        "hi": max_id,
    }
    sql = whatif_pass(
        baseline_activity=baseline.redistribution.active_days > 0,
        candidate_activity=candidate.redistribution.active_days > 0,
        pg=pg,
    )
    groups: Groups = {}
    if pg:
        for tb, tc, rb, rc, n, top in fetch(sql, params):
            group = groups.setdefault((int(tb), int(tc), bool(rb), bool(rc)), [0, 0])
            group[0] += int(n)
            group[1] = max(group[1], int(top))
        return groups
    bc, cc = baseline.compost, candidate.compost
    for balance, last_activity, last_composted, rb, rc in fetch(sql, params):
        activity, composted = _aware(last_activity), _aware(last_composted)
        key = (
            bc.takes(
                balance=balance,
                last_activity_at=activity,
                last_composted_at=composted,
                as_of=as_of,
            ),
            cc.takes(
                balance=balance,
                last_activity_at=activity,
                last_composted_at=composted,
                as_of=as_of,
            ),
            bool(rb),
            bool(rc),
        )
        group = groups.setdefault(key, [0, 0])
        group[0] += 1
        group[1] = max(group[1], int(balance))
    return groups


def _compost_side(amounts: Iterable[tuple[int, int]]) -> CompostSide:
    """From ``(amount, wallets)`` pairs (amount > 0): totals, bands, exact percentiles."""
    ordered = sorted(amounts)
    wallets = sum(n for _, n in ordered)
    bands: list[dict[str, Any]] = [
        {"band": name, "wallets": 0, "grains": 0} for name, _ in AMOUNT_BANDS
    ]
    for amount, n in ordered:
        i = max(j for j, (_, low) in enumerate(AMOUNT_BANDS) if amount >= low)
        bands[i]["wallets"] += n
        bands[i]["grains"] += amount * n
    percentiles: dict[str, int] = {}
    if wallets:
        ranks = {f"p{p}": max(1, math.ceil(p * wallets / 100)) for p in PERCENTILES}
        seen = 0
        for amount, n in ordered:
            seen += n
            for name, rank in ranks.items():
                if name not in percentiles and seen >= rank:
                    percentiles[name] = amount
        percentiles["max"] = ordered[-1][0]
    return CompostSide(
        wallets=wallets,
        grains=sum(a * n for a, n in ordered),
        bands=bands,
        percentiles=percentiles,
    )


def _redistribution_side(
    policy: Policy, *, groups: Groups, side: int, silo: int, as_of: datetime, max_id: int
) -> RedistributionSide:
    """The redistribution dry run's figures for one side (``side``: 2 baseline, 3 candidate)."""
    receivers = [g for key, g in groups.items() if key[side]]
    plan = policy.redistribution.plan(silo=silo, eligible=sum(n for n, _ in receivers))
    credited = 0 if plan.reason else plan.eligible
    top = max((b for _, b in receivers), default=0)
    if not plan.reason and top > MAX_BALANCE - plan.per_wallet:
        # rare: a wallet its share would take above the ceiling is not credited (dry run too)
        prefix = "b_" if side == 2 else "c_"
        params = {
            **_params(policy, prefix, as_of),
            "as_of": db_time(as_of),
            "lo": 0,
            "hi": max_id,
            "credit_limit": MAX_BALANCE - plan.per_wallet,
        }
        sql = whatif_at_ceiling(
            activity_condition=policy.redistribution.active_days > 0, prefix=prefix
        )
        credited -= int(fetch(sql, params)[0][0])
    outcome = plan.reason or ("completed" if credited == plan.eligible else "completed_with_return")
    return RedistributionSide(
        silo=silo,
        pot=plan.pot,
        eligible_wallets=plan.eligible,
        per_wallet=plan.per_wallet,
        credited_wallets=credited,
        credited=credited * plan.per_wallet,
        outcome=outcome,
    )


def whatif_compute(
    *, candidate: Policy, baseline: Policy, as_of: datetime | None = None
) -> WhatIfResult:
    """Apply ``candidate`` and ``baseline`` to every wallet at ``as_of`` (now when ``None``),
    writing nothing: three queries (the last wallet id, the silo, the grouped pass), four when
    a share would take a wallet above the ceiling."""
    at = ensure_aware(as_of or now())
    max_id = int(
        SakaAccount.objects.filter(kind=AccountKind.WALLET).aggregate(m=Max("id"))["m"] or 0
    )
    silo = SakaAccount.objects.filter(kind=AccountKind.SILO).values_list("balance", flat=True)
    silo_balance = int(silo.first() or 0)
    groups = _groups(baseline, candidate, at, max_id)
    taken_b: dict[int, int] = defaultdict(int)
    taken_c: dict[int, int] = defaultdict(int)
    for (tb, tc, _, _), (n, _) in groups.items():
        if tb:
            taken_b[tb] += n
        if tc:
            taken_c[tc] += n
    sides: dict[str, dict[str, Any]] = {}
    for name, policy, side, taken in (
        ("baseline", baseline, 2, taken_b),
        ("candidate", candidate, 3, taken_c),
    ):
        sides[name] = {
            "compost": _compost_side(taken.items()),
            "redistribution": _redistribution_side(
                policy, groups=groups, side=side, silo=silo_balance, as_of=at, max_id=max_id
            ),
        }
    tally = dict.fromkeys(
        ("start_composting", "stop_composting", "amount_changed", "start_receiving"), 0
    )
    tally["stop_receiving"] = 0
    for (tb, tc, rb, rc), (n, _) in groups.items():
        tally["start_composting"] += n if tb == 0 < tc else 0
        tally["stop_composting"] += n if tc == 0 < tb else 0
        tally["amount_changed"] += n if tb > 0 and tc > 0 and tb != tc else 0
        tally["start_receiving"] += n if rc and not rb else 0
        tally["stop_receiving"] += n if rb and not rc else 0
    difference = WhatIfDifference(
        grains_moved=sides["candidate"]["compost"].grains - sides["baseline"]["compost"].grains,
        **tally,
    )
    return WhatIfResult(
        as_of=at,
        wallets=sum(g[0] for g in groups.values()),
        baseline=sides["baseline"],
        candidate=sides["candidate"],
        difference=difference,
    )


# --- the recorded what-if ------------------------------------------------------------------------


def policy_whatif(
    *, changes: Mapping[str, Any], actor_id: int | None, as_of: datetime | None = None
) -> PolicyWhatIf:
    """Compute and record the what-if of ``changes`` (parameter: value, the others unchanged)
    against the rules in force at ``as_of`` (now when ``None``): the record a parameter change
    carries (``policy.policy_change``). Bad parameters are a ``ValidationError`` naming the
    field, before anything runs. A staff actor needs ``view_staff_data``."""
    staff_require(
        actor_id=actor_id,
        action=WHATIF_ACTION,
        target_type="policy",
        payload={"changes": {k: str(v) for k, v in changes.items()}},
    )
    at = ensure_aware(as_of or now())
    baseline = policy_current(at=at)
    candidate = policy_candidate(changes, base=baseline)
    started = time.monotonic()
    result = whatif_compute(candidate=candidate, baseline=baseline, as_of=at)
    with transaction.atomic(durable=True):
        return PolicyWhatIf.objects.create(
            as_of=at,
            parameters=candidate.parameters(),
            baseline_version_id=baseline.version_id,
            baseline=baseline.parameters(),
            result=result.as_json(),
            created_by_id=actor_id,
            duration_ms=int((time.monotonic() - started) * 1000),
        )


def whatif_get(*, whatif_id: int) -> PolicyWhatIf:
    found = PolicyWhatIf.objects.filter(pk=whatif_id).first()
    if found is None:
        raise WhatIfNotFound(whatif_id=whatif_id)
    return found
