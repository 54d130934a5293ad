"""Serializers of the poll endpoints. Weights and scores are exact decimals, written as
strings (``"1.862050"``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from saka.api.common.fields import BoundedCharField, IdField, InstantField, StrictBooleanField
from saka.polls.models import Poll, PollMethod, PollOption, Vote
from saka.polls.services import MAX_OPTIONS, MAX_POINTS_LIMIT
from saka.polls.weights import MAX_INTENSITY, MIN_INTENSITY


@extend_schema_field(OpenApiTypes.INT)
class StrictIntegerField(serializers.IntegerField):
    """A JSON integer (or digit string): never a float, a bool or ``"1.0"``."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool | float) or (
            isinstance(data, str) and not (data.isascii() and data.isdigit())
        ):
            self.fail("invalid")
        return int(super().to_internal_value(data))


def weight_field(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=kwargs.pop("max_digits", 12),
        decimal_places=6,
        coerce_to_string=True,
        read_only=True,
        **kwargs,
    )


class PollOptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = PollOption
        fields = ["id", "label", "position"]


class PollSerializer(serializers.ModelSerializer):
    options = PollOptionSerializer(many=True, read_only=True)

    class Meta:
        model = Poll
        fields = [
            "id",
            "title",
            "method",
            "max_points",
            "opens_at",
            "closes_at",
            "options",
            "created_at",
        ]


class BallotSerializer(serializers.Serializer):
    option_id = IdField()
    points = StrictIntegerField(
        min_value=0,
        max_value=MAX_POINTS_LIMIT,
        required=False,
        help_text="points on this option (single: 1, may be left out)",
    )


class VoteInSerializer(serializers.Serializer):
    ballots = serializers.ListField(
        child=BallotSerializer(), allow_empty=False, max_length=MAX_OPTIONS
    )
    intensity = StrictIntegerField(
        min_value=MIN_INTENSITY,
        max_value=MAX_INTENSITY,
        required=False,
        default=1,
        help_text="1..5 (quadratic polls; single-choice votes have 1)",
    )
    use_saka = StrictBooleanField(
        required=False,
        default=True,
        help_text="spend intensity * SAKA_VOTE_COST_PER_INTENSITY grains for weight",
    )


class BallotOutSerializer(serializers.Serializer):
    option_id = serializers.IntegerField()
    points = serializers.IntegerField()


class VoteOutSerializer(serializers.Serializer):
    vote_id = serializers.IntegerField()
    poll_id = serializers.IntegerField()
    member_id = serializers.IntegerField()
    intensity = serializers.IntegerField()
    use_saka = serializers.BooleanField()
    spent = serializers.IntegerField(help_text="grains this vote planted")
    weight = weight_field()
    ballots = BallotOutSerializer(many=True)
    plant_entry_id = serializers.IntegerField(allow_null=True)
    harvest_entry_id = serializers.IntegerField(allow_null=True)
    harvested = serializers.IntegerField(help_text="grains harvested (poll_vote) by this call")
    balance = serializers.IntegerField(help_text="my SAKA balance after the vote")
    spend_skipped = serializers.ChoiceField(
        choices=["saka_disabled", "saka_voting_off", "not_requested", "insufficient_balance"],
        allow_null=True,
        help_text="why nothing was spent; null when the vote spent",
    )
    harvest_skipped = serializers.ChoiceField(
        choices=["saka_disabled", "daily_limit_reached"],
        allow_null=True,
        help_text="why nothing was harvested; null when harvested",
    )
    replayed = serializers.BooleanField(
        help_text="the same vote as my current one (a double click): nothing booked"
    )
    updated_at = serializers.DateTimeField()


class MyVoteSerializer(serializers.ModelSerializer):
    vote_id = serializers.IntegerField(source="id")
    weight = weight_field()
    ballots = BallotOutSerializer(many=True, read_only=True)

    class Meta:
        model = Vote
        fields = [
            "vote_id",
            "poll_id",
            "intensity",
            "use_saka",
            "spent",
            "weight",
            "ballots",
            "plant_entry_id",
            "harvest_entry_id",
            "created_at",
            "updated_at",
        ]


class OptionResultSerializer(serializers.Serializer):
    option_id = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]
    position = serializers.IntegerField()
    points = serializers.IntegerField(help_text="Σ points")
    voters = serializers.IntegerField(help_text="votes giving it points")
    score = weight_field(max_digits=30, help_text="Σ points * weight")


class PollResultsSerializer(serializers.Serializer):
    poll_id = serializers.IntegerField()
    method = serializers.ChoiceField(choices=PollMethod.choices)
    options = OptionResultSerializer(many=True)


class PollCreateInSerializer(serializers.Serializer):
    title = BoundedCharField(max_length=200)
    method = serializers.ChoiceField(choices=PollMethod.choices)
    options = serializers.ListField(
        child=BoundedCharField(max_length=200), min_length=2, max_length=MAX_OPTIONS
    )
    max_points = StrictIntegerField(
        min_value=1, max_value=MAX_POINTS_LIMIT, required=False, default=100
    )
    opens_at = InstantField()
    closes_at = InstantField()
