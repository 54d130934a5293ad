"""SAKA staff endpoints of the runs and what they leave: the run list, a dry run (synchronous)
or the live run of the current period (enqueued), one run, the silo, the statistics."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from saka.api.common.base import ERRORS, StaffView, member_id_of
from saka.api.common.pagination import NewestFirst
from saka.api.common.permissions import IsStaff
from saka.api.common.throttling import PlatformThrottle
from saka.api.common.validation import validated, validated_query
from saka.api.saka import serializers as s
from saka.grains import selectors as grains_selectors
from saka.grains.models import RunKind, RunTrigger
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.periods import live_run_as_of, period_of
from saka.grains.runs.redistribution import redistribution_run_start
from saka.jobs.enqueue import run_enqueue

RUN_STARTS = {
    RunKind.COMPOST.value: compost_run_start,
    RunKind.REDISTRIBUTION.value: redistribution_run_start,
}


class StaffRunListView(generics.GenericAPIView):
    permission_classes = [IsStaff]
    throttle_classes = [PlatformThrottle]
    serializer_class = s.RunSummarySerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> Any:
        query = validated_query(s.RunListQuerySerializer, self.request.query_params)
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
        data = validated(s.RunStartInSerializer, request.data)
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
        at = live_run_as_of(kind=kind, as_of=as_of)
        run_enqueue(
            kind=kind, as_of=at, trigger=RunTrigger.API.value, triggered_by_id=member_id_of(request)
        )
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
        return Response(s.SiloSerializer(asdict(grains_selectors.silo_summary())).data)


class StaffStatsView(StaffView):
    @extend_schema(
        operation_id="staff_saka_stats",
        parameters=[s.StatsQuerySerializer],
        responses={200: s.StatsSerializer, **ERRORS},
        tags=["SAKA (staff)"],
        summary="Global SAKA statistics, a daily series, top members and projects",
    )
    def get(self, request: Request) -> Response:
        query = validated_query(s.StatsQuerySerializer, request.query_params)
        return Response(s.StatsSerializer(grains_selectors.saka_stats(**query)).data)
