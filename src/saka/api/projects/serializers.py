"""Serializers of the project endpoints."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from saka.api.common.fields import AmountField
from saka.api.euro.serializers import ProjectCampaignSerializer
from saka.projects.models import Project


class ProjectSerializer(serializers.ModelSerializer):
    # cached + pending boosts (annotated by saka.projects.selectors)
    saka_score = serializers.IntegerField(source="score_total", read_only=True)
    saka_supporters = serializers.IntegerField(source="supporters_total", read_only=True)
    # its EUR campaign (annotated by saka.euro.selectors.projects_with_campaign)
    campaign = serializers.SerializerMethodField(
        help_text="the open campaign, else the latest; null when the project never had one"
    )

    class Meta:
        model = Project
        fields = [
            "id",
            "title",
            "owner_id",
            "saka_score",
            "saka_supporters",
            "campaign",
            "created_at",
        ]

    @extend_schema_field(ProjectCampaignSerializer(allow_null=True))
    def get_campaign(self, obj: Any) -> dict[str, Any] | None:
        if obj.campaign_id is None:
            return None
        return dict(
            ProjectCampaignSerializer(
                {
                    "id": obj.campaign_id,
                    "status": obj.campaign_status,
                    "goal": obj.campaign_goal_cents,
                    "raised": obj.campaign_raised_cents,
                    "deadline": obj.campaign_deadline,
                }
            ).data
        )


class BoostInSerializer(serializers.Serializer):
    amount = AmountField(required=False, help_text="grains; default SAKA_BOOST_COST")
