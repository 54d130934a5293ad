"""``GET /api/v1/staff/audit/``: the audit trail of staff actions, newest first (cursor
pagination), filtered by actor and action; for the auditor permission (``view_staff_data``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from saka.api.common.base import ERRORS
from saka.api.common.fields import IdField
from saka.api.common.pagination import NewestFirst
from saka.api.common.permissions import IsStaff
from saka.api.common.throttling import PlatformThrottle
from saka.api.common.validation import validated_query
from saka.audit import roles
from saka.audit.models import AuditRecord
from saka.audit.roles import ACTIONS, ENDPOINT_ACTION
from saka.audit.selectors import audit_list


class AuditRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditRecord
        fields = (
            "id",
            "created_at",
            "actor_id",
            "action",
            "outcome",
            "target_type",
            "target_id",
            "payload",
            "error_code",
        )


class AuditQuerySerializer(serializers.Serializer):
    actor = IdField(required=False, help_text="the staff user's id")
    action = serializers.ChoiceField(choices=[*ACTIONS, ENDPOINT_ACTION], required=False)


class StaffAuditListView(generics.GenericAPIView):
    permission_classes = [IsStaff]
    staff_permissions = {"GET": roles.VIEW}
    throttle_classes = [PlatformThrottle]
    serializer_class = AuditRecordSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> Any:
        query = validated_query(AuditQuerySerializer, self.request.query_params)
        return audit_list(actor_id=query.get("actor"), action=query.get("action"))

    @extend_schema(
        operation_id="staff_audit_list",
        parameters=[AuditQuerySerializer],
        responses={200: AuditRecordSerializer(many=True), **ERRORS},
        tags=["Audit (staff)"],
        summary="The audit trail of staff actions (cursor pagination, newest first)",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []
        return self.get_paginated_response(AuditRecordSerializer(page, many=True).data)
