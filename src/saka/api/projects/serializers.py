"""Serializers of the project endpoints."""

from __future__ import annotations

from rest_framework import serializers

from saka.api.common.fields import AmountField
from saka.projects.models import Project


class ProjectSerializer(serializers.ModelSerializer):
    # cached + pending boosts (annotated by saka.projects.selectors)
    saka_score = serializers.IntegerField(source="score_total", read_only=True)
    saka_supporters = serializers.IntegerField(source="supporters_total", read_only=True)

    class Meta:
        model = Project
        fields = ["id", "title", "owner_id", "saka_score", "saka_supporters", "created_at"]


class BoostInSerializer(serializers.Serializer):
    amount = AmountField(required=False, help_text="grains; default SAKA_BOOST_COST")
