"""``GET /api/v1/staff/alerts/``: the alerts (``saka.alerts``), newest first (cursor
pagination), filtered by state (open or resolved), kind and severity; for the auditor
permission (``view_staff_data``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from saka.alerts.models import Alert, AlertKind, AlertSeverity
from saka.alerts.selectors import OPEN, RESOLVED, alert_list
from saka.api.common.base import ERRORS
from saka.api.common.pagination import NewestFirst
from saka.api.common.permissions import IsStaff
from saka.api.common.throttling import PlatformThrottle
from saka.api.common.validation import validated_query
from saka.audit import roles

STATES = [OPEN, RESOLVED]


class AlertSerializer(serializers.ModelSerializer):
    open = serializers.BooleanField(source="is_open", read_only=True)

    class Meta:
        model = Alert
        fields = (
            "id",
            "fingerprint",
            "kind",
            "severity",
            "title",
            "details",
            "open",
            "first_seen_at",
            "last_seen_at",
            "seen_count",
            "resolved_at",
            "notified_at",
        )


class AlertQuerySerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=STATES, required=False)
    kind = serializers.ChoiceField(choices=AlertKind.values, required=False)
    severity = serializers.ChoiceField(choices=AlertSeverity.values, required=False)


class StaffAlertListView(generics.GenericAPIView):
    permission_classes = [IsStaff]
    staff_permissions = {"GET": roles.VIEW}
    throttle_classes = [PlatformThrottle]
    serializer_class = AlertSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> Any:
        query = validated_query(AlertQuerySerializer, self.request.query_params)
        return alert_list(
            state=query.get("state"), kind=query.get("kind"), severity=query.get("severity")
        )

    @extend_schema(
        operation_id="staff_alerts_list",
        parameters=[AlertQuerySerializer],
        responses={200: AlertSerializer(many=True), **ERRORS},
        tags=["Alerts (staff)"],
        summary="The alerts: open and resolved (cursor pagination, newest first)",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []
        return self.get_paginated_response(AlertSerializer(page, many=True).data)
