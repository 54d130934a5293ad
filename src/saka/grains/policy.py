"""The rules' parameters as data: versioned, each version effective from an instant, set by a
``policy_maker`` with a reason and the what-if it was decided with (docs/policy-lab.md).

The settings give the defaults (in force before the first version) and the bounds
(``SAKA_POLICY_BOUNDS`` may narrow the settings' own ranges). A run records the version it
applied (``Run.policy_version``) and the parameters themselves (``Run.parameters``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from saka.audit.services import audit_record, staff_require
from saka.core.clock import ensure_aware, now
from saka.core.errors import ValidationError
from saka.core.money import parse_rate
from saka.grains.conf import RULE_INT_BOUNDS, get_settings
from saka.grains.errors import WhatIfNotFound, WhatIfStale
from saka.grains.lock_objects import policy_lock
from saka.grains.models import PolicyVersion, PolicyWhatIf
from saka.grains.rules import CompostRule, RedistributionRule

CHANGE_ACTION = "saka.policy.change"
# A what-if older than this cannot be attached to a change: the wallets have moved since.
WHATIF_MAX_AGE = timedelta(hours=24)
REASON_MAX = 500

RATES = ("compost_rate", "redistribution_rate")
# parameter -> the settings' range (grains.conf validates the same at start-up)
INT_BOUNDS = RULE_INT_BOUNDS
PARAMETERS = (
    "compost_rate",
    "compost_inactivity_days",
    "compost_min_balance",
    "compost_min_amount",
    "redistribution_rate",
    "redistribution_min_harvested",
    "redistribution_active_days",
)


@dataclass(frozen=True)
class Policy:
    """The compost and redistribution rules in force at an instant."""

    compost: CompostRule
    redistribution: RedistributionRule
    version_id: int | None = None  # None: the settings' defaults

    def parameters(self) -> dict[str, Any]:
        """The seven parameters, flat (rates as decimal strings): a version's ``parameters``."""
        c, r = self.compost, self.redistribution
        return {
            "compost_rate": str(c.rate),
            "compost_inactivity_days": c.inactivity_days,
            "compost_min_balance": c.min_balance,
            "compost_min_amount": c.min_amount,
            "redistribution_rate": str(r.rate),
            "redistribution_min_harvested": r.min_harvested,
            "redistribution_active_days": r.active_days,
        }

    @classmethod
    def of_parameters(cls, p: Mapping[str, Any], *, version_id: int | None = None) -> Policy:
        return cls(
            compost=CompostRule(
                rate=Decimal(p["compost_rate"]),
                min_balance=int(p["compost_min_balance"]),
                min_amount=int(p["compost_min_amount"]),
                inactivity_days=int(p["compost_inactivity_days"]),
            ),
            redistribution=RedistributionRule(
                rate=Decimal(p["redistribution_rate"]),
                min_harvested=int(p["redistribution_min_harvested"]),
                active_days=int(p["redistribution_active_days"]),
            ),
            version_id=version_id,
        )


def policy_defaults() -> Policy:
    """The settings' parameters: in force before the first version."""
    cfg = get_settings()
    return Policy(
        compost=CompostRule.of_settings(cfg), redistribution=RedistributionRule.of_settings(cfg)
    )


def policy_current(*, at: datetime | None = None) -> Policy:
    """The rules in force at ``at`` (now when ``None``): the latest version effective then, or
    the settings' defaults. One indexed query."""
    instant = ensure_aware(at or now())
    version = (
        PolicyVersion.objects.filter(effective_at__lte=instant)
        .order_by("-effective_at", "-id")
        .only("id", "parameters")
        .first()
    )
    if version is None:
        return policy_defaults()
    return Policy.of_parameters(version.parameters, version_id=version.pk)


# --- bounds and validation ---------------------------------------------------------------------


def policy_bounds() -> dict[str, tuple[Any, Any]]:
    """Each parameter's inclusive range: the settings' own, narrowed by ``SAKA_POLICY_BOUNDS``
    (``{"compost_rate": ["0.01", "0.30"], "compost_inactivity_days": [30, 180]}``). Rates
    are in (0, 1]; a rate's low bound is exclusive at 0."""
    bounds: dict[str, tuple[Any, Any]] = {name: (Decimal(0), Decimal(1)) for name in RATES}
    bounds.update(INT_BOUNDS)
    narrowed = getattr(settings, "SAKA_POLICY_BOUNDS", {}) or {}
    if not isinstance(narrowed, Mapping):
        raise ImproperlyConfigured(
            "SAKA_POLICY_BOUNDS must be a mapping of parameter: [low, high]."
        )
    for name, pair in narrowed.items():
        if name not in bounds or not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ImproperlyConfigured(f"SAKA_POLICY_BOUNDS[{name!r}] must be [low, high].")
        low, high = (Decimal(str(x)) if name in RATES else int(x) for x in pair)
        base_low, base_high = bounds[name]
        if not base_low <= low <= high <= base_high:
            raise ImproperlyConfigured(
                f"SAKA_POLICY_BOUNDS[{name!r}] must lie within {base_low}..{base_high}."
            )
        bounds[name] = (low, high)
    return bounds


