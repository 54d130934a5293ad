"""Serializers of the SAKA endpoints: wallet, history, plant, harvests and adjustments, runs,
silo, statistics and the compost preview. Amounts are integer grains."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from saka.api.common.fields import (
    AmountField,
    BoundedCharField,
    IdField,
    InstantField,
    StrictBooleanField,
)
from saka.api.common.statements import (
    CalculationField,
    ExplainedListSerializer,
    ExplanationField,
)
from saka.grains.conf import HARVEST_RULES, MANUAL_ADJUST_MAX_GRANT, PLANT_REASON_PATTERN
from saka.grains.models import RunKind, SakaPosting
from saka.grains.statements import postings_explained


class HarvestUsageSerializer(serializers.Serializer):
    used = serializers.IntegerField()
    daily_limit = serializers.IntegerField()


class SakaWalletSerializer(serializers.Serializer):
    member_id = serializers.IntegerField()
    balance = serializers.IntegerField(help_text="grains")
    lifetime_harvested = serializers.IntegerField()
    lifetime_planted = serializers.IntegerField()
    lifetime_composted = serializers.IntegerField()
    lifetime_redistributed = serializers.IntegerField()
    last_activity_at = serializers.DateTimeField(allow_null=True)
    last_composted_at = serializers.DateTimeField(allow_null=True)
    harvests_today = serializers.DictField(child=HarvestUsageSerializer())


class SakaHistoryItemSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(source="entry.kind")
    reason = serializers.CharField(source="entry.reason")
    created_at = serializers.DateTimeField(source="entry.created_at")
    project_id = serializers.IntegerField(source="entry.project_id", allow_null=True)
    amount = serializers.IntegerField(help_text="signed grains: + credit, - debit")
    explanation = ExplanationField()
    calculation = CalculationField()

    explain = staticmethod(postings_explained)

    class Meta:
        model = SakaPosting
        list_serializer_class = ExplainedListSerializer
        fields = [
            "id",
            "entry_id",
            "kind",
            "reason",
            "amount",
            "created_at",
            "project_id",
            "explanation",
            "calculation",
        ]


class PlantInSerializer(serializers.Serializer):
    amount = AmountField()
    reason = serializers.RegexField(PLANT_REASON_PATTERN, required=False, default="plant")
    project_id = IdField(required=False, allow_null=True, default=None)


class PlantOutSerializer(serializers.Serializer):
    entry_id = serializers.IntegerField()
    member_id = serializers.IntegerField()
    reason = serializers.CharField()
    amount = serializers.IntegerField()
    balance = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    project_id = serializers.IntegerField(allow_null=True)
    project_score = serializers.IntegerField(allow_null=True)
    project_supporters = serializers.IntegerField(allow_null=True)


# The reasons the platform can grant (the configured rewards; manual_adjust is staff's).
HARVEST_REASONS = list(HARVEST_RULES)


@extend_schema_field({"type": "string", "enum": HARVEST_REASONS})
class HarvestReasonField(serializers.CharField):
    """A harvest reason: documented as the enum ``HarvestReasonEnum`` of the configured
    rewards (``saka.grains.conf.HARVEST_RULES``); checked by the service, whose
    ``unknown_reason`` error lists them (``manual_adjust`` is refused here: 403)."""


# `amount` is read only to refuse it with its own error (invalid_amount: the platform's
# rewards are fixed): the schema does not offer it, so a body with one is schema-invalid.
@extend_schema_serializer(exclude_fields=["amount"])
class HarvestInSerializer(serializers.Serializer):
    member_id = IdField()
    reason = HarvestReasonField(max_length=64, trim_whitespace=False)
    amount = AmountField(required=False, help_text="refused: the platform's rewards are fixed")


class AdjustmentInSerializer(serializers.Serializer):
    member_id = IdField()
    amount = AmountField(
        maximum=MANUAL_ADJUST_MAX_GRANT,
        help_text="1..500 grains per grant, at most 1000 per member per 24 h",
    )


class HarvestOutSerializer(serializers.Serializer):
    entry_id = serializers.IntegerField()
    member_id = serializers.IntegerField()
    reason = serializers.CharField()
    amount = serializers.IntegerField()
    balance = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    used_today = serializers.IntegerField(
        help_text="uses of this reason today (grains in 24 h for manual_adjust)"
    )
    daily_limit = serializers.IntegerField(allow_null=True)


# --- runs, silo, statistics, compost preview -------------------------------------------------


class RunStartInSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RunKind.values)
    dry_run = StrictBooleanField(
        help_text="true: compute and record only, synchronously (201); false: enqueue the live "
        "run of the current period (202)."
    )
    as_of = InstantField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Instant of the run (default: now). A live run accepts only an instant of the "
        "current period that is not in the future.",
    )


class RunLeaseSerializer(serializers.Serializer):
    step = serializers.IntegerField()
    lo = serializers.IntegerField(help_text="exclusive lower key of the chunk")
    hi = serializers.IntegerField(help_text="inclusive upper key of the chunk")
    worker = serializers.CharField(help_text="host:pid[:thread] of the worker holding it")
    lease_until = serializers.DateTimeField()


class RunProgressSerializer(serializers.Serializer):
    """``saka.grains.selectors.run_progress``: the chunks of the run's current step."""

    step = serializers.CharField(help_text="the step being done (freeze, credit, compost...)")
    phase = serializers.IntegerField()
    total = serializers.IntegerField(required=False)
    done = serializers.IntegerField(required=False)
    leased = serializers.IntegerField(required=False, help_text="pending, held by a worker")
    pending = serializers.IntegerField(required=False, help_text="pending, free to claim")
    leases = RunLeaseSerializer(many=True)
    stalled = serializers.BooleanField(
        help_text="unfinished and nobody works on it (the resume task or an operator resumes it)"
    )


class RunListQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RunKind.values, required=False)
    dry_run = serializers.ChoiceField(choices=["true", "false"], required=False)
    stalled = serializers.ChoiceField(choices=["true", "false"], required=False)


class RunSummarySerializer(serializers.Serializer):
    """``saka.grains.selectors.run_summary``; the last fields depend on the run's kind."""

    run_id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=RunKind.values)
    period = serializers.CharField()
    dry_run = serializers.BooleanField()
    status = serializers.CharField()
    outcome = serializers.CharField()
    reason = serializers.CharField(allow_null=True, help_text="why nothing was done, if so")
    as_of = serializers.DateTimeField()
    trigger = serializers.CharField()
    triggered_by = serializers.IntegerField(allow_null=True)
    parameters = serializers.DictField()
    policy_version = serializers.IntegerField(
        allow_null=True, help_text="the parameters' version applied (null: the settings')"
    )
    cursor = serializers.IntegerField()
    max_id = serializers.IntegerField()
    chunks = serializers.IntegerField(help_text="chunks of the apply step done")
    chunks_total = serializers.IntegerField()
    phase = serializers.IntegerField(help_text="index of the step being done")
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField(help_text="last progress")
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_ms = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    # compost
    wallets_composted = serializers.IntegerField(required=False)
    total_composted = serializers.IntegerField(required=False)
    # redistribution
    eligible_wallets = serializers.IntegerField(required=False, allow_null=True)
    per_wallet = serializers.IntegerField(required=False, allow_null=True)
    pot = serializers.IntegerField(required=False, allow_null=True)
    wallets_credited = serializers.IntegerField(required=False)
    total_redistributed = serializers.IntegerField(required=False)
    silo_before = serializers.IntegerField(required=False, allow_null=True)
    silo_after = serializers.IntegerField(required=False, allow_null=True)
    # one run's detail, a live run started or resumed
    progress = RunProgressSerializer(required=False)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        return {key: value for key, value in data.items() if key in instance}  # kind's keys only


