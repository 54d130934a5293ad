"""The policy lab's staff endpoints: the parameters in force, their bounds and versions; a
parameter change (``manage_policy``, with a what-if attached); a what-if (computed now, over
every wallet, writing nothing but its record) and one recorded what-if."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from saka.api.common.base import ERRORS, StaffView, member_id_of
from saka.api.common.validation import validated
from saka.api.saka import policy_serializers as s
from saka.audit import roles
from saka.grains.models import PolicyWhatIf
from saka.grains.policy import policy_change, policy_overview, policy_version_data
from saka.grains.whatif import policy_whatif, whatif_get

TAGS = ["SAKA (staff): policy lab"]


def whatif_data(whatif: PolicyWhatIf) -> dict[str, Any]:
    return {
        "whatif_id": whatif.pk,
        "as_of": whatif.as_of,
        "created_at": whatif.created_at,
        "created_by": whatif.created_by_id,
        "duration_ms": whatif.duration_ms,
        "parameters": whatif.parameters,
        "baseline": whatif.baseline,
        "baseline_version": whatif.baseline_version_id,
        "result": whatif.result,
    }


class StaffPolicyView(StaffView):
    staff_permissions = {"GET": roles.VIEW, "POST": roles.MANAGE_POLICY}

    @extend_schema(
        operation_id="staff_saka_policy",
        responses={200: s.PolicyOutSerializer, **ERRORS},
        tags=TAGS,
        summary="The compost and redistribution parameters in force, their bounds, versions",
    )
    def get(self, request: Request) -> Response:
        return Response(s.PolicyOutSerializer(policy_overview()).data)

    @extend_schema(
        operation_id="staff_saka_policy_change",
        request=s.PolicyChangeInSerializer,
        responses={201: s.PolicyVersionSerializer, **ERRORS},
        tags=TAGS,
        summary="Put a what-if's parameters in force (policy_maker; the what-if must be "
        "fresh and computed against the parameters in force)",
    )
    def post(self, request: Request) -> Response:
        data = validated(s.PolicyChangeInSerializer, request.data)
        version = policy_change(actor_id=member_id_of(request), **data)
        return Response(
            s.PolicyVersionSerializer(policy_version_data(version)).data,
            status=status.HTTP_201_CREATED,
        )


class StaffWhatIfView(StaffView):
    staff_permissions = {"POST": roles.VIEW}

    @extend_schema(
        operation_id="staff_saka_whatif",
        request=s.WhatIfInSerializer,
        responses={201: s.WhatIfOutSerializer, **ERRORS},
        tags=TAGS,
        summary="What the next compost and redistribution would do under candidate "
        "parameters, beside those in force (one pass over every wallet, nothing booked)",
    )
    def post(self, request: Request) -> Response:
        data = validated(s.WhatIfInSerializer, request.data)
        as_of = data.pop("as_of", None)
        whatif = policy_whatif(changes=data, actor_id=member_id_of(request), as_of=as_of)
        return Response(
            s.WhatIfOutSerializer(whatif_data(whatif)).data, status=status.HTTP_201_CREATED
        )


class StaffWhatIfDetailView(StaffView):
    staff_permissions = {"GET": roles.VIEW}

    @extend_schema(
        operation_id="staff_saka_whatif_detail",
        responses={200: s.WhatIfOutSerializer, **ERRORS},
        tags=TAGS,
        summary="One recorded what-if",
    )
    def get(self, request: Request, whatif_id: int) -> Response:
        return Response(s.WhatIfOutSerializer(whatif_data(whatif_get(whatif_id=whatif_id))).data)
