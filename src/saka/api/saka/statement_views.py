"""SAKA endpoints of the verifiable run statements: the chain (members), a member's proof for
one run, one statement with its chunk list (staff). Thin: one selector call each."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from saka.api.common.base import ERRORS, MemberView, StaffView, member_id_of
from saka.api.common.pagination import NewestFirst
from saka.api.common.permissions import IsMember
from saka.api.common.throttling import MemberThrottle
from saka.api.saka import statement_serializers as s
from saka.audit import roles
from saka.grains import statement_proofs


class SakaStatementListView(generics.ListAPIView):
    permission_classes = [IsMember]
    throttle_classes = [MemberThrottle]
    serializer_class = s.RunStatementSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> Any:
        return statement_proofs.statement_list()

    @extend_schema(
        operation_id="saka_statements",
        tags=["SAKA (member)"],
        summary="The chain of run statements (cursor pagination, newest first)",
        responses={200: s.RunStatementSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class SakaStatementProofView(MemberView):
    @extend_schema(
        operation_id="saka_statement_proof",
        tags=["SAKA (member)"],
        summary="What a run did to my wallet: the amount and its Merkle proof, or why not",
        responses={200: s.StatementProofSerializer, **ERRORS},
    )
    def get(self, request: Request, run_id: int) -> Response:
        found = statement_proofs.statement_proof(run_id=run_id, member_id=member_id_of(request))
        return Response(s.StatementProofSerializer(asdict(found)).data)


class StaffStatementDetailView(StaffView):
    staff_permissions = {"GET": roles.VIEW}

    @extend_schema(
        operation_id="staff_saka_statements_detail",
        tags=["SAKA (staff)"],
        summary="One run statement with its chunk list",
        responses={200: s.RunStatementStaffSerializer, **ERRORS},
    )
    def get(self, request: Request, seq: int) -> Response:
        statement = statement_proofs.statement_get(seq=seq)
        return Response(s.RunStatementStaffSerializer(statement).data)
