"""REST endpoints: thin, one service or selector call per request."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from saka.api import serializers as s
from saka.api.permissions import IsMember, IsPlatform, IsStaff
from saka.api.throttling import MemberThrottle, PlatformThrottle
from saka.grains import selectors as grains_selectors
from saka.grains import services as grains_services
from saka.grains.conf import MANUAL_ADJUST
from saka.projects import selectors as project_selectors

IDEMPOTENCY_HEADER = OpenApiParameter(
    name="Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=False,
    description="Retry-safe key (1-200 printable ASCII). Same key + same body replays the "
    "original result; same key + another body is 409 idempotency_conflict.",
    type=str,
)
ERRORS = {
    400: s.ErrorSerializer,
    401: s.ErrorSerializer,
    403: s.ErrorSerializer,
    404: s.ErrorSerializer,
    409: s.ErrorSerializer,
    429: s.ErrorSerializer,
    503: s.ErrorSerializer,
}


def _me(request: Request) -> int:
    """The authenticated member's id (the permission classes guarantee there is one)."""
    pk = request.user.pk
    if pk is None:
        raise NotAuthenticated()
    return int(pk)


def _key(request: Request) -> str | None:
    return request.headers.get("Idempotency-Key")


class MemberView(APIView):
    permission_classes = [IsMember]
    throttle_classes = [MemberThrottle]


class HistoryPagination(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class SakaWalletView(MemberView):
    @extend_schema(
        operation_id="saka_wallet",
        responses={200: s.SakaWalletSerializer, **ERRORS},
        tags=["SAKA (member)"],
        summary="My SAKA wallet",
    )
    def get(self, request: Request) -> Response:
        view = grains_selectors.wallet_view(member_id=_me(request))
        usage = grains_selectors.harvest_usage(member_id=_me(request))
        return Response(s.SakaWalletSerializer({**asdict(view), "harvests_today": usage}).data)


class SakaHistoryView(generics.ListAPIView):
    permission_classes = [IsMember]
    throttle_classes = [MemberThrottle]
    serializer_class = s.SakaHistoryItemSerializer
    pagination_class = HistoryPagination

    def get_queryset(self) -> Any:
        kind = self.request.query_params.get("kind") or None
        return grains_selectors.wallet_history(member_id=_me(self.request), kind=kind)

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
        data = s.validated(s.PlantInSerializer, request.data)
        result = grains_services.wallet_plant(
            member_id=_me(request), idempotency_key=_key(request), **data
        )
        return Response(s.PlantOutSerializer(asdict(result)).data, status=status.HTTP_201_CREATED)


class ProjectListView(generics.ListAPIView):
    permission_classes = [IsMember]
    throttle_classes = [MemberThrottle]
    serializer_class = s.ProjectSerializer

    def get_queryset(self) -> Any:
        return project_selectors.project_list()

    @extend_schema(
        operation_id="projects_list",
        tags=["Projects"],
        summary="Projects by SAKA score",
        responses={200: s.ProjectSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class ProjectDetailView(MemberView):
    @extend_schema(
        operation_id="projects_detail",
        responses={200: s.ProjectSerializer, **ERRORS},
        tags=["Projects"],
        summary="One project",
    )
    def get(self, request: Request, project_id: int) -> Response:
        return Response(
            s.ProjectSerializer(project_selectors.project_get(project_id=project_id)).data
        )


class ProjectBoostView(MemberView):
    @extend_schema(
        operation_id="projects_boost",
        request=s.BoostInSerializer,
        responses={201: s.PlantOutSerializer, **ERRORS},
        parameters=[IDEMPOTENCY_HEADER],
        tags=["Projects"],
        summary="Boost a project with my grains",
    )
    def post(self, request: Request, project_id: int) -> Response:
        # An empty body means "default cost"; any other body must be a JSON object.
        body = request.data if request.body else {}
        data = s.validated(s.BoostInSerializer, body)
        result = grains_services.project_boost(
            member_id=_me(request), project_id=project_id, idempotency_key=_key(request), **data
        )
        return Response(s.PlantOutSerializer(asdict(result)).data, status=status.HTTP_201_CREATED)


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
        data = s.validated(s.HarvestInSerializer, request.data)
        if data["reason"] == MANUAL_ADJUST:
            from saka.grains.errors import NotAllowed

            raise NotAllowed("Manual adjustments go through the staff adjustments endpoint.")
        result = grains_services.wallet_harvest(
            granted_by_id=_me(request), idempotency_key=_key(request), **data
        )
        return Response(s.HarvestOutSerializer(asdict(result)).data, status=status.HTTP_201_CREATED)


class StaffAdjustmentView(APIView):
    permission_classes = [IsStaff]
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
        data = s.validated(s.AdjustmentInSerializer, request.data)
        result = grains_services.wallet_harvest(
            reason=MANUAL_ADJUST,
            granted_by_id=_me(request),
            idempotency_key=_key(request),
            **data,
        )
        return Response(s.HarvestOutSerializer(asdict(result)).data, status=status.HTTP_201_CREATED)
