"""Serializers of the overview endpoints. EUR money is a decimal string with exactly two
places (``"12.34"``), SAKA amounts are integer grains, rates are decimal strings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from saka.api.common.fields import MoneyOut
from saka.core.money import format_percentage

# a rate in [0, 1) with at most 6 decimals, without trailing zeros ("0.05", "0")
RATE_OUT_PATTERN = r"^0(\.[0-9]{0,5}[1-9])?$"


def rate_text(rate: Decimal) -> str:
    """A rate as a plain decimal string: ``Decimal("0.050")`` is ``"0.05"``, 0 is ``"0"``."""
    return format(rate.normalize(), "f")


@extend_schema_field(
    {"type": "string", "pattern": RATE_OUT_PATTERN, "example": "0.05", "readOnly": True}
)
class RateOut(serializers.Field):
    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Decimal) -> str:
        return rate_text(value)


# --- the member's assets ------------------------------------------------------------------------


class AssetPocketSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    percentage = serializers.SerializerMethodField()
    balance = MoneyOut()

    def get_percentage(self, obj: Any) -> str:
        return format_percentage(obj.percentage_bp)


class ProjectPledgeTotalsSerializer(serializers.Serializer):
    project_id = serializers.IntegerField()
    title = serializers.CharField()
    held = MoneyOut(help_text="pledged, in escrow until the campaign settles")
    released = MoneyOut(help_text="released to the project (gross: the commission included)")


class PledgeTotalsSerializer(serializers.Serializer):
    held = MoneyOut()
    released = MoneyOut()
    projects = ProjectPledgeTotalsSerializer(many=True, help_text="by project id")


class EuroAssetsSerializer(serializers.Serializer):
    available = MoneyOut(help_text="main balance: can be pledged or moved to a pocket")
    held = MoneyOut(help_text="in escrow for held pledges (every kind)")
    pockets_total = MoneyOut()
    total = MoneyOut(help_text="available + held + pockets_total")
    pockets = AssetPocketSerializer(many=True)
    donations = PledgeTotalsSerializer(
        help_text="donation pledges: held, and made (released to the project); refunded and "
        "cancelled ones are not counted"
    )
    equity = PledgeTotalsSerializer(
        allow_null=True,
        help_text="equity pledges (positions: released); null while equity pledges are off",
    )


class NextCompostSerializer(serializers.Serializer):
    """The member's next compost, as GET me/saka/compost-preview/ answers it."""

    eligible = serializers.BooleanField(help_text="a compost run now would take grains")
    amount = serializers.IntegerField(help_text="grains a compost run now would take")
    amount_if_idle = serializers.IntegerField(
        help_text="grains a compost run will take from eligible_at if the wallet stays idle"
    )
    eligible_at = serializers.DateTimeField(
        allow_null=True, help_text="null when waiting changes nothing"
    )
    days_until_eligible = serializers.IntegerField()
    reason = serializers.CharField(
        help_text="why nothing would be composted now; empty when eligible"
    )


class SakaAssetsSerializer(serializers.Serializer):
    balance = serializers.IntegerField()
    lifetime_harvested = serializers.IntegerField()
    lifetime_planted = serializers.IntegerField()
    lifetime_composted = serializers.IntegerField()
    lifetime_redistributed = serializers.IntegerField()
    next_compost = NextCompostSerializer()


class MemberAssetsSerializer(serializers.Serializer):
    member_id = serializers.IntegerField()
    euro = EuroAssetsSerializer()
    saka = SakaAssetsSerializer(allow_null=True, help_text="null while SAKA is off")


# --- the public configuration ------------------------------------------------------------------


class FeaturesSerializer(serializers.Serializer):
    saka = serializers.BooleanField(help_text="SAKA grains (SAKA_ENABLED)")
    boosts = serializers.BooleanField(help_text="planting grains on a project (follows saka)")
    polls = serializers.BooleanField(help_text="polls: members vote (always on with the polls app)")
    poll_saka_voting = serializers.BooleanField(
        help_text="a vote may spend grains for weight (saka and SAKA_POLLS_SAKA_VOTING)"
    )
    compost = serializers.BooleanField(help_text="the weekly compost run (follows saka)")
    redistribution = serializers.BooleanField(
        help_text="the monthly redistribution run (follows saka)"
    )
    equity = serializers.BooleanField(
        help_text="equity pledges (SAKA_EQUITY_PLEDGES_ENABLED; KYC-verified members only)"
    )


class CurrencySerializer(serializers.Serializer):
    code = serializers.CharField()
    decimal_places = serializers.IntegerField(
        help_text="2 for EUR (amounts are strings like 12.34), 0 for SAKA (integer grains)"
    )


class CurrenciesSerializer(serializers.Serializer):
    euro = CurrencySerializer()
    saka = CurrencySerializer()


class ParametersSerializer(serializers.Serializer):
    commission_rate = RateOut(help_text="the platform's share of a released pledge")
    boost_cost = serializers.IntegerField(help_text="a boost's default cost in grains")
    vote_cost_per_intensity = serializers.IntegerField(
        help_text="grains a SAKA-boosted vote spends per intensity point (1..5)"
    )
    currencies = CurrenciesSerializer()


class PublicConfigSerializer(serializers.Serializer):
    features = FeaturesSerializer()
    parameters = ParametersSerializer()
