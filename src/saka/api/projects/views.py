"""Project endpoints: thin, one service or selector call per request."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from saka.api.common.base import (
    ERRORS,
    IDEMPOTENCY_HEADER,
    MemberView,
    idempotency_key_of,
    member_id_of,
    written,
)
from saka.api.common.permissions import IsMember
from saka.api.common.throttling import MemberThrottle
from saka.api.common.validation import validated
from saka.api.projects.serializers import BoostInSerializer, ProjectSerializer
from saka.api.saka.serializers import PlantOutSerializer
from saka.euro import selectors as euro_selectors
from saka.grains import services as grains_services
from saka.ledger.idempotency import replay_watch
from saka.projects import selectors as project_selectors


class ProjectListView(generics.ListAPIView):
    permission_classes = [IsMember]
    throttle_classes = [MemberThrottle]
    serializer_class = ProjectSerializer

    def get_queryset(self) -> Any:
        return euro_selectors.projects_with_campaign(project_selectors.project_list())

    @extend_schema(
        operation_id="projects_list",
        tags=["Projects"],
        summary="Projects by SAKA score, with their EUR campaign",
        responses={200: ProjectSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class ProjectDetailView(MemberView):
    @extend_schema(
        operation_id="projects_detail",
        responses={200: ProjectSerializer, **ERRORS},
        tags=["Projects"],
        summary="One project, with its EUR campaign",
    )
    def get(self, request: Request, project_id: int) -> Response:
        project = project_selectors.project_get(project_id=project_id)  # 404 when unknown
        with_campaign = euro_selectors.projects_with_campaign(
            project_selectors.projects_with_totals().filter(pk=project.pk)
        ).get()
        return Response(ProjectSerializer(with_campaign).data)


class ProjectBoostView(MemberView):
    @extend_schema(
        operation_id="projects_boost",
        request=BoostInSerializer,
        responses={201: PlantOutSerializer, **ERRORS},
        parameters=[IDEMPOTENCY_HEADER],
        tags=["Projects"],
        summary="Boost a project with my grains",
    )
    def post(self, request: Request, project_id: int) -> Response:
        # An empty body means "default cost" (the parser reads it as {}); any other body must
        # be a JSON object. Never ``request.body``: a body the CSRF check or the parser already
        # read cannot be read again (RawPostDataException, a 500).
        data = validated(BoostInSerializer, request.data)
        with replay_watch() as watch:
            result = grains_services.project_boost(
                member_id=member_id_of(request),
                project_id=project_id,
                idempotency_key=idempotency_key_of(request),
                **data,
            )
        return written(PlantOutSerializer(asdict(result)).data, watch)
