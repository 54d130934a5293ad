"""The overview endpoints: thin, one selector call per domain.

- ``GET me/assets/`` (member): the member's own EUR and SAKA assets, no member id taken.
- ``GET config/`` (public, no authentication, no database query): which features are on and
  the public parameters, cacheable for a minute by anyone (``Cache-Control: public``).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from saka.api.common.base import ERRORS, MemberView, member_id_of
from saka.api.overview import serializers as s
from saka.euro.selectors import euro_public_settings, member_assets_eur
from saka.grains.selectors import member_assets_saka, saka_public_settings
from saka.polls.conf import get_settings as poll_settings

CONFIG_MAX_AGE = 60  # seconds a client or a shared cache may reuse the configuration
CONFIG_CACHE_CONTROL = f"public, max-age={CONFIG_MAX_AGE}"


class MemberAssetsView(MemberView):
    """The caller's own assets (no member id taken). EUR amounts are strings with two
    places, SAKA amounts integer grains; equity is null while equity pledges are off, saka
    null while SAKA is off; a member without a wallet reads zeros."""

    @extend_schema(
        operation_id="me_assets",
        responses={200: s.MemberAssetsSerializer, **ERRORS},
        tags=["Overview"],
        summary="My assets: EUR available, in escrow, pockets, donations and equity; SAKA "
        "balance, lifetime counters and next compost",
    )
    def get(self, request: Request) -> Response:
        member_id = member_id_of(request)
        assets = {
            "member_id": member_id,
            "euro": member_assets_eur(member_id=member_id),
            "saka": member_assets_saka(member_id=member_id),
        }
        return Response(s.MemberAssetsSerializer(assets).data)


class PublicConfigView(APIView):
    """Public: no credential is read (a wrong token is ignored, never 401), no throttle."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    @extend_schema(
        operation_id="config",
        responses={
            200: OpenApiResponse(
                s.PublicConfigSerializer,
                description="The features that are on and the public parameters.",
            )
        },
        parameters=[
            OpenApiParameter(
                "Cache-Control",
                OpenApiTypes.STR,
                location=OpenApiParameter.HEADER,
                response=[200],
                description=CONFIG_CACHE_CONTROL,
            )
        ],
        auth=[],
        tags=["Overview"],
        summary="Public configuration: features on (SAKA, boosts, polls, compost, "
        "redistribution, equity) and parameters (commission rate, boost and vote costs, "
        "currencies)",
    )
    def get(self, request: Request) -> Response:
        saka, euro, polls = saka_public_settings(), euro_public_settings(), poll_settings()
        config = {
            "features": {
                "saka": saka.enabled,
                "boosts": saka.boosts,
                "polls": True,
                "poll_saka_voting": saka.enabled and polls.saka_voting,
                "compost": saka.compost,
                "redistribution": saka.redistribution,
                "equity": euro.equity_pledges,
            },
            "parameters": {
                "commission_rate": euro.commission_rate,
                "boost_cost": saka.boost_cost,
                "vote_cost_per_intensity": polls.vote_cost_per_intensity,
                "currencies": {
                    "euro": {"code": euro.currency, "decimal_places": 2},
                    "saka": {"code": saka.currency, "decimal_places": 0},
                },
            },
        }
        response = Response(s.PublicConfigSerializer(config).data)
        response["Cache-Control"] = CONFIG_CACHE_CONTROL
        return response
