"""REST endpoints: thin, one service or selector call per request."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from celery import signature
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from saka.api import serializers as s
from saka.api.base import (
    ERRORS,
    IDEMPOTENCY_HEADER,
    MemberView,
    NewestFirst,
    StaffView,
    idempotency_key_of,
    member_id_of,
)
from saka.api.permissions import IsMember, IsPlatform, IsStaff
from saka.api.throttling import MemberThrottle, PlatformThrottle
from saka.core.clock import now
from saka.core.errors import ValidationError
from saka.grains import selectors as grains_selectors
from saka.grains import services as grains_services
from saka.grains.conf import MANUAL_ADJUST, get_settings
from saka.grains.errors import NotAllowed, SakaDisabled
from saka.grains.models import RunKind, RunTrigger
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.periods import period_of
from saka.grains.runs.redistribution import redistribution_run_start
from saka.projects import selectors as project_selectors


class SakaWalletView(MemberView):
    @extend_schema(
        operation_id="saka_wallet",
        responses={200: s.SakaWalletSerializer, **ERRORS},
        tags=["SAKA (member)"],
        summary="My SAKA wallet",
    )
    def get(self, request: Request) -> Response:
        view = grains_selectors.wallet_view(member_id=member_id_of(request))
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
        data = s.validated(s.PlantInSerializer, request.data)
        result = grains_services.wallet_plant(
            member_id=member_id_of(request), idempotency_key=idempotency_key_of(request), **data
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
            member_id=member_id_of(request),
            project_id=project_id,
            idempotency_key=idempotency_key_of(request),
            **data,
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
            raise NotAllowed("Manual adjustments go through the staff adjustments endpoint.")
        result = grains_services.wallet_harvest(
            granted_by_id=member_id_of(request), idempotency_key=idempotency_key_of(request), **data
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
            granted_by_id=member_id_of(request),
            idempotency_key=idempotency_key_of(request),
            **data,
        )
        return Response(s.HarvestOutSerializer(asdict(result)).data, status=status.HTTP_201_CREATED)


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


# --- staff: runs, silo, statistics -------------------------------------------------------------

RUN_STARTS = {
    RunKind.COMPOST.value: compost_run_start,
    RunKind.REDISTRIBUTION.value: redistribution_run_start,
}
# Celery tasks of live runs (``saka.jobs.tasks``), enqueued by name: the API and the jobs are
# independent interface layers and never import each other.
RUN_TASKS = {
    RunKind.COMPOST.value: "saka.jobs.tasks.compost_run",
    RunKind.REDISTRIBUTION.value: "saka.jobs.tasks.redistribution_run",
}


def _enqueue_live_run(*, kind: str, as_of: datetime, triggered_by_id: int) -> None:
    """Enqueue the live run once the request's transaction commits (now, when there is none)."""
    kwargs = {
        "as_of": as_of.isoformat(),
        "dry_run": False,
        "trigger": RunTrigger.API.value,
        "triggered_by_id": triggered_by_id,
    }
    task = signature(RUN_TASKS[kind], kwargs=kwargs)
    transaction.on_commit(task.delay)


def _live_as_of(kind: str, as_of: datetime | None) -> datetime:
    """A live run from the API: the current period only, never in the future (spec §3)."""
    if not get_settings().enabled:
        raise SakaDisabled()
    current = now()
    if as_of is None:
        return current
    if as_of > current or period_of(kind, as_of) != period_of(kind, current):
        raise ValidationError(
            "A live run can only be started for the current period, at an instant that is not "
            "in the future.",
            field="as_of",
            period=period_of(kind, current),
        )
    return as_of


class StaffRunListView(generics.GenericAPIView):
    permission_classes = [IsStaff]
    throttle_classes = [PlatformThrottle]
    serializer_class = s.RunSummarySerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> Any:
        query = s.validated_query(s.RunListQuerySerializer, self.request.query_params)
        dry_run = {"true": True, "false": False}.get(query.get("dry_run", ""))
        return grains_selectors.run_list(kind=query.get("kind"), dry_run=dry_run)

    @extend_schema(
        operation_id="staff_saka_runs_list",
        parameters=[
            OpenApiParameter("kind", str, enum=RunKind.values),
            OpenApiParameter("dry_run", str, enum=["true", "false"]),
        ],
        responses={200: s.RunSummarySerializer(many=True), **ERRORS},
        tags=["SAKA (staff)"],
        summary="Compost and redistribution runs (cursor pagination, newest first)",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []
        return self.get_paginated_response(
            s.RunSummarySerializer(
                [grains_selectors.run_summary(run) for run in page], many=True
            ).data
        )

    @extend_schema(
        operation_id="staff_saka_runs_start",
        request=s.RunStartInSerializer,
        responses={201: s.RunSummarySerializer, 202: s.RunQueuedSerializer, **ERRORS},
        tags=["SAKA (staff)"],
        summary="Dry run now (201, synchronous) or enqueue the live run of the current period "
        "(202)",
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.validated(s.RunStartInSerializer, request.data)
        kind, as_of = data["kind"], data["as_of"]
        if data["dry_run"]:
            run = RUN_STARTS[kind](
                as_of=as_of,
                dry_run=True,
                trigger=RunTrigger.API,
                triggered_by_id=member_id_of(request),
            )
            return Response(
                s.RunSummarySerializer(grains_selectors.run_summary(run)).data,
                status=status.HTTP_201_CREATED,
            )
        at = _live_as_of(kind, as_of)
        _enqueue_live_run(kind=kind, as_of=at, triggered_by_id=member_id_of(request))
        queued = {"kind": kind, "period": period_of(kind, at), "as_of": at.isoformat()}
        return Response(
            s.RunQueuedSerializer({**queued, "status": "queued"}).data,
            status=status.HTTP_202_ACCEPTED,
        )


class StaffRunDetailView(StaffView):
    @extend_schema(
        operation_id="staff_saka_runs_detail",
        responses={200: s.RunSummarySerializer, **ERRORS},
        tags=["SAKA (staff)"],
        summary="One run",
    )
    def get(self, request: Request, run_id: int) -> Response:
        run = grains_selectors.run_get(run_id=run_id)
        return Response(s.RunSummarySerializer(grains_selectors.run_summary(run)).data)


class StaffSiloView(StaffView):
    @extend_schema(
        operation_id="staff_saka_silo",
        responses={200: s.SiloSerializer, **ERRORS},
        tags=["SAKA (staff)"],
        summary="The silo: balance, lifetime composted and redistributed, last runs",
    )
    def get(self, request: Request) -> Response:
        return Response(s.SiloSerializer(asdict(grains_selectors.silo_view())).data)


class StaffStatsView(StaffView):
    @extend_schema(
        operation_id="staff_saka_stats",
        parameters=[s.StatsQuerySerializer],
        responses={200: s.StatsSerializer, **ERRORS},
        tags=["SAKA (staff)"],
        summary="Global SAKA statistics, a daily series, top members and projects",
    )
    def get(self, request: Request) -> Response:
        query = s.validated_query(s.StatsQuerySerializer, request.query_params)
        return Response(s.StatsSerializer(grains_selectors.saka_stats(**query)).data)