def _parse(name: str, value: Any, bounds: tuple[Any, Any]) -> Any:
    low, high = bounds
    if name in RATES:
        try:
            rate = parse_rate(value, name=name)  # (0, 1], exact
        except ValidationError as exc:
            raise ValidationError(exc.message, field=name) from exc
        if not low <= rate <= high:
            raise ValidationError(
                f"{name} must be in {low}..{high}.", field=name, low=str(low), high=str(high)
            )
        return rate
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(
            f"{name} must be an integer in {low}..{high}.", field=name, low=low, high=high
        )
    return value


def policy_candidate(changes: Mapping[str, Any], *, base: Policy) -> Policy:
    """``base`` with ``changes`` applied, each parameter validated against its bounds
    (``ValidationError`` naming the field; unknown names are refused)."""
    unknown = sorted(set(changes) - set(PARAMETERS))
    if unknown:
        raise ValidationError(
            f"Unknown parameter {unknown[0]!r}.", field=unknown[0], allowed=list(PARAMETERS)
        )
    bounds = policy_bounds()
    values = base.parameters()
    for name, value in changes.items():
        values[name] = _parse(name, value, bounds[name])
    return Policy.of_parameters(
        {k: str(v) if k in RATES else v for k, v in values.items()}, version_id=None
    )


# --- the change --------------------------------------------------------------------------------


def policy_change(
    *,
    whatif_id: int,
    reason: str,
    actor_id: int | None,
    effective_at: datetime | None = None,
) -> PolicyVersion:
    """Put the candidate parameters of what-if ``whatif_id`` in force from ``effective_at``
    (now when ``None``; never in the past). The what-if must have been computed against the
    version in force at ``effective_at`` and less than :data:`WHATIF_MAX_AGE` ago
    (``WhatIfStale``); the parameters must differ from it. A staff actor needs
    ``manage_policy`` (``RoleRequired``, recorded); the change is in the audit trail."""
    text = reason.strip() if isinstance(reason, str) else ""
    if not 1 <= len(text) <= REASON_MAX:
        raise ValidationError(
            f"A change needs a reason of 1 to {REASON_MAX} characters.", field="reason"
        )
    payload = {"whatif_id": whatif_id, "reason": text}
    staff_require(actor_id=actor_id, action=CHANGE_ACTION, target_type="policy", payload=payload)
    if effective_at is not None and ensure_aware(effective_at) < now() - timedelta(seconds=1):
        raise ValidationError("A change cannot take effect in the past.", field="effective_at")
    with transaction.atomic(durable=True):
        policy_lock()  # changes one at a time: each compares with the version before it
        current_time = now()
        at = current_time if effective_at is None else ensure_aware(effective_at)
        whatif = PolicyWhatIf.objects.filter(pk=whatif_id).first()
        if whatif is None:
            raise WhatIfNotFound(whatif_id=whatif_id)
        latest = PolicyVersion.objects.order_by("-effective_at", "-id").first()
        if latest is not None and at < latest.effective_at:
            raise ValidationError(
                "A change cannot take effect before the latest version.",
                field="effective_at",
                latest_effective_at=latest.effective_at.isoformat(),
            )
        in_force = policy_current(at=at)
        if (
            whatif.baseline_version_id != in_force.version_id
            or whatif.baseline != in_force.parameters()
            or whatif.created_at < current_time - WHATIF_MAX_AGE
        ):
            raise WhatIfStale(whatif_id=whatif_id, version_in_force=in_force.version_id)
        if whatif.parameters == in_force.parameters():
            raise ValidationError(
                "The what-if's parameters are the ones in force: nothing to change.",
                field="whatif_id",
            )
        version = PolicyVersion.objects.create(
            effective_at=at,
            parameters=whatif.parameters,
            reason=text,
            changed_by_id=actor_id,
            whatif=whatif,
        )
        audit_record(
            actor_id=actor_id,
            action=CHANGE_ACTION,
            target_type="policy",
            target_id=version.pk,
            payload={
                **payload,
                "effective_at": at,
                "before": in_force.parameters(),
                "after": whatif.parameters,
            },
        )
    return version


def policy_version_data(version: PolicyVersion) -> dict[str, Any]:
    """A version as plain data (the API's)."""
    return {
        "version_id": version.pk,
        "effective_at": version.effective_at,
        "parameters": version.parameters,
        "reason": version.reason,
        "changed_by": version.changed_by_id,
        "whatif_id": version.whatif_id,
        "created_at": version.created_at,
    }


def policy_overview(*, at: datetime | None = None, limit: int = 50) -> dict[str, Any]:
    """The parameters in force at ``at`` (now), their bounds, and the latest versions
    (those to come included): two queries."""
    instant = ensure_aware(at or now())
    versions = list(PolicyVersion.objects.order_by("-effective_at", "-id")[:limit])
    in_force = next((v for v in versions if v.effective_at <= instant), None)
    if in_force is None and len(versions) == limit:  # older than the page: ask
        in_force = (
            PolicyVersion.objects.filter(effective_at__lte=instant)
            .order_by("-effective_at", "-id")
            .first()
        )
    current = (
        policy_version_data(in_force)
        if in_force is not None
        else {
            "version_id": None,
            "effective_at": None,
            "parameters": policy_defaults().parameters(),
            "reason": "the settings' defaults",
            "changed_by": None,
            "whatif_id": None,
            "created_at": None,
        }
    )
    bounds = {
        name: [str(low), str(high)] if name in RATES else [low, high]
        for name, (low, high) in policy_bounds().items()
    }
    return {
        "in_force": current,
        "bounds": bounds,
        "versions": [policy_version_data(v) for v in versions],
    }
