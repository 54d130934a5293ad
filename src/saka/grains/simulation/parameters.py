"""What a simulation is asked: candidate rule parameters over the rules in force (held to the
policy lab's bounds, ``grains.policy``), and the simulation itself from those parameters, with
the bounds of a request (the API and the dashboard) or none (``saka_simulate``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from saka.core.clock import as_of_or_now
from saka.core.errors import ValidationError
from saka.grains.errors import SimulationTooLarge
from saka.grains.policy import PARAMETERS, Policy, policy_candidate, policy_current
from saka.grains.simulation.activity import ActivityModel, default_model
from saka.grains.simulation.population import synthetic, wallet_count, wallets_snapshot
from saka.grains.simulation.simulate import SimulationReport, simulate

OVERRIDES = PARAMETERS  # the parameters a simulation may override
MAX_WEEKS = 520  # ten years: the command's bound
REQUEST_MAX_WEEKS = 104
REQUEST_MAX_WALLETS = 100_000
MAX_SYNTHETIC = 10_000_000


def policy_with(policy: Policy, overrides: Mapping[str, Any]) -> Policy:
    """``policy`` with some parameters replaced (``None``: kept), each checked against its
    bounds by the policy lab's own validation (``policy_candidate``: ``ValidationError``
    naming the field). Without a change, the policy (and its version) as it is."""
    changes = {name: value for name, value in overrides.items() if value is not None}
    return policy_candidate(changes, base=policy) if changes else policy


def _int_in(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(
            f"{name} must be an integer in {low}..{high}.", field=name, minimum=low, maximum=high
        )
    return value


def simulation_run(
    *,
    weeks: int,
    synthetic_wallets: int | None = None,
    seed: int = 1,
    overrides: Mapping[str, Any] | None = None,
    start: datetime | None = None,
    activity: ActivityModel | None = None,
    bounded: bool = False,
) -> SimulationReport:
    """Simulate ``weeks`` weeks from ``start`` (default now) on the synthetic population of
    ``synthetic_wallets`` wallets, or on the database's wallets (``None``), at the rules in
    force with ``overrides``. ``bounded`` (a request): at most 104 weeks and 100,000 wallets,
    else ``SimulationTooLarge`` pointing at ``saka_simulate``. Writes nothing."""
    at = as_of_or_now(start)
    _int_in("seed", seed, 0, 2**63 - 1)
    _int_in("weeks", weeks, 1, MAX_WEEKS)
    if bounded and weeks > REQUEST_MAX_WEEKS:
        raise SimulationTooLarge(
            weeks=weeks, maximum_weeks=REQUEST_MAX_WEEKS, command="saka_simulate"
        )
    policy = policy_with(policy_current(at=at), overrides or {})
    if synthetic_wallets is not None:
        _int_in("synthetic", synthetic_wallets, 1, MAX_SYNTHETIC)
        if bounded and synthetic_wallets > REQUEST_MAX_WALLETS:
            raise SimulationTooLarge(
                wallets=synthetic_wallets,
                maximum_wallets=REQUEST_MAX_WALLETS,
                command="saka_simulate",
            )
        snapshot = synthetic(synthetic_wallets, at)
    else:
        if bounded and (count := wallet_count()) > REQUEST_MAX_WALLETS:
            raise SimulationTooLarge(
                wallets=count, maximum_wallets=REQUEST_MAX_WALLETS, command="saka_simulate"
            )
        snapshot = wallets_snapshot()
        w = snapshot.wallets
        latest = max((t for t in (*w.last_activity, *w.last_composted) if t), default=None)
        if latest is not None and latest > at:
            # the rules judge a wallet on its row only up to its last change
            raise ValidationError(
                "start must not be before the wallets' last activity or compost.",
                field="start",
                latest=latest.isoformat(),
            )
    report = simulate(
        wallets=snapshot.wallets,
        silo=snapshot.silo,
        pool=snapshot.pool,
        policy=policy,
        start=at,
        weeks=weeks,
        activity=activity or default_model(),
        seed=seed,
    )
    report.parameters["source"] = snapshot.source
    return report
