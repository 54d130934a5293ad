"""Serializers of the policy lab's staff endpoints: the parameters in force and their
versions, a what-if's candidate and result, a change."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from saka.api.common.fields import IdField, InstantField
from saka.grains.policy import INT_BOUNDS, PARAMETERS, RATES, REASON_MAX

# a rate in (0, 1] as a decimal string: "0.10", "1", "0.0001" (never 0)
RATE_PATTERN = r"^(0\.[0-9]*[1-9][0-9]*|1(\.0*)?)$"


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: no "90", no true, no 90.0 (a parameter is never coerced)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class RateField(serializers.RegexField):
    """A rate as a JSON string only: a float (0.1) is never read as a decimal."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(RATE_PATTERN, max_length=32, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


def parameter_field(name: str, **kwargs: Any) -> serializers.Field:
    """The request field of one parameter, with the settings' range (the service checks the
    bounds again, narrowed by ``SAKA_POLICY_BOUNDS``)."""
    if name in RATES:
        return RateField(**kwargs)
    low, high = INT_BOUNDS[name]
    return StrictIntegerField(min_value=low, max_value=high, **kwargs)


class PolicyParametersSerializer(serializers.Serializer):
    """The seven parameters (in a request: any of them; the others stay as in force)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {name: parameter_field(name, required=False) for name in PARAMETERS}


class WhatIfInSerializer(PolicyParametersSerializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {**super().get_fields(), "as_of": InstantField(required=False)}


class WhatIfOutSerializer(serializers.Serializer):
    whatif_id = serializers.IntegerField()
    as_of = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    created_by = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField()
    parameters = PolicyParametersSerializer()
    baseline = PolicyParametersSerializer()
    baseline_version = serializers.IntegerField(allow_null=True)
    result = serializers.DictField(
        help_text="wallets; baseline and candidate (compost: wallets, grains, bands, "
        "percentiles; redistribution: silo, pot, eligible_wallets, per_wallet, "
        "credited_wallets, credited, outcome); difference"
    )


class PolicyChangeInSerializer(serializers.Serializer):
    whatif_id = IdField(help_text="the what-if of the new parameters, against those in force")
    reason = serializers.CharField(max_length=REASON_MAX, trim_whitespace=False)
    effective_at = InstantField(required=False, help_text="default: now; never in the past")


class PolicyVersionSerializer(serializers.Serializer):
    version_id = serializers.IntegerField(allow_null=True, help_text="null: the settings'")
    effective_at = serializers.DateTimeField(allow_null=True)
    parameters = PolicyParametersSerializer()
    reason = serializers.CharField()
    changed_by = serializers.IntegerField(allow_null=True)
    whatif_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField(allow_null=True)


class PolicyOutSerializer(serializers.Serializer):
    in_force = PolicyVersionSerializer()
    bounds = serializers.DictField(help_text="parameter: [low, high]")
    versions = PolicyVersionSerializer(many=True, help_text="newest effective first (50)")
