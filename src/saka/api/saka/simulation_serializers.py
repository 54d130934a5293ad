"""Serializers of the season simulator's staff endpoint: the parameters asked, the report."""

from __future__ import annotations

from rest_framework import serializers

from saka.api.common.fields import InstantField
from saka.grains.simulation.parameters import REQUEST_MAX_WALLETS, REQUEST_MAX_WEEKS

_RATE = "a decimal in (0, 1], as a string (default: the rule in force)"


class SimulationInSerializer(serializers.Serializer):
    weeks = serializers.IntegerField(
        min_value=1, help_text=f"weeks to simulate; more than {REQUEST_MAX_WEEKS}: 422"
    )
    synthetic = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        default=None,
        help_text="wallets of the synthetic population (spec §7); absent: the database's "
        f"wallets. More than {REQUEST_MAX_WALLETS} (either way): 422 simulation_too_large",
    )
    seed = serializers.IntegerField(min_value=0, max_value=2**63 - 1, default=1)
    start = InstantField(required=False, allow_null=True, default=None, help_text="default: now")
    compost_rate = serializers.CharField(required=False, allow_null=True, help_text=_RATE)
    compost_min_balance = serializers.IntegerField(required=False, allow_null=True)
    compost_min_amount = serializers.IntegerField(required=False, allow_null=True)
    compost_inactivity_days = serializers.IntegerField(required=False, allow_null=True)
    redistribution_rate = serializers.CharField(required=False, allow_null=True, help_text=_RATE)
    redistribution_min_harvested = serializers.IntegerField(required=False, allow_null=True)
    redistribution_active_days = serializers.IntegerField(required=False, allow_null=True)


class SimulationWeekSerializer(serializers.Serializer):
    """``saka.grains.simulation.simulate.SimulationWeek``: grains are integers, ratios are
    decimal strings."""

    week = serializers.IntegerField()
    compost_at = serializers.CharField()
    redistribution_at = serializers.CharField(allow_null=True)
    silo = serializers.IntegerField()
    pool = serializers.IntegerField()
    supply = serializers.IntegerField(help_text="Σ wallet balances at the end of the week")
    composted = serializers.IntegerField()
    wallets_composted = serializers.IntegerField()
    share_composted = serializers.CharField(help_text="composted / supply before the compost")
    redistribution_outcome = serializers.CharField(help_text='"" without a redistribution')
    redistributed = serializers.IntegerField()
    members_credited = serializers.IntegerField()
    credited_per_active_member = serializers.IntegerField()
    harvested = serializers.IntegerField()
    active_members = serializers.IntegerField()
    gini = serializers.CharField()
    idle_wallets = serializers.IntegerField()


class SimulationReportSerializer(serializers.Serializer):
    parameters = serializers.DictField(help_text="the rules applied, the population, the seed")
    weeks = SimulationWeekSerializer(many=True)
    elapsed_ms = serializers.IntegerField()
