"""Season endpoints: the staff list (with each season's figures) and creation, activation;
the members' list. Thin: one service or selector call per request."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from saka.api.common.base import ERRORS, MemberView, StaffView, member_id_of
from saka.api.common.validation import validated
from saka.api.saka import serializers as s
from saka.audit import roles
from saka.grains.models import Season
from saka.grains.seasons import selectors, services

STAFF_TAG = ["SAKA (staff)"]


def season_data(season: Season) -> dict[str, Any]:
    return {
        "id": season.pk,
        "name": season.name,
        "slug": season.slug,
        "starts_at": season.starts_at,
        "ends_at": season.ends_at,
        "is_active": season.is_active,
        "stats": asdict(selectors.season_stats(season)),
    }


def seasons_data() -> list[dict[str, Any]]:
    """Every season, newest first, with its figures (1 + one aggregate per season)."""
    return [season_data(season) for season in selectors.season_list()]


class StaffSeasonListView(StaffView):
    staff_permissions = {"GET": roles.VIEW, "POST": roles.MANAGE_POLICY}

    @extend_schema(
        operation_id="staff_saka_seasons_list",
        responses={200: s.SeasonSerializer(many=True), **ERRORS},
        tags=STAFF_TAG,
        summary="Seasons, newest first, with their figures",
    )
    def get(self, request: Request) -> Response:
        return Response(s.SeasonSerializer(seasons_data(), many=True).data)

    @extend_schema(
        operation_id="staff_saka_seasons_create",
        request=s.SeasonCreateInSerializer,
        responses={201: s.SeasonSerializer, **ERRORS},
        tags=STAFF_TAG,
        summary="Create a season [starts_at, ends_at) (inactive; 409 season_overlaps)",
    )
    def post(self, request: Request) -> Response:
        data = validated(s.SeasonCreateInSerializer, request.data)
        season = services.season_create(created_by_id=member_id_of(request), **data)
        return Response(
            s.SeasonSerializer(season_data(selectors.season_get(season_id=season.pk))).data,
            status=status.HTTP_201_CREATED,
        )


class StaffSeasonActivateView(StaffView):
    staff_permissions = {"POST": roles.MANAGE_POLICY}

    @extend_schema(
        operation_id="staff_saka_seasons_activate",
        request=None,
        responses={200: s.SeasonSerializer, **ERRORS},
        tags=STAFF_TAG,
        summary="Make a season the active one (the other active season is deactivated)",
    )
    def post(self, request: Request, season_id: int) -> Response:
        season = services.season_activate(season_id=season_id, actor_id=member_id_of(request))
        return Response(
            s.SeasonSerializer(season_data(selectors.season_get(season_id=season.pk))).data
        )


class SeasonListView(MemberView):
    @extend_schema(
        operation_id="saka_seasons_list",
        responses={200: s.SeasonSerializer(many=True), **ERRORS},
        tags=["SAKA (member)"],
        summary="The seasons, newest first: dates, the active one, their figures",
    )
    def get(self, request: Request) -> Response:
        return Response(s.SeasonSerializer(seasons_data(), many=True).data)
