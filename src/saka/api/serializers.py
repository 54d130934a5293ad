from __future__ import annotations

from typing import Any

from rest_framework import serializers

from saka.api.fields import AmountField, IdField
from saka.core.errors import ValidationError
from saka.grains.conf import MANUAL_ADJUST_MAX_GRANT
from saka.grains.models import SakaPosting
from saka.projects.models import Project


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    data = serializers.DictField()  # type: ignore[assignment]


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

    class Meta:
        model = SakaPosting
        fields = ["id", "entry_id", "kind", "reason", "amount", "created_at", "project_id"]


class ProjectSerializer(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = ["id", "title", "owner_id", "saka_score", "saka_supporters", "created_at"]


class BoostInSerializer(serializers.Serializer):
    amount = AmountField(required=False, help_text="grains; default SAKA_BOOST_COST")


class PlantInSerializer(serializers.Serializer):
    amount = AmountField()
    reason = serializers.RegexField(r"^[a-z][a-z0-9_]{0,31}$", required=False, default="plant")
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


class HarvestInSerializer(serializers.Serializer):
    member_id = IdField()
    reason = serializers.CharField(max_length=64)
    amount = AmountField(
        required=False, help_text="only for manual_adjust (staff endpoint); fixed rewards take none"
    )


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


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """Validate a request body: a JSON object with known fields only (a typo never falls back
    to a default)."""
    if not isinstance(data, dict):
        raise ValidationError("The request body must be a JSON object.")
    serializer = serializer_class(data=data)
    unknown = sorted(set(data) - set(serializer.fields))
    if unknown:
        raise ValidationError(
            f"Unknown fields: {', '.join(map(str, unknown))}.",
            fields={k: ["Unknown field."] for k in unknown},
        )
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
