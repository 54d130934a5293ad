"""SAKA staff endpoints of the runs and what they leave: the run list, a dry run (synchronous)
or the live run of the current period (opened now, worked on by the workers), one run with
its chunks and leases, resuming a stalled run, the silo, the statistics."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from saka.api.common.base import ERRORS, StaffView, member_id_of
from saka.api.common.pagination import NewestFirst
from saka.api.common.permissions import IsStaff
from saka.api.common.throttling import PlatformThrottle
from saka.api.common.validation import validated, validated_query
from saka.api.saka import serializers as s
from saka.audit import roles
from saka.grains import selectors as grains_selectors
from saka.grains.models import Run, RunKind, RunTrigger
from saka.grains.runs.compost import compost_run_start
from saka.grains.runs.periods import live_run_as_of
from saka.grains.runs.redistribution import redistribution_run_start
from saka.jobs.enqueue import run_workers_enqueue
from saka.jobs.runs import SPEC_OF_KIND, live_run_request, needs_workers, run_resume, workers

RUN_STARTS = {
    RunKind.COMPOST.value: compost_run_start,
    RunKind.REDISTRIBUTION.value: redistribution_run_start,
}


class StaffRunListView(generics.GenericAPIView):
    permission_classes = [IsStaff]
    staff_permissions = {"GET": roles.VIEW, "POST": roles.OPERATE_RUNS}
    throttle_classes = [PlatformThrottle]
    serializer_class = s.RunSummarySerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> Any:
        query = validated_query(s.RunListQuerySerializer, self.request.query_params)
        flag = {"true": True, "false": False}
        return grains_selectors.run_list(
            kind=query.get("kind"),
            dry_run=flag.get(query.get("dry_run", "")),
            stalled=flag.get(query.get("stalled", "")),
        )

    @extend_schema(
        operation_id="staff_saka_runs_list",
        parameters=[s.RunListQuerySerializer],
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
        responses={
            201: s.RunSummarySerializer,
            202: s.RunSummarySerializer,
            200: s.RunSummarySerializer,
            **ERRORS,
        },
        tags=["SAKA (staff)"],
        summary="Dry run now (201, synchronous); or open the live run of the current period "
        "and send workers (202, Location: the run), or that period's run as it is (200)",
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
        run, created = live_run_request(
            kind=kind, at=at, trigger=RunTrigger.API.value, triggered_by_id=member_id_of(request)
        )
        return _workers_sent(run, created, member_id_of(request))


def _workers_sent(run: Run, created: bool, actor_id: int) -> Response:
    """202 with workers sent to the run (just opened, or stalled), else 200 as it is."""
    spec = SPEC_OF_KIND[run.kind]
    sent = needs_workers(spec, run, created)
    if sent:
        if not created:
            run = run_resume(spec, run.pk, actor_id=actor_id)
        run_workers_enqueue(spec=spec.name, run_id=run.pk, count=workers())
    return Response(
        s.RunSummarySerializer(grains_selectors.run_summary(run, progress=True)).data,
        status=status.HTTP_202_ACCEPTED if sent else status.HTTP_200_OK,
        headers={"Location": reverse("saka_api:staff-run-detail", kwargs={"run_id": run.pk})},
    )


class StaffRunDetailView(StaffView):
    staff_permissions = {"GET": roles.VIEW}

    @extend_schema(
        operation_id="staff_saka_runs_detail",
        responses={200: s.RunSummarySerializer, **ERRORS},
        tags=["SAKA (staff)"],
        summary="One run, with its current step's chunks (pending, leased, done) and leases",
    )
    def get(self, request: Request, run_id: int) -> Response:
        run = grains_selectors.run_get(run_id=run_id)
        return Response(
            s.RunSummarySerializer(grains_selectors.run_summary(run, progress=True)).data
        )


class StaffRunResumeView(StaffView):
    staff_permissions = {"POST": roles.OPERATE_RUNS}

    @extend_schema(
        operation_id="staff_saka_runs_resume",
        request=None,
        responses={202: s.RunSummarySerializer, 200: s.RunSummarySerializer, **ERRORS},
        tags=["SAKA (staff)"],
        summary="Resume a stalled or interrupted live run (202, workers sent); a run that is "
        "done or being worked on is returned as it is (200)",
    )
    def post(self, request: Request, run_id: int) -> Response:
        run = grains_selectors.run_get(run_id=run_id)
        if run.dry_run:
            return Response(
                s.RunSummarySerializer(grains_selectors.run_summary(run, progress=True)).data
            )
        return _workers_sent(run, created=False, actor_id=member_id_of(request))


class StaffSiloView(StaffView):
    staff_permissions = {"GET": roles.VIEW}

    @extend_schema(
        operation_id="staff_saka_silo",
        responses={200: s.SiloSerializer, **ERRORS},
        tags=["SAKA (staff)"],
        summary="The silo: balance, lifetime composted and redistributed, last runs",
    )
    def get(self, request: Request) -> Response:
        return Response(s.SiloSerializer(asdict(grains_selectors.silo_summary())).data)


class StaffStatsView(StaffView):
    staff_permissions = {"GET": roles.VIEW}

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