class SiloSerializer(serializers.Serializer):
    balance = serializers.IntegerField(help_text="grains in the silo")
    in_transit = serializers.IntegerField(
        help_text="grains in the pool of a running redistribution"
    )
    lifetime_composted = serializers.IntegerField()
    lifetime_redistributed = serializers.IntegerField()
    last_compost_run_id = serializers.IntegerField(allow_null=True)
    last_redistribution_run_id = serializers.IntegerField(allow_null=True)


class StatsQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=366, required=False, default=30)
    top = serializers.IntegerField(min_value=1, max_value=100, required=False, default=10)


class StatsDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    harvest = serializers.IntegerField(required=False)
    plant = serializers.IntegerField(required=False)
    compost = serializers.IntegerField(required=False)
    redistribution = serializers.IntegerField(required=False)


class TopMemberSerializer(serializers.Serializer):
    member_id = serializers.IntegerField()
    username = serializers.CharField(help_text="the log-in name (the user model's USERNAME_FIELD)")
    balance = serializers.IntegerField()


class TopProjectSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    saka_score = serializers.IntegerField()
    saka_supporters = serializers.IntegerField()


class StatsSerializer(serializers.Serializer):
    wallets = serializers.IntegerField()
    members_with_saka = serializers.IntegerField()
    total_balance = serializers.IntegerField()
    total_harvested = serializers.IntegerField()
    total_planted = serializers.IntegerField()
    total_composted = serializers.IntegerField()
    total_redistributed = serializers.IntegerField()
    average_balance = serializers.CharField(help_text="decimal string, two places")
    silo = SiloSerializer()
    daily = StatsDaySerializer(many=True, help_text="grains moved per day and entry kind")
    top_members = TopMemberSerializer(many=True)
    top_projects = TopProjectSerializer(many=True)


class CompostPreviewSerializer(serializers.Serializer):
    """``saka.grains.selectors.compost_preview``: what composts now, and what will if I wait."""

    member_id = serializers.IntegerField()
    balance = serializers.IntegerField()
    eligible = serializers.BooleanField(help_text="a compost run now would take grains")
    amount = serializers.IntegerField(
        help_text="grains a compost run now would take: 0 unless eligible"
    )
    amount_if_idle = serializers.IntegerField(
        help_text="grains a compost run will take from eligible_at if the wallet stays idle, at "
        "today's balance; 0 when the balance or the amount is below its minimum"
    )
    eligible_at = serializers.DateTimeField(
        allow_null=True,
        help_text="from when a compost run takes amount_if_idle (now when eligible); null when "
        "waiting changes nothing (balance or amount below its minimum)",
    )
    days_until_eligible = serializers.IntegerField(
        help_text="whole days until eligible_at; 0 when eligible now or when eligible_at is null"
    )
    reason = serializers.CharField(
        help_text="why nothing would be composted now: balance_below_minimum, "
        "amount_below_minimum, recently_active; empty when eligible"
    )


class SeasonStatsSerializer(serializers.Serializer):
    harvested = serializers.IntegerField(help_text="grains harvested in the season")
    planted = serializers.IntegerField(help_text="grains planted in the season")
    composted = serializers.IntegerField(help_text="grains composted by the season's runs")
    redistributed = serializers.IntegerField(
        help_text="grains credited to wallets by the season's redistributions"
    )
    runs = serializers.IntegerField(help_text="live runs whose as_of is in the season")
    harvesters = serializers.IntegerField(help_text="members who harvested in the season")


class SeasonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(help_text="exclusive: the range is [starts_at, ends_at)")
    is_active = serializers.BooleanField()
    stats = SeasonStatsSerializer()


class SeasonCreateInSerializer(serializers.Serializer):
    name = BoundedCharField(max_length=80)
    starts_at = InstantField()
    ends_at = InstantField(help_text="exclusive")
