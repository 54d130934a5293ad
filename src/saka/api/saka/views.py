"""SAKA endpoints of members (wallet, history, plant, compost preview), of the platform
(harvests on behalf of members) and of staff (manual adjustments): thin, one service or
selector call per request."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from saka.api.common.base import (
    ERRORS,
    IDEMPOTENCY_HEADER,
    MemberView,
    idempotency_key_of,
    member_id_of,
    written,
)
from saka.api.common.pagination import NewestFirst
from saka.api.common.permissions import IsMember, IsPlatform, IsStaff
from saka.api.common.throttling import MemberThrottle, PlatformThrottle
from saka.api.common.validation import validated
from saka.api.saka import serializers as s
from saka.audit import roles
from saka.grains import selectors as grains_selectors
from saka.grains import services as grains_services
from saka.grains.conf import MANUAL_ADJUST
from saka.grains.errors import NotAllowed
from saka.ledger.idempotency import replay_watch


class SakaWalletView(MemberView):
    @extend_schema(
        operation_id="saka_wallet",
        responses={200: s.SakaWalletSerializer, **ERRORS},
        tags=["SAKA (member)"],
        summary="My SAKA wallet",
    )
    def get(self, request: Request) -> Response:
        view = grains_selectors.wallet_summary(member_id=member_id_of(request))
        usage = grains_selectors.harvest_usage(member_id=member_id_of(request))
        return Response(s.SakaWalletSerializer({**asdict(view), "harvests_today": usage}).data)


class SakaHistoryView(generics.ListAPIView):
    permission_classes = [IsMember]
    throttle_classes = [MemberThrottle]
    serializer_class = s.SakaHistoryItemSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> Any:
        kind = self.request.query_params.get("kind") or None
        return grains_selectors.wallet_history(member_id=member_id_of(self.request), kind=kind)

    @extend_schema(
        operation_id="saka_history",
        parameters=[
            OpenApiParameter("kind", str, enum=["harvest", "plant", "compost", "redistribution"])
        ],
        tags=["SAKA (member)"],
        summary="My SAKA history (cursor pagination, newest first)",
        responses={200: s.SakaHistoryItemSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class SakaPlantView(MemberView):
    @extend_schema(
        operation_id="saka_plant",
        request=s.PlantInSerializer,
        responses={201: s.PlantOutSerializer, **ERRORS},
        parameters=[IDEMPOTENCY_HEADER],
        tags=["SAKA (member)"],
        summary="Plant (spend) grains",
    )
    def post(self, request: Request) -> Response:
        data = validated(s.PlantInSerializer, request.data)
        with replay_watch() as watch:
            result = grains_services.wallet_plant(
                member_id=member_id_of(request), idempotency_key=idempotency_key_of(request), **data
            )
        return written(s.PlantOutSerializer(asdict(result)).data, watch)


class PlatformHarvestView(APIView):
    permission_classes = [IsPlatform]
    throttle_classes = [PlatformThrottle]

    @extend_schema(
        operation_id="platform_saka_harvest",
        request=s.HarvestInSerializer,
        responses={201: s.HarvestOutSerializer, **ERRORS},
        parameters=[IDEMPOTENCY_HEADER],
        tags=["SAKA (platform)"],
        summary="Grant a harvest on behalf of a member",
    )
    def post(self, request: Request) -> Response:
        data = validated(s.HarvestInSerializer, request.data)
        if data["reason"] == MANUAL_ADJUST:
            raise NotAllowed("Manual adjustments go through the staff adjustments endpoint.")
        with replay_watch() as watch:
            result = grains_services.wallet_harvest(
                granted_by_id=member_id_of(request),
                idempotency_key=idempotency_key_of(request),
                **data,
            )
        return written(s.HarvestOutSerializer(asdict(result)).data, watch)


class StaffAdjustmentView(APIView):
    permission_classes = [IsStaff]
    staff_permissions = {"POST": roles.ADJUST_SAKA}
    throttle_classes = [PlatformThrottle]

    @extend_schema(
        operation_id="staff_saka_adjustment",
        request=s.AdjustmentInSerializer,
        responses={201: s.HarvestOutSerializer, **ERRORS},
        parameters=[IDEMPOTENCY_HEADER],
        tags=["SAKA (staff)"],
        summary="Grant a manual adjustment (1..500, 1000 per 24 h)",
    )
    def post(self, request: Request) -> Response:
        data = validated(s.AdjustmentInSerializer, request.data)
        with replay_watch() as watch:
            result = grains_services.wallet_harvest(
                reason=MANUAL_ADJUST,
                granted_by_id=member_id_of(request),
                idempotency_key=idempotency_key_of(request),
                **data,
            )
        return written(s.HarvestOutSerializer(asdict(result)).data, watch)


class SakaCompostPreviewView(MemberView):
    @extend_schema(
        operation_id="saka_compost_preview",
        responses={200: s.CompostPreviewSerializer, **ERRORS},
        tags=["SAKA (member)"],
        summary="My next compost: eligible, amount, days until eligible",
    )
    def get(self, request: Request) -> Response:
        preview = grains_selectors.compost_preview(member_id=member_id_of(request))
        return Response(s.CompostPreviewSerializer(asdict(preview)).data)
